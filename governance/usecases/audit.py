"""The audit trail read from the event log itself (issue 18, item 5).

The read models answer most audit questions quickly, but a database administrator can edit
them. `logged_decision` reads a decision record from the initiative's own stored events (the
hash-chained log), so the API can serve the log's record and say where the read model
disagrees with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.initiative import DecisionRecord
from governance.principal import Principal
from governance.read_access import require_audit_reader
from governance.usecases.base import Commands


@dataclass(frozen=True)
class LoggedDecision:
    """A decision as the log holds it: the record, who took it, when, where and as what."""

    record: DecisionRecord
    actor: str
    at: datetime
    position: int
    topic: str
    initiative_id: UUID


class AuditUseCases(Commands):
    """Audit reads that go to the event log, not to the read models."""

    def logged_decision(
        self, principal: Principal, *, initiative_id: UUID, decision_id: UUID
    ) -> LoggedDecision | None:
        """The decision `decision_id` among the initiative's stored events (None: the log
        has no such decision on that initiative). Auditors and CX executives."""
        require_audit_reader(principal)
        for event in self.repository.event_store.get(initiative_id):
            if not isinstance(event, Aggregate.Event):
                continue
            record = getattr(event, "decision", None)
            if isinstance(record, DecisionRecord) and record.decision_id == decision_id:
                return LoggedDecision(
                    record=record,
                    actor=str(getattr(event, "actor", "")),
                    at=event.timestamp,
                    position=self.position_of(initiative_id, event.originator_version),
                    topic=type(event).__qualname__,
                    initiative_id=initiative_id,
                )
        return None
