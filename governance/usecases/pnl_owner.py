"""P&L owners (and CX executives sponsoring cross-P&L work): submissions and what follows an
approval."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import PolicyNotAdopted
from domain.initiative import Initiative, Proposal
from domain.metric import CustomerSuccessMetric
from domain.policy import ScoringPolicy
from domain.pool import FundingPool
from domain.registry import PnL, Scenario
from governance.access import require_initiative_owner
from governance.errors import StaleVersion
from governance.principal import Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands
from governance.usecases.rounds import round_id, round_of


class OwnerUseCases(Commands):
    """What P&L owners do for their own P&Ls."""

    def submit_initiative(self, principal: Principal, *, period: str, kind: str,
                          pnl: str | None, proposal: Proposal,
                          code: str | None = None) -> CommandResult:
        """Submit an initiative; P&L owners for their own P&L, CX executives sponsor cross-P&L."""
        require_initiative_owner(principal, kind=kind, pnl=pnl, action="submitting an initiative")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            pool = unit.pool(period)
            running = round_of(unit, period)  # issue 16, part 4: a round's intake window
            if running is not None:
                running.check_intake(self.clock())
            if pnl is not None:
                unit.pnl(pnl)
            chosen = code or pool.next_code()
            check_proposal(unit, proposal, pool, code=chosen)
            initiative = Initiative.submit(period=period, code=chosen, kind=kind, pnl=pnl,
                                           proposal=proposal, actor=principal.actor)
            pool.enlist(initiative_id=initiative.id, code=initiative.code, actor=principal.actor)
            return [pool, initiative]

        pool_id = FundingPool.create_id(period)
        return self.transact(build, lambda: [pool_id, round_id(period),
                                             *references(proposal, pnl)], turn=pool_id)

    def revise_initiative(self, principal: Principal, *, initiative_id: UUID,
                          changes: dict[str, Any], reason: str = "",
                          expected_version: int | None = None) -> CommandResult:
        """Revise an undecided initiative (If-Match: expected_version)."""

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="revising an initiative")
            if expected_version is not None and expected_version != initiative.version:
                raise StaleVersion(
                    f"initiative is at version {initiative.version}, not {expected_version}",
                    current_version=initiative.version)
            initiative.revise(changes=changes, reason=reason, actor=principal.actor)
            check_proposal(unit, initiative.proposal, unit.pool(initiative.period),
                           code=initiative.code)
            return [initiative]

        return self.transact(build)

    def withdraw_initiative(self, principal: Principal, *, initiative_id: UUID,
                            reason: str = "") -> CommandResult:
        """Withdraw an undecided initiative."""

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="withdrawing an initiative")
            initiative.withdraw(reason=reason, actor=principal.actor)
            return [initiative]

        return self.transact(build)

    def report_delivery(self, principal: Principal, *, initiative_id: UUID,
                        delivered_on: date, note: str = "") -> CommandResult:
        """Report that approved work was delivered."""

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="reporting delivery")
            initiative.deliver(delivered_on=delivered_on, note=note, actor=principal.actor)
            return [initiative]

        return self.transact(build)

    def record_outcome(self, principal: Principal, *, initiative_id: UUID, metric: str,
                       observed_value: Decimal, observed_at: datetime,
                       note: str = "") -> CommandResult:
        """Record an observed outcome of delivered work on a claimed metric."""

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="recording an outcome")
            initiative.record_outcome(metric=metric, observed_value=observed_value,
                                      observed_at=observed_at, note=note,
                                      actor=principal.actor, now=self.clock())
            return [initiative]

        return self.transact(build)


def references(proposal: Proposal, pnl: str | None) -> list[UUID]:
    """The ids of what a proposal refers to (read together by the command)."""
    return [ScoringPolicy.create_id(), *([PnL.create_id(pnl)] if pnl else []),
            *([Scenario.create_id(proposal.scenario)] if proposal.scenario else []),
            *(CustomerSuccessMetric.create_id(c.metric) for c in proposal.expected_impacts)]


def check_proposal(unit: UnitOfWork, proposal: Proposal, pool: FundingPool, *,
                   code: str) -> None:
    """What a proposal refers to exists, its dependencies are of its period, and its
    confidence is one of the policy's tiers (when a policy was adopted)."""
    if proposal.scenario is not None:
        unit.scenario(proposal.scenario)
    for claim in proposal.expected_impacts:
        unit.metric(claim.metric)
    pool.check_dependencies(proposal.dependencies, code=code)
    try:
        _, terms = unit.policy_terms()
    except PolicyNotAdopted:
        return
    terms.check_confidence(proposal.confidence)
