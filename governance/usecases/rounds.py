"""Funding rounds (issue 16, part 4): open a period's round, mark submissions' feasibility.

Finance or a CX executive opens a round (its schedule); finance or a CX executive (the issue's
"CX architect": cxgov has no such role, a CX executive stands for it) marks a submission
feasible or "needs information". A CX executive alone changes the round's schedule by hand
(close intake now, open decisions now, move deadlines: `change_round`, decision 200). The
phase is derived from the schedule and the app's clock (`self.clock`): the rules are in
domain/rounds.py; the submission and decision checks (`round_of`) are called from
pnl_owner.py and cx_exec.py.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InitiativeNotFound, PeriodClosed, RoundNotFound
from domain.initiative import Initiative
from domain.pool import FundingPool
from domain.rounds import CLOSE_INTAKE, OPEN_DECISIONS, FundingRound
from governance.access import require_role
from governance.principal import CX_EXEC, FINANCE, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands


class RoundUseCases(Commands):
    """Opening funding rounds and reviewing their submissions' feasibility."""

    def open_round(self, principal: Principal, *, period: str, intake_opens: datetime,
                   intake_closes: datetime, review_deadline: datetime,
                   decision_deadline: datetime) -> CommandResult:
        """Open the period's funding round with its schedule (one per period)."""
        require_role(principal, FINANCE, CX_EXEC, action="opening a funding round")
        round_id = FundingRound.create_id(period)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            if unit.pool(period).closed:
                raise PeriodClosed(f"period {period} is closed")
            unit.require_absent(round_id, f"{period} runs a funding round already",
                                field="period")
            return [FundingRound.open(period=period, intake_opens=intake_opens,
                                      intake_closes=intake_closes,
                                      review_deadline=review_deadline,
                                      decision_deadline=decision_deadline,
                                      actor=principal.actor)]

        return self.transact(build, lambda: [round_id, FundingPool.create_id(period)])

    def mark_feasibility(self, principal: Principal, *, period: str, code: str, verdict: str,
                         note: str | None = None) -> CommandResult:
        """Mark a submission of the period's round feasible or needing information."""
        require_role(principal, FINANCE, CX_EXEC, action="marking a submission's feasibility")
        round_id = FundingRound.create_id(period)
        initiative_id = Initiative.create_id(period, code)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            found = unit.load(FundingRound, round_id, lambda: RoundNotFound(
                f"{period} runs no funding round", period=period))
            initiative = unit.read(Initiative, initiative_id, lambda: InitiativeNotFound(
                f"no initiative {code} in {period}", code=code))
            found.mark(initiative_id=initiative.id, code=initiative.code, pnl=initiative.pnl,
                       verdict=verdict,
                       note=note, now=self.clock(), actor=principal.actor)
            return [found]

        return self.transact(build, lambda: [round_id, initiative_id])

    def change_round(self, principal: Principal, *, period: str, change: str, reason: str,
                     intake_opens: datetime | None = None,
                     intake_closes: datetime | None = None,
                     review_deadline: datetime | None = None,
                     decision_deadline: datetime | None = None) -> CommandResult:
        """A phase change a person makes (decision 200), judged at the service's clock:
        `close_intake` (intake closes now), `open_decisions` (the review ends now) or
        `reschedule` (the times given move; the others stay), each with a reason."""
        require_role(principal, CX_EXEC, action="changing a funding round's schedule")
        round_id = FundingRound.create_id(period)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            if unit.pool(period).closed:
                raise PeriodClosed(f"period {period} is closed")
            found = unit.load(FundingRound, round_id, lambda: RoundNotFound(
                f"{period} runs no funding round", period=period))
            now = self.clock()
            if change == CLOSE_INTAKE:
                found.close_intake(now=now, reason=reason, actor=principal.actor)
            elif change == OPEN_DECISIONS:
                found.open_decisions(now=now, reason=reason, actor=principal.actor)
            else:
                found.reschedule(now=now, change=change, reason=reason, actor=principal.actor,
                                 times={"intake_opens": intake_opens,
                                        "intake_closes": intake_closes,
                                        "review_deadline": review_deadline,
                                        "decision_deadline": decision_deadline})
            return [found]

        return self.transact(build, lambda: [round_id, FundingPool.create_id(period)])


def round_of(unit: UnitOfWork, period: str) -> FundingRound | None:
    """The period's funding round (None: it runs none, and nothing is checked)."""
    found = unit.seen(FundingRound.create_id(period))
    return found if isinstance(found, FundingRound) else None


def round_id(period: str) -> UUID:
    """The id of a period's round (read with the command's other reads)."""
    return FundingRound.create_id(period)
