"""Each initiative's lifecycle re-derived from the log alone (issue 18, item 5).

The service moves an initiative between statuses only by its commands, each legal in some
statuses (domain/initiative.py: `_require` before each event, `_STATUS_AFTER` for where it
leads; domain/lifecycle.py names the groups). auditverify imports nothing of the service, so
the table is re-stated here, and replaying the log event by event must find every event legal
in the status the initiative's earlier events left it in. An event that is not, for example a
second submission of approved work (approved -> submitted), a decision on a withdrawn
initiative, a stop (Cancelled) of work never funded, or a carry-over of undecided work while
its period is still open, is a `lifecycle_transition` finding at the event's position, as is
an event on an initiative the log never submitted, an initiative event of a kind the lifecycle
does not know, and a withdrawal or carry-over whose recorded `previous_status` is not the
replayed one. After a finding the replay follows the event (the status it leads to), so one
forged event is one finding, not one per later event.

Reading the stored JSON is needed only for a submission's period, a pool's period and the
recorded previous status; everything else is the event's topic. A state that cannot be read
is the decision rules' `malformed_event` finding (auditverify.rules); here it only leaves the
check that needed it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from auditverify.decisions import payload, uuid_key
from auditverify.model import Finding, Row

RULE: Final = "lifecycle_transition"

SUBMITTED, PENDING, DEFERRED = "submitted", "pending_second_approval", "deferred"
APPROVED, REJECTED, WITHDRAWN = "approved", "rejected", "withdrawn"
DELIVERED, CANCELLED, CARRIED_OVER = "delivered", "cancelled", "carried_over"
#: domain/lifecycle.py: not yet finally decided; what owners may revise; holding money
UNDECIDED: Final = frozenset({SUBMITTED, DEFERRED, PENDING})
REVISABLE: Final = frozenset({SUBMITTED, DEFERRED})
FUNDED: Final = frozenset({APPROVED, DELIVERED})
#: events that start an initiative (Created: the base class's topic, never written alone)
CREATIONS: Final = frozenset({"Initiative.Submitted", "Initiative.Created"})
#: event -> (the statuses it is legal in, the status it leads to; None: the status is kept)
TRANSITIONS: Final[dict[str, tuple[frozenset[str], str | None]]] = {
    "Initiative.Revised": (REVISABLE, None),
    "Initiative.Withdrawn": (UNDECIDED, WITHDRAWN),
    "Initiative.FirstApprovalRecorded": (REVISABLE, PENDING),
    "Initiative.Approved": (UNDECIDED, APPROVED),
    "Initiative.Rejected": (UNDECIDED, REJECTED),
    "Initiative.Deferred": (frozenset({SUBMITTED, PENDING}), DEFERRED),
    "Initiative.Delivered": (frozenset({APPROVED}), DELIVERED),
    "Initiative.OutcomeRecorded": (frozenset({DELIVERED}), None),
    "Initiative.Cancelled": (frozenset({APPROVED}), CANCELLED),
    "Initiative.TrancheApprovalRecorded": (FUNDED, None),
    "Initiative.TrancheReleased": (FUNDED, None),
    "Initiative.SpendRecorded": (FUNDED, None),
    "Initiative.Descoped": (FUNDED, None),
    # deferred work at any time; other undecided work only once its period is closed
    "Initiative.CarriedOver": (UNDECIDED, CARRIED_OVER),
}
CARRIABLE_ANYTIME: Final = frozenset({DEFERRED})
#: the events that record the status they left (checked against the replay)
RECORD_PREVIOUS: Final = frozenset({"Initiative.Withdrawn", "Initiative.CarriedOver"})


def _statuses(allowed: frozenset[str]) -> str:
    return " or ".join(sorted(allowed))


class LifecycleReplay:
    """Feed rows in position order; `findings` holds each illegal transition."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._status: dict[str, str] = {}  # initiative -> its status
        self._period: dict[str, str | None] = {}  # initiative -> its period (None: unread)
        self._pool_period: dict[str, str] = {}  # pool -> its period
        self._closed: set[str] = set()  # periods whose pool is closed
        self._keys: dict[str, str] = {}  # originator id as stored -> uuid_key of it

    def _add(self, position: int, detail: str) -> None:
        self.findings.append(Finding(RULE, position, detail))

    @staticmethod
    def reads(name: str) -> bool:
        """Whether feed() reads an event of this name (its topic without `cxgov.`)."""
        return name.startswith("Initiative.") or name in ("FundingPool.Opened",
                                                           "FundingPool.Closed")

    def feed(self, row: Row) -> None:
        """Apply one position's event and check it is legal where the initiative is."""
        event = row.event
        if event is None:
            return
        name = event.topic.removeprefix("cxgov.")
        if not self.reads(name):
            return
        if name.startswith("Initiative."):
            originator = self._keys.get(event.originator_id)
            if originator is None:
                originator = self._keys[event.originator_id] = uuid_key(event.originator_id)
            self._initiative(row.position, name, originator, event.state)
        elif name == "FundingPool.Opened":
            period = _read(event.state).get("period")
            if isinstance(period, str):
                self._pool_period[uuid_key(event.originator_id)] = period
        elif name == "FundingPool.Closed":
            period = self._pool_period.get(uuid_key(event.originator_id))
            if period is not None:
                self._closed.add(period)

    def _initiative(self, p: int, name: str, originator: str, state: bytes) -> None:
        status = self._status.get(originator)
        if name in CREATIONS:
            if status is not None:
                self._add(p, f"{name} of an initiative that exists already (it is {status}): "
                             "an initiative is submitted once")
            period = _read(state).get("period")
            self._period[originator] = period if isinstance(period, str) else None
            self._status[originator] = SUBMITTED
            return
        transition = TRANSITIONS.get(name)
        if transition is None:
            self._add(p, f"{name} is no event of an initiative's lifecycle")
            return
        allowed, after = transition
        if status is None:
            self._add(p, f"{name} on an initiative the log never submitted")
        elif status not in allowed:
            self._add(p, f"{name} on an initiative that is {status}: legal only while it is "
                         f"{_statuses(allowed)}")
        elif name == "Initiative.CarriedOver" and status not in CARRIABLE_ANYTIME:
            period = self._period.get(originator)
            if period is not None and period not in self._closed:
                self._add(p, f"{name} of {status} work while its period {period} is open: only "
                             "deferred work is carried before its period closes")
        if name in RECORD_PREVIOUS and status is not None:
            recorded = _read(state).get("previous_status", status)
            if recorded != status:
                self._add(p, f"{name} records the previous status {recorded!r}, the replay "
                             f"holds {status!r}")
        if after is not None:
            self._status[originator] = after


def _read(state: bytes) -> dict[str, Any]:
    """The stored JSON, or {} when it cannot be read (the rules report that)."""
    try:
        return payload(state)
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        return {}


def check_lifecycle(rows: Iterable[Row]) -> list[Finding]:
    """Replay `rows` (in position order); return every illegal lifecycle transition."""
    replay = LifecycleReplay()
    for row in rows:
        replay.feed(row)
    return replay.findings
