"""Voice of the customer (issue 15, part 6): feedback batches (ingest services, CX
executives) and the feedback an initiative cites as evidence (its owners, CX executives)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import AlreadyExists, InvalidInput, NotFound
from domain.feedback import Evidence, FeedbackBatch, parse_ref
from domain.jobs import Job
from domain.metric import CustomerSuccessMetric
from domain.registry import PnL, Scenario
from governance.access import require_initiative_owner, require_role
from governance.principal import CX_EXEC, INGEST, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands

_TAGGED = {"scenario": Scenario, "job": Job, "metric": CustomerSuccessMetric, "pnl": PnL}
MOST_REFS = 200  # items cited in one call


class FeedbackUseCases(Commands):
    """Recording feedback and citing it as evidence."""

    def record_feedback(self, principal: Principal, *, batch_key: str,
                        items: list[dict[str, Any]], source: str) -> CommandResult:
        """Record a batch of feedback items; a retried batch key is refused, never applied
        twice; every scenario, job, metric and P&L an item names must exist."""
        require_role(principal, INGEST, CX_EXEC, action="recording feedback")
        today = self.clock().date()

        def build(unit: UnitOfWork) -> list[Aggregate]:
            batch = FeedbackBatch.record(batch_key=batch_key, items=items, source=source,
                                         actor=principal.actor, today=today)
            wanted = {_TAGGED[kind].create_id(code): (kind, code)  # type: ignore[attr-defined]
                      for kind, codes in batch.tags().items() for code in sorted(codes)}
            found = unit.store.existing([*wanted, batch.id])
            if batch.id in found:
                raise AlreadyExists(f"feedback batch {batch_key} was recorded already",
                                    field="batch_key")
            for aggregate_id, (kind, code) in wanted.items():
                if aggregate_id not in found:
                    raise NotFound(f"no {kind} {code}", field=kind, code=code)
            return [batch]

        return self.transact(build)

    def cite_feedback(self, principal: Principal, *, initiative_id: UUID, refs: list[str],
                      note: str = "") -> CommandResult:
        """Cite feedback items (`<batch_key>/<n>`) as evidence behind an initiative."""
        if not refs or len(refs) > MOST_REFS:
            raise InvalidInput(f"cite 1 to {MOST_REFS} items", field="refs")
        wanted = [parse_ref(r) for r in refs]

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            if not principal.has(CX_EXEC):
                require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                         action="citing evidence")
            for key, n in wanted:
                batch = unit.read(FeedbackBatch, FeedbackBatch.create_id(key),
                                  _missing(key))
                if n > len(batch.items):
                    raise NotFound(f"feedback batch {key} has {len(batch.items)} items, not "
                                   f"{n}", field="refs")
            evidence_id = Evidence.create_id(initiative_id)
            found = unit.seen(evidence_id)
            evidence = (unit.store.private(found) if isinstance(found, Evidence) else
                        Evidence.open(initiative_id=str(initiative_id),
                                      period=initiative.period, code=initiative.code,
                                      actor=principal.actor))
            evidence.cite(refs=[f"{k}/{n}" for k, n in wanted], note=note,
                          actor=principal.actor)
            return [evidence]

        return self.transact(build, lambda: [initiative_id, Evidence.create_id(initiative_id)])


def _missing(key: str) -> Callable[[], Exception]:
    """The refusal of a citation naming a feedback batch that does not exist."""
    return lambda: NotFound(f"no feedback batch {key}", field="refs")
