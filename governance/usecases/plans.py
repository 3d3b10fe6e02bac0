"""Funding plans (issue 16): save named plans of a period, adopt one as the plan of record.

Finance and CX executives save plans (what-ifs cost nothing until adopted); adopting one is a
decision of a CX executive, with a written rationale. The rules: domain/plans.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, PeriodClosed, PlanNotFound
from domain.plans import (
    AdoptedPlan,
    Forced,
    FundingPlan,
    PlanOfRecord,
    check_forced,
    plan_name,
    select,
)
from domain.pool import FundingPool
from domain.scoring import MetricTarget
from domain.text import clean_text
from domain.values import require_amount
from governance.access import require_role
from governance.principal import CX_EXEC, FINANCE, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands, candidate


class PlanUseCases(Commands):
    """Saving and adopting funding plans."""

    def save_plan(self, principal: Principal, *, period: str, name: str, budget: Decimal,
                  policy_version: int | None = None, forced_in: Sequence[Forced] = (),
                  forced_out: Sequence[Forced] = (), description: str = "") -> CommandResult:
        """Save a named plan of a period: its selection is computed now, from the event
        store, under the policy version named (default: the one in force) and recorded."""
        require_role(principal, CX_EXEC, FINANCE, action="saving a funding plan")
        name = plan_name(name)
        require_amount(budget, field="budget")
        check_forced(forced_in, forced_out)
        plan_id = FundingPlan.create_id(period, name)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            unit.require_absent(plan_id, f"{period} has a plan named {name!r} already",
                                field="name")
            pool_id = FundingPool.create_id(period)
            unit.pool(period)  # the period exists
            position = unit.period_snapshot(pool_id, period)
            pool = unit.pool(period)
            if pool.closed:
                raise PeriodClosed(f"period {period} is closed")
            policy = unit.policy()
            version = policy.policy_version if policy_version is None else policy_version
            if not 1 <= version <= policy.policy_version:
                raise InvalidInput(f"policy version must be 1..{policy.policy_version}",
                                   field="policy_version")
            terms = policy.terms_at(version)
            loaded = unit.initiatives(pool.initiatives)
            candidates = [candidate(loaded[i], seq)
                          for seq, i in enumerate(pool.initiatives, start=1)]
            metrics = {}
            for code in sorted({c.metric for x in candidates for c in x.impacts}):
                metric = unit.metric(code)
                metrics[code] = MetricTarget(code, metric.baseline, metric.target)
            selection = select(candidates, metrics, terms, budget=budget,
                               net_committed=pool.net_committed, forced_in=forced_in,
                               forced_out=forced_out)
            return [FundingPlan.save(period=period, name=name, description=description,
                                     budget=budget, policy_version=version,
                                     forced_in=forced_in, forced_out=forced_out,
                                     position=position, selection=selection,
                                     actor=principal.actor)]

        return self.transact(build, lambda: [plan_id, FundingPool.create_id(period)])

    def adopt_plan(self, principal: Principal, *, period: str, name: str,
                   rationale: str) -> CommandResult:
        """Adopt a saved plan as the period's plan of record (replacing the one before):
        comply or explain then judges the period's decisions against it."""
        require_role(principal, CX_EXEC, action="adopting a plan of record")
        name = plan_name(name)
        clean_text(rationale, field="rationale", max_length=4000, multiline=True)
        plan_id, record_id = FundingPlan.create_id(period, name), PlanOfRecord.create_id(period)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            plan = unit.read(FundingPlan, plan_id, lambda: PlanNotFound(
                f"{period} has no plan named {name!r}", field="name", name=name))
            if unit.pool(period).closed:
                raise PeriodClosed(f"period {period} is closed")
            found = unit.seen(record_id)
            record = (unit.store.private(found) if isinstance(found, PlanOfRecord)
                      else PlanOfRecord.start(period=period, actor=principal.actor))
            record.adopt(plan, rationale=rationale, actor=principal.actor)
            return [record]

        return self.transact(build, lambda: [plan_id, record_id, FundingPool.create_id(period)])


def plan_of_record(unit: UnitOfWork, period: str) -> AdoptedPlan | None:
    """The period's plan of record, as decisions are judged against it (None: none)."""
    found = unit.seen(PlanOfRecord.create_id(period))
    return found.adopted if isinstance(found, PlanOfRecord) else None
