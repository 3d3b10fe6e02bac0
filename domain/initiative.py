"""Initiative: a funding request against a period's pool, and its whole lifecycle.

Some 400 lines on purpose: one module per aggregate with its events nested inside (STYLE
habit 2), and the lifecycle rule (`status_after`, `approvals_after`) beside the events it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    DescopeOutOfRange,
    InvalidInput,
    InvalidTransition,
    TranchesDoNotAddUp,
)
from domain.ids import natural_id
from domain.lifecycle import (
    CARRIABLE_ANYTIME,
    CARRIABLE_WHEN_CLOSED,
    REVISABLE,
    UNDECIDED,
    Outcome,
    Status,
)
from domain.text import optional_text
from domain.values import (
    KINDS,
    ImpactClaim,
    check_observed_at,
    require_amount,
    require_code,
    require_text,
)

REVISABLE_FIELDS: Final = frozenset({
    "title", "problem", "scenario", "touchpoints", "functional_areas", "cost", "confidence",
    "expected_impacts", "dependencies", "mandatory", "mandate_reason",
})


@dataclass(frozen=True)
class DecisionRecord:
    """Why and against what a decision was taken; stored on every decision event."""

    decision_id: UUID
    outcome: Outcome
    rationale: str
    departure: bool
    recommended: bool
    rank: int | None
    score: Decimal
    cip: Decimal
    policy_version: int
    available_before: Decimal
    available_after: Decimal
    ranking_position: int
    cut_line_rank: int | None
    approvals: tuple[str, ...]
    #: The plan of record it was judged against (issue 16; then `recommended` means "the plan
    #: funds it"); None: judged against the recommendation's cut line, as every record before.
    plan: str | None = None

    def __post_init__(self) -> None:
        # A stored record decodes its outcome as the plain string it was written as.
        object.__setattr__(self, "outcome", Outcome(self.outcome))


@dataclass(frozen=True)
class Gate:
    """A later tranche of an approved initiative, released at its gate by a decision."""

    name: str
    amount: Decimal


@dataclass(frozen=True)
class Tranches:
    """How an approval funds the cost: a first tranche now, the gates' tranches later."""

    first: Decimal
    gates: tuple[Gate, ...] = ()

    @staticmethod
    def whole(cost: Decimal) -> Tranches:
        """All of the cost at once (no gates)."""
        return Tranches(cost)

    @staticmethod
    def plan(cost: Decimal, first: Decimal | None, gates: Sequence[Gate]) -> Tranches:
        """Check a tranche plan against the cost: first tranche > 0, each gate named once
        with an amount > 0, and first + gates == cost. None and no gates: the whole cost."""
        if first is None and not gates:
            return Tranches.whole(cost)
        if first is None:
            raise InvalidInput("name the first tranche when naming gates", field="first_tranche")
        first = require_amount(first, field="first_tranche")
        checked: list[Gate] = []
        for n, gate in enumerate(gates):
            name = require_text(gate.name, field=f"gates.{n}.name", max_length=100)
            if any(g.name == name for g in checked):
                raise InvalidInput(f"gate {name!r} is named twice", field=f"gates.{n}.name")
            checked.append(Gate(name, require_amount(gate.amount, field=f"gates.{n}.amount")))
        total = first + sum((g.amount for g in checked), Decimal(0))
        if total != cost:
            raise TranchesDoNotAddUp(
                f"the first tranche {first} and the gates {total - first} add up to {total}, "
                f"not the cost {cost}", field="gates", cost=str(cost), total=str(total))
        return Tranches(first, tuple(checked))


@dataclass(frozen=True)
class Proposal:
    """The submitter's content: everything a revision may change."""

    title: str
    problem: str
    scenario: str | None
    touchpoints: tuple[str, ...]
    functional_areas: tuple[str, ...]
    cost: Decimal
    confidence: Decimal
    expected_impacts: tuple[ImpactClaim, ...]
    dependencies: tuple[str, ...] = ()
    mandatory: bool = False
    mandate_reason: str | None = None

    def check(self) -> Proposal:
        """Return a normalised copy, or raise InvalidInput naming the field."""
        metrics = [c.metric for c in self.expected_impacts]
        if len(set(metrics)) != len(metrics):
            raise InvalidInput("each metric may be claimed once", field="expected_impacts")
        if self.mandatory and not (self.mandate_reason or "").strip():
            raise InvalidInput("a mandatory initiative needs a mandate reason",
                               field="mandate_reason")
        if not Decimal(0) < self.confidence <= Decimal(1):
            raise InvalidInput("confidence must be in (0, 1]", field="confidence")
        return Proposal(
            title=require_text(self.title, field="title", max_length=200),
            problem=optional_text(self.problem, field="problem", max_length=4000),
            scenario=self.scenario,
            touchpoints=_labels(self.touchpoints, field="touchpoints"),
            functional_areas=_labels(self.functional_areas, field="functional_areas"),
            cost=require_amount(self.cost, field="cost"),
            confidence=self.confidence,
            expected_impacts=tuple(self.expected_impacts),
            dependencies=tuple(require_code(d, field="dependencies") for d in self.dependencies),
            mandatory=self.mandatory,
            mandate_reason=optional_text(self.mandate_reason, field="mandate_reason",
                                         max_length=2000) or None,
        )


def _labels(values: tuple[str, ...], *, field: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        label = require_text(value, field=field, max_length=100)
        if label not in out:
            out.append(label)
    return tuple(out)


class Initiative(Aggregate):
    """submitted -> (revised)* -> approved | rejected | deferred | withdrawn; approved -> delivered
    -> outcomes; approved -> cancelled. Above the four-eyes threshold a first approval leaves it
    pending a second, distinct approver."""

    TOPIC = "cxgov.Initiative"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.Initiative.Created"

    class Submitted(Created):
        """v2 added `carried_from` ("FY2027/I05": the initiative of an earlier period this one
        carries over; v1 stored events have none)."""

        TOPIC = "cxgov.Initiative.Submitted"
        class_version = 2
        period: str
        code: str
        kind: str
        pnl: str | None
        proposal: Proposal
        actor: str
        carried_from: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 submissions carried nothing over."""
            state["carried_from"] = None

    class Revised(Aggregate.Event):
        TOPIC = "cxgov.Initiative.Revised"
        changes: dict[str, Any]
        previous: dict[str, Any]
        reason: str
        actor: str

    class Withdrawn(Aggregate.Event):
        TOPIC = "cxgov.Initiative.Withdrawn"
        reason: str
        previous_status: str
        actor: str

    class FirstApprovalRecorded(Aggregate.Event):
        TOPIC = "cxgov.Initiative.FirstApprovalRecorded"
        decision: DecisionRecord
        actor: str

    class Approved(Aggregate.Event):
        """v2 added `gates` (later tranches, each {"name", "amount"}: `amount` is then the
        first tranche, committed now); v1 stored events committed the whole cost, no gates."""

        TOPIC = "cxgov.Initiative.Approved"
        class_version = 2
        decision: DecisionRecord
        amount: Decimal
        actor: str
        gates: list[dict[str, Any]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 approvals funded the whole cost at once."""
            state["gates"] = []

    class Rejected(Aggregate.Event):
        TOPIC = "cxgov.Initiative.Rejected"
        decision: DecisionRecord
        actor: str

    class Deferred(Aggregate.Event):
        TOPIC = "cxgov.Initiative.Deferred"
        decision: DecisionRecord
        actor: str

    class Delivered(Aggregate.Event):
        TOPIC = "cxgov.Initiative.Delivered"
        delivered_on: date
        note: str
        actor: str

    class OutcomeRecorded(Aggregate.Event):
        TOPIC = "cxgov.Initiative.OutcomeRecorded"
        metric: str
        observed_value: Decimal
        observed_at: datetime
        note: str
        actor: str

    class Cancelled(Aggregate.Event):
        """Stopped ("cancel" in the log): `amount_released` went back to the pool. Before
        spend was recorded it was always the whole commitment; since, commitment - spent."""

        TOPIC = "cxgov.Initiative.Cancelled"
        reason: str
        amount_released: Decimal
        actor: str

    class TrancheApprovalRecorded(Aggregate.Event):
        """The first of two approvals of a gate's tranche above the four-eyes threshold."""

        TOPIC = "cxgov.Initiative.TrancheApprovalRecorded"
        gate: str
        decision: DecisionRecord
        actor: str

    class TrancheReleased(Aggregate.Event):
        """A gate's tranche released: the pool commits `amount` in the same transaction."""

        TOPIC = "cxgov.Initiative.TrancheReleased"
        gate: str
        amount: Decimal
        decision: DecisionRecord
        actor: str

    class SpendRecorded(Aggregate.Event):
        """Money actually spent on funded work (an invoice, a purchase order's actuals)."""

        TOPIC = "cxgov.Initiative.SpendRecorded"
        amount: Decimal
        spent_on: date
        reference: str
        note: str
        actor: str

    class Descoped(Aggregate.Event):
        """The commitment cut to `new_cost`; `amount_released` went back to the pool."""

        TOPIC = "cxgov.Initiative.Descoped"
        new_cost: Decimal
        previous_commitment: Decimal
        amount_released: Decimal
        reason: str
        actor: str

    class CarriedOver(Aggregate.Event):
        """Carried into a later period as a new initiative (`to_id`, code `to_code`)."""

        TOPIC = "cxgov.Initiative.CarriedOver"
        to_period: str
        to_code: str
        to_id: UUID
        previous_status: str
        cost: Decimal
        reason: str
        actor: str

    @staticmethod
    def create_id(period: str, code: str) -> UUID:
        """Initiative ids are derived from period and code."""
        return natural_id("initiative", period, code)

    @classmethod
    def submit(
        cls, *, period: str, code: str, kind: str, pnl: str | None, proposal: Proposal,
        actor: str, carried_from: str | None = None,
    ) -> Initiative:
        """Submit a proposal; P&L initiatives name their P&L, CX-sponsored ones do not."""
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
        if kind == "pnl" and not pnl:
            raise InvalidInput("a P&L initiative names its P&L", field="pnl")
        if kind != "pnl" and pnl:
            raise InvalidInput("cross-P&L initiatives are sponsored by CX, not a P&L", field="pnl")
        code = require_code(code, field="code")
        proposal = proposal.check()
        if code in proposal.dependencies:
            raise InvalidInput("an initiative cannot depend on itself", field="dependencies")
        created: Initiative = cls(period=period, code=code, kind=kind, pnl=pnl,
                                  proposal=proposal, actor=actor, carried_from=carried_from)
        return created

    @event(Submitted)
    def __init__(
        self, *, period: str, code: str, kind: str, pnl: str | None, proposal: Proposal,
        actor: str, carried_from: str | None = None,
    ) -> None:
        self.period = period
        self.code = code
        self.kind = kind
        self.pnl = pnl
        self.proposal = proposal
        self.submitted_by = actor
        self.authors: set[str] = {actor}
        self.status = _STATUS_AFTER[Initiative.Submitted]
        self.approvals: list[str] = []
        self.decisions: list[DecisionRecord] = []
        self.committed_amount = Decimal(0)
        self.delivered_on: date | None = None
        self.outcomes: list[tuple[str, Decimal, datetime]] = []
        self.carried_from = carried_from  # "FY2027/I05" when carried over from there
        self.carried_to: str | None = None  # "FY2028/I01" once carried over
        self.spent = Decimal(0)
        self.gates: list[dict[str, Any]] = []

    # --- queries --------------------------------------------------------------------------

    @property
    def cost(self) -> Decimal:
        """The funding requested."""
        return self.proposal.cost

    def _require(self, allowed: frozenset[Status], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                f"cannot {action} initiative {self.code} while it is {self.status}",
                status=self.status,
            )

    # --- the lifecycle rule: the aggregate and the read side's fold both follow it ----------

    @staticmethod
    def status_after(kind: type[Aggregate.Event]) -> Status | None:
        """The status an event of `kind` leaves an initiative in; None: the status is kept."""
        return _STATUS_AFTER.get(kind)

    @staticmethod
    def approvals_after(kind: type[Aggregate.Event], approvals: Sequence[str],
                        actor: str) -> list[str]:
        """Who has approved after an event of `kind` by `actor`: a first approval starts the
        list, the final approval adds its approver, a deferral clears it; others keep it."""
        if kind is Initiative.FirstApprovalRecorded:
            return [actor]
        if kind is Initiative.Approved:
            return [*approvals, actor]
        if kind is Initiative.Deferred:
            return []
        return list(approvals)

    def _moved(self, kind: type[Aggregate.Event], actor: str) -> None:
        self.status = self.status_after(kind) or self.status
        self.approvals = self.approvals_after(kind, self.approvals, actor)

    # --- commands -------------------------------------------------------------------------

    def revise(self, *, changes: dict[str, Any], reason: str, actor: str) -> None:
        """Change the proposal while undecided; recorded with before and after values."""
        self._require(_SUBMITTED_OR_DEFERRED, "revise")
        unknown = set(changes) - REVISABLE_FIELDS
        if unknown:
            raise InvalidInput(f"cannot revise {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
        current = self.proposal.__dict__
        effective = {k: v for k, v in changes.items() if current[k] != v}
        if not effective:
            raise InvalidInput("the revision changes nothing", field="changes")
        proposal = Proposal(**{**current, **effective}).check()
        normalised = {k: getattr(proposal, k) for k in effective}
        if self.code in proposal.dependencies:
            raise InvalidInput("an initiative cannot depend on itself", field="dependencies")
        self._revised(
            changes=normalised,
            previous={k: current[k] for k in effective},
            reason=optional_text(reason, field="reason", max_length=2000),
            actor=actor,
        )

    def withdraw(self, *, reason: str, actor: str) -> None:
        """Withdraw before any final decision."""
        self._require(UNDECIDED, "withdraw")
        self._withdrawn(reason=optional_text(reason, field="reason", max_length=2000),
                        previous_status=self.status, actor=actor)

    def record_first_approval(self, *, decision: DecisionRecord, actor: str) -> None:
        """First of two approvals above the four-eyes threshold."""
        self._require(_SUBMITTED_OR_DEFERRED, "approve")
        self._first_approval(decision=decision, actor=actor)

    def approve(self, *, decision: DecisionRecord, actor: str,
                tranches: Tranches | None = None) -> None:
        """Final approval; funds (the whole cost, or the first tranche) are committed on the
        pool in the same transaction."""
        self._require(UNDECIDED, "approve")
        plan = tranches or Tranches.whole(self.cost)
        self._approved(decision=decision, amount=plan.first, actor=actor,
                       gates=[{"name": g.name, "amount": g.amount} for g in plan.gates])

    def check_tranche(self, gate: str) -> Decimal:
        """The amount of an unreleased gate of approved (or delivered) work."""
        self._require(_SPENDABLE, "release a tranche of")
        found = next((g for g in self.gates if g["name"] == gate), None)
        if found is None:
            raise InvalidInput(f"{self.code} has no gate {gate!r}", field="gate")
        if found["released"]:
            raise InvalidTransition(f"the tranche of gate {gate!r} of {self.code} is "
                                    "released already", status=self.status)
        amount: Decimal = found["amount"]
        return amount

    def gate_approvals(self, gate: str) -> list[str]:
        """Who has given a first approval to a gate's release (four eyes)."""
        found = next((g for g in self.gates if g["name"] == gate), None)
        return list(found["approvals"]) if found else []

    def record_tranche_approval(self, *, gate: str, decision: DecisionRecord,
                                actor: str) -> None:
        """First of two approvals of a tranche above the four-eyes threshold."""
        self.check_tranche(gate)
        self._tranche_approval(gate=gate, decision=decision, actor=actor)

    def release_tranche(self, *, gate: str, decision: DecisionRecord, actor: str) -> None:
        """Release a gate's tranche; the pool commits it in the same transaction."""
        amount = self.check_tranche(gate)
        self._tranche_released(gate=gate, amount=amount, decision=decision, actor=actor)

    def reject(self, *, decision: DecisionRecord, actor: str) -> None:
        """Reject while undecided."""
        self._require(UNDECIDED, "reject")
        self._rejected(decision=decision, actor=actor)

    def defer(self, *, decision: DecisionRecord, actor: str) -> None:
        """Defer to a later round; it may be revised and decided again."""
        self._require(_DEFERRABLE, "defer")
        self._deferred(decision=decision, actor=actor)

    def deliver(self, *, delivered_on: date, note: str, actor: str) -> None:
        """Report delivery of approved work."""
        self._require(_APPROVED, "report delivery of")
        self._delivered(delivered_on=delivered_on,
                        note=optional_text(note, field="note", max_length=4000), actor=actor)

    def record_outcome(
        self, *, metric: str, observed_value: Decimal, observed_at: datetime, note: str,
        actor: str, now: datetime,
    ) -> None:
        """Record the observed value of a claimed metric after delivery (observed by `now`)."""
        if not observed_value.is_finite():
            raise InvalidInput("observed value must be finite", field="observed_value")
        check_observed_at(observed_at, now=now)
        self._require(_DELIVERED, "record an outcome for")
        if metric not in {c.metric for c in self.proposal.expected_impacts}:
            raise InvalidInput(f"{self.code} claims no impact on {metric}", field="metric")
        self._outcome(metric=metric, observed_value=observed_value, observed_at=observed_at,
                      note=optional_text(note, field="note", max_length=4000), actor=actor)

    def check_cancellable(self) -> None:
        """Only approved work is cancelled (checked before its pool releases the funds)."""
        if self.status != Status.APPROVED:
            raise InvalidTransition(f"cannot cancel {self.code} while it is {self.status}",
                                    status=self.status)

    def cancel(self, *, reason: str, amount_released: Decimal, actor: str) -> None:
        """Cancel (stop) approved work; the pool releases `amount_released` (what is committed
        and not spent: `unspent`) in the same transaction."""
        self._require(_APPROVED, "cancel")
        self._cancelled(reason=require_text(reason, field="reason", max_length=2000),
                        amount_released=amount_released, actor=actor)

    @property
    def unspent(self) -> Decimal:
        """What is committed and not spent (never below zero: spend may exceed the plan)."""
        return max(self.committed_amount - self.spent, Decimal(0))

    def record_spend(self, *, amount: Decimal, spent_on: date, reference: str, note: str,
                     actor: str, now: datetime) -> None:
        """Record money spent on approved or delivered work, spent between 1970 and a day
        past `now`. Spend beyond the commitment is recorded (a fact to report, not refused)."""
        amount = require_amount(amount, field="amount")
        check_spent_on(spent_on, now=now)
        reference = optional_text(reference, field="reference", max_length=200,
                                  multiline=False)
        note = optional_text(note, field="note", max_length=4000)
        self._require(_SPENDABLE, "record spend on")
        self._spend(amount=amount, spent_on=spent_on, reference=reference, note=note,
                    actor=actor)

    def check_descopable(self, new_cost: Decimal) -> Decimal:
        """The amount a descope to `new_cost` releases: approved or delivered work, and
        spent <= new_cost < commitment (zero is not a descope: stop the work instead)."""
        self._require(_SPENDABLE, "descope")
        new_cost = require_amount(new_cost, field="new_cost")
        if new_cost >= self.committed_amount:
            raise DescopeOutOfRange(
                f"new cost {new_cost} must be below the {self.committed_amount} committed to "
                f"{self.code}", field="new_cost", committed=str(self.committed_amount),
                spent=str(self.spent))
        if new_cost < self.spent:
            raise DescopeOutOfRange(
                f"new cost {new_cost} is below the {self.spent} already spent on {self.code}",
                field="new_cost", committed=str(self.committed_amount), spent=str(self.spent))
        return self.committed_amount - new_cost

    def descope(self, *, new_cost: Decimal, reason: str, actor: str) -> Decimal:
        """Cut the commitment to `new_cost` with a written reason; returns the amount the pool
        releases in the same transaction."""
        released = self.check_descopable(new_cost)
        self._descoped(new_cost=new_cost, previous_commitment=self.committed_amount,
                       amount_released=released,
                       reason=require_text(reason, field="reason", max_length=2000),
                       actor=actor)
        return released

    def carry_over(self, *, to_period: str, period_closed: bool, cost: Decimal | None = None,
                   dependencies: tuple[str, ...] = (), code: str, reason: str,
                   actor: str) -> Initiative:
        """Carry this initiative into `to_period` as a new initiative `code` (the same proposal,
        optionally a revised cost; dependencies name initiatives of the target period).

        Deferred work may be carried at any time; work still undecided (submitted, pending a
        second approval) only once its own period is closed (`period_closed`). The reason is
        required (comply or explain). Returns the new initiative; this one records
        `CarriedOver` and can no longer be decided."""
        allowed = CARRIABLE_WHEN_CLOSED if period_closed else CARRIABLE_ANYTIME
        if self.status not in allowed:
            hint = ("" if period_closed or self.status not in CARRIABLE_WHEN_CLOSED
                    else f" and {self.period} is open (only deferred work is carried before "
                         "its period closes)")
            raise InvalidTransition(
                f"cannot carry over initiative {self.code} while it is {self.status}{hint}",
                status=self.status)
        if to_period == self.period:
            raise InvalidInput(f"{self.code} is already in {self.period}: carry it into "
                               "another period", field="to_period")
        why = require_text(reason, field="reason", max_length=2000)
        changes: dict[str, Any] = {"dependencies": tuple(dependencies)}
        if cost is not None:
            changes["cost"] = cost
        proposal = Proposal(**{**self.proposal.__dict__, **changes})
        successor = Initiative.submit(period=to_period, code=code, kind=self.kind, pnl=self.pnl,
                                      proposal=proposal, actor=actor,
                                      carried_from=f"{self.period}/{self.code}")
        self._carried_over(to_period=to_period, to_code=successor.code, to_id=successor.id,
                           previous_status=self.status, cost=successor.cost, reason=why,
                           actor=actor)
        return successor

    # --- events ---------------------------------------------------------------------------

    @event(Revised)
    def _revised(self, *, changes: dict[str, Any], previous: dict[str, Any], reason: str,
                 actor: str) -> None:
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
        self.proposal = Proposal(**{**self.proposal.__dict__, **fixed})
        self.authors.add(actor)

    @event(Withdrawn)
    def _withdrawn(self, *, reason: str, previous_status: str, actor: str) -> None:
        self._moved(Initiative.Withdrawn, actor)

    @event(FirstApprovalRecorded)
    def _first_approval(self, *, decision: DecisionRecord, actor: str) -> None:
        self._moved(Initiative.FirstApprovalRecorded, actor)
        self.decisions.append(decision)

    @event(Approved)
    def _approved(self, *, decision: DecisionRecord, amount: Decimal, actor: str,
                  gates: list[dict[str, Any]]) -> None:
        self._moved(Initiative.Approved, actor)
        self.committed_amount = amount
        self.decisions.append(decision)
        self.gates = [{**g, "released": False, "approvals": []} for g in gates]

    @event(TrancheApprovalRecorded)
    def _tranche_approval(self, *, gate: str, decision: DecisionRecord, actor: str) -> None:
        for g in self.gates:
            if g["name"] == gate:
                g["approvals"] = [actor]
        self.decisions.append(decision)

    @event(TrancheReleased)
    def _tranche_released(self, *, gate: str, amount: Decimal, decision: DecisionRecord,
                          actor: str) -> None:
        for g in self.gates:
            if g["name"] == gate:
                g["released"], g["approvals"] = True, [*g["approvals"], actor]
        self.committed_amount += amount
        self.decisions.append(decision)

    @event(Rejected)
    def _rejected(self, *, decision: DecisionRecord, actor: str) -> None:
        self._moved(Initiative.Rejected, actor)
        self.decisions.append(decision)

    @event(Deferred)
    def _deferred(self, *, decision: DecisionRecord, actor: str) -> None:
        self._moved(Initiative.Deferred, actor)
        self.decisions.append(decision)

    @event(Delivered)
    def _delivered(self, *, delivered_on: date, note: str, actor: str) -> None:
        self._moved(Initiative.Delivered, actor)
        self.delivered_on = delivered_on

    @event(OutcomeRecorded)
    def _outcome(self, *, metric: str, observed_value: Decimal, observed_at: datetime, note: str,
                 actor: str) -> None:
        self.outcomes.append((metric, observed_value, observed_at))

    @event(Cancelled)
    def _cancelled(self, *, reason: str, amount_released: Decimal, actor: str) -> None:
        self._moved(Initiative.Cancelled, actor)
        # Old events released the whole commitment (this leaves 0, as before); a stop after
        # spend keeps the spent part committed.
        self.committed_amount -= amount_released

    @event(SpendRecorded)
    def _spend(self, *, amount: Decimal, spent_on: date, reference: str, note: str,
               actor: str) -> None:
        self.spent += amount

    @event(Descoped)
    def _descoped(self, *, new_cost: Decimal, previous_commitment: Decimal,
                  amount_released: Decimal, reason: str, actor: str) -> None:
        self.committed_amount = new_cost

    @event(CarriedOver)
    def _carried_over(self, *, to_period: str, to_code: str, to_id: UUID, previous_status: str,
                      cost: Decimal, reason: str, actor: str) -> None:
        self._moved(Initiative.CarriedOver, actor)
        self.carried_to = f"{to_period}/{to_code}"


#: The lifecycle: the status each event leads to (events not named keep the status).
_STATUS_AFTER: Final[dict[type[Aggregate.Event], Status]] = {
    Initiative.Submitted: Status.SUBMITTED,
    Initiative.Withdrawn: Status.WITHDRAWN,
    Initiative.FirstApprovalRecorded: Status.PENDING_SECOND_APPROVAL,
    Initiative.Approved: Status.APPROVED,
    Initiative.Rejected: Status.REJECTED,
    Initiative.Deferred: Status.DEFERRED,
    Initiative.Delivered: Status.DELIVERED,
    Initiative.Cancelled: Status.CANCELLED,
    Initiative.CarriedOver: Status.CARRIED_OVER,
    # TrancheApprovalRecorded and TrancheReleased keep the status (approved or delivered)
}
#: Which statuses each command accepts (UNDECIDED: withdraw, approve, reject; this: revise and a
#: first approval).
_SUBMITTED_OR_DEFERRED: Final = REVISABLE
_DEFERRABLE: Final = frozenset({Status.SUBMITTED, Status.PENDING_SECOND_APPROVAL})
_APPROVED: Final = frozenset({Status.APPROVED})
_DELIVERED: Final = frozenset({Status.DELIVERED})
_SPENDABLE: Final = frozenset({Status.APPROVED, Status.DELIVERED})
EARLIEST_SPEND: Final = date(1970, 1, 1)


def check_spent_on(spent_on: date, *, now: datetime, field: str = "spent_on") -> None:
    """Spend happened between 1970 and the recording clock's next day (clock skew, as for
    observations: decision 31)."""
    if isinstance(spent_on, datetime) or not isinstance(spent_on, date):
        raise InvalidInput(f"{field} must be a date", field=field)
    if spent_on < EARLIEST_SPEND:
        raise InvalidInput(f"{field} {spent_on.isoformat()} is before 1970", field=field)
    if spent_on > (now + timedelta(days=1)).date():
        raise InvalidInput(f"{field} {spent_on.isoformat()} is in the future (the server's "
                           f"clock reads {now.date().isoformat()})", field=field)
