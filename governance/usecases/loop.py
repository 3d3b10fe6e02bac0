"""The loop (issue 14), across roles: benefit plans, answering signals, reviews.

Signals are derived by the read side, so a command that answers one asks the application's
`signal_source` (set by the composition root: governance/bootstrap.py, api/app.py) whether it
is open and when it was raised; what the command writes (the note, the review item) is then
checked and saved like any other command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.benefits import BenefitPlan, BenefitPoint
from domain.errors import BenefitPlanNotFound, ReviewNotFound, SignalNotFound
from domain.initiative import Initiative
from domain.review import Review
from domain.signals import SignalFacts, SignalNote, check_signal_key
from domain.text import clean_text, optional_text
from governance.access import require_role
from governance.errors import Forbidden
from governance.principal import CX_EXEC, FINANCE, PNL_OWNER, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands


class SignalSource(Protocol):
    """What the read side knows of signals, as commands need it."""

    def open_signal(self, key: str) -> SignalFacts | None:
        """The signal with this key if it is open or acknowledged now, else None."""

    def open_signals(self, period: str) -> tuple[int, list[SignalFacts], list[str]]:
        """The log position, the period's open signals and its ranking (codes), as of now."""


class LoopUseCases(Commands):
    """Benefit plans (CX executives, the submitting P&L owner), signals and reviews."""

    #: The read side's signals; set by the composition root (None: commands refuse).
    signal_source: SignalSource | None = None

    # --- benefit plans ------------------------------------------------------------------------

    def plan_benefits(self, principal: Principal, *, initiative_id: UUID, owner: str,
                      points: Sequence[BenefitPoint]) -> CommandResult:
        """Record the benefit owner and promised trajectory of approved or delivered work."""
        require_role(principal, CX_EXEC, PNL_OWNER, action="planning benefits")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            _require_planner(principal, initiative)
            plan = BenefitPlan.plan(initiative, owner=owner, points=points,
                                    actor=principal.actor)
            unit.require_absent(plan.id, f"{initiative.code} has a benefit plan already; "
                                "revise it", field="initiative_id")
            return [plan]

        return self.transact(build)

    def revise_benefits(self, principal: Principal, *, initiative_id: UUID,
                        points: Sequence[BenefitPoint], reason: str,
                        owner: str | None = None) -> CommandResult:
        """Revise a benefit plan (new points, maybe a new owner), with a reason."""
        require_role(principal, CX_EXEC, PNL_OWNER, action="revising a benefit plan")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            _require_planner(principal, initiative)
            plan = unit.load(BenefitPlan, BenefitPlan.create_id(initiative_id),
                             lambda: BenefitPlanNotFound(
                                 f"{initiative.code} has no benefit plan", code=initiative.code))
            plan.revise(initiative, owner=owner, points=points, reason=reason,
                        actor=principal.actor)
            return [plan]

        return self.transact(build)

    # --- signals ----------------------------------------------------------------------------

    def acknowledge_signal(self, principal: Principal, *, key: str, note: str = "",
                           review: UUID | None = None) -> CommandResult:
        """Acknowledge an open signal with a note (in a review, when named)."""
        return self._answer(principal, key=key, note=note, review=review, act="acknowledge")

    def resolve_signal(self, principal: Principal, *, key: str, note: str,
                       review: UUID | None = None) -> CommandResult:
        """Resolve a signal with a note saying how; it closes even if its condition holds."""
        return self._answer(principal, key=key, note=note, review=review, act="resolve")

    def _answer(self, principal: Principal, *, key: str, note: str, review: UUID | None,
                act: str) -> CommandResult:
        require_role(principal, CX_EXEC, PNL_OWNER, FINANCE, action="answering a signal")
        check_signal_key(key)
        note = optional_text(note, field="note", max_length=4000)
        signal = self._source().open_signal(key)
        if signal is None:
            raise SignalNotFound(f"no open signal {key}", key=key)
        if not principal.has(CX_EXEC) and not principal.has(_ROLE_OF.get(signal.kind, CX_EXEC)):
            raise Forbidden(f"answering a {signal.kind} signal needs the role "
                            f"{_ROLE_OF.get(signal.kind, CX_EXEC)} or {CX_EXEC}",
                            required_roles=[_ROLE_OF.get(signal.kind, CX_EXEC), CX_EXEC])

        def build(unit: UnitOfWork) -> list[Aggregate]:
            changed: list[Aggregate] = []
            found = unit.seen(SignalNote.create_id(key))
            stream = (unit.store.private(found) if isinstance(found, SignalNote)
                      else SignalNote.start(key=key, actor=principal.actor))
            if act == "acknowledge":
                stream.acknowledge(signal, note=note, review=review, actor=principal.actor)
            else:
                stream.resolve(signal, note=note, review=review, actor=principal.actor)
            changed.append(stream)
            if review is not None:
                changed.append(self.review_item(unit, review, principal, item=act, signal=key,
                                                note=note))
            return changed

        return self.transact(build)

    def _source(self) -> SignalSource:
        if self.signal_source is None:
            raise SignalNotFound("signals are not available to this process (no read side)")
        return self.signal_source

    # --- reviews ------------------------------------------------------------------------------

    def open_review(self, principal: Principal, *, period: str,
                    title: str = "") -> CommandResult:
        """Open a review of a period: the open signals and the ranking as of now."""
        require_role(principal, CX_EXEC, action="opening a review")
        position, signals, ranking = self._source().open_signals(period)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            unit.pool(period)  # the period exists
            return [Review.open(period=period, title=title, position=position,
                                signals=signals, ranking=ranking, actor=principal.actor)]

        return self.transact(build)

    def close_review(self, principal: Principal, *, review_id: UUID,
                     minutes: str) -> CommandResult:
        """Close a review with its minutes."""
        require_role(principal, CX_EXEC, action="closing a review")
        clean_text(minutes, field="minutes", max_length=20000, multiline=True)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            review = _load_review(unit, review_id)
            review.close(minutes=minutes, actor=principal.actor)
            return [review]

        return self.transact(build)

    def review_item(self, unit: UnitOfWork, review_id: UUID, principal: Principal, *,
                    item: str, signal: str | None = None, initiative: UUID | None = None,
                    note: str = "") -> Review:
        """`review_item` below, for the loop's own commands."""
        return review_item(unit, review_id, principal, item=item, signal=signal,
                           initiative=initiative, note=note)


def review_item(unit: UnitOfWork, review_id: UUID, principal: Principal, *, item: str,
                signal: str | None = None, initiative: UUID | None = None,
                note: str = "") -> Review:
    """The review, with an act taken in it recorded (the caller's build saves it with the act,
    in the same transaction; a closed or unknown review refuses the act)."""
    review = _load_review(unit, review_id)
    review.record(item=item, signal=signal, initiative=initiative, note=note,
                  actor=principal.actor)
    return review


#: Who should act on each kind of signal (CX executives may answer any).
_ROLE_OF = {"benefit_at_risk": PNL_OWNER, "spend_over_plan": FINANCE}


def _load_review(unit: UnitOfWork, review_id: UUID) -> Review:
    return unit.load(Review, review_id, lambda: ReviewNotFound(f"no review {review_id}",
                                                                field="review"))


def _require_planner(principal: Principal, initiative: Initiative) -> None:
    """CX executives, or the owners of the P&L that submitted the initiative (checked before
    its status, so another P&L's owner is refused whatever the initiative's state)."""
    if principal.has(CX_EXEC):
        return
    if principal.has(PNL_OWNER) and initiative.kind == "pnl" and initiative.pnl in principal.pnls:
        return
    raise Forbidden(f"planning the benefits of {initiative.code} is for CX executives or the "
                    "owners of the P&L that submitted it", code=initiative.code)
