"""CX executives: the register (scenarios, metrics), the scoring policy, decisions, and
cancelling funded work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.decisions import check_affordable, check_decidable, decide, release_tranche
from domain.errors import InvalidInput, PnlNotFound, PolicyNotAdopted
from domain.initiative import Gate, Initiative, Tranches
from domain.lifecycle import Outcome
from domain.metric import CustomerSuccessMetric
from domain.policy import (
    PolicyTerms,
    ScoringPolicy,
    check_guardrail_pnls,
    check_guardrails_in,
)
from domain.pool import FundingPool
from domain.registry import Scenario
from domain.text import optional_text
from domain.values import require_text
from governance.access import require_role
from governance.principal import CX_EXEC, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands
from governance.usecases.loop import review_item
from governance.usecases.plans import plan_of_record
from governance.usecases.pnl_owner import check_proposal
from governance.usecases.rounds import round_of


class CxExecUseCases(Commands):
    """What CX executives do (sponsoring cross-P&L work is a submission: pnl_owner.py)."""

    def define_scenario(self, principal: Principal, *, code: str, name: str,
                        pnl: str | None = None, description: str = "") -> CommandResult:
        """Define a customer's critical scenario."""
        require_role(principal, CX_EXEC, action="defining a scenario")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            if pnl is not None:
                unit.pnl(pnl)
            scenario = Scenario.define(code=code, name=name, pnl=pnl, description=description,
                                       actor=principal.actor)
            unit.require_absent(scenario.id, f"scenario {code} exists already", field="code")
            return [scenario]

        return self.transact(build)

    def define_metric(self, principal: Principal, *, code: str, customer_phrasing: str,
                      operational_metric: str, unit: str, direction: str, baseline: Decimal,
                      target: Decimal, scenario: str | None = None, pnl: str | None = None,
                      target_date: date | None = None,
                      customer_threshold: Decimal | None = None,
                      importance: Decimal | None = None,
                      satisfaction: Decimal | None = None,
                      kind: str = "customer") -> CommandResult:
        """Define a customer success metric (customer phrasing -> operational metric); `kind`
        "employee" makes it an employee-experience metric (issue 15)."""
        require_role(principal, CX_EXEC, action="defining a metric")

        def build(work: UnitOfWork) -> list[Aggregate]:
            if scenario is not None:
                work.scenario(scenario)
            if pnl is not None:
                work.pnl(pnl)
            metric = CustomerSuccessMetric.define(
                code=code, customer_phrasing=customer_phrasing,
                operational_metric=operational_metric, scenario=scenario, pnl=pnl, unit=unit,
                direction=direction, baseline=baseline, target=target, target_date=target_date,
                customer_threshold=customer_threshold, importance=importance,
                satisfaction=satisfaction, kind=kind, actor=principal.actor)
            work.require_absent(metric.id, f"metric {code} exists already", field="code")
            return [metric]

        return self.transact(build)

    def retarget_metric(self, principal: Principal, *, code: str,
                        baseline: Decimal | None = None, target: Decimal | None = None,
                        target_date: date | None = None, reason: str,
                        clear_target_date: bool = False) -> CommandResult:
        """Re-baseline or retarget a metric (or move its target date), with a reason: what is
        not given (None) is kept; `clear_target_date` drops the date."""
        require_role(principal, CX_EXEC, action="retargeting a metric")
        reason = require_text(reason, field="reason", max_length=2000)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            metric = unit.store.private(unit.metric(code))
            when = None if clear_target_date else (target_date or metric.target_date)
            metric.retarget(baseline=metric.baseline if baseline is None else baseline,
                            target=metric.target if target is None else target,
                            target_date=when, reason=reason, actor=principal.actor)
            return [metric]

        return self.transact(build)

    def map_operational_metrics(self, principal: Principal, *, code: str,
                                operational_metrics: list[dict[str, str]]) -> CommandResult:
        """Map a customer success metric to its operational metrics, each with its data
        source, aggregation rule and owning department (issue 15): the whole mapping,
        replacing the one before."""
        require_role(principal, CX_EXEC, action="mapping operational metrics")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            metric = unit.store.private(unit.metric(code))
            metric.map_operational(operational_metrics=operational_metrics,
                                   actor=principal.actor)
            return [metric]

        return self.transact(build)

    def carry_over(self, principal: Principal, *, initiative_id: UUID, to_period: str,
                   reason: str, cost: Decimal | None = None, code: str | None = None,
                   dependencies: tuple[str, ...] = ()) -> CommandResult:
        """Carry a deferred initiative (or one left undecided when its period closed) into
        `to_period`: the new initiative (same proposal, optionally a revised cost, linked by
        `carried_from`), the original's `CarriedOver` and the target pool's enlistment are
        saved in one transaction, under the target pool's turn. The result is the new one."""
        require_role(principal, CX_EXEC, action="carrying an initiative over")
        require_text(reason, field="reason", max_length=2000)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            original = unit.initiative(initiative_id)
            closed = unit.pool(original.period).closed
            pool = unit.pool(to_period)
            successor = original.carry_over(
                to_period=to_period, period_closed=closed, cost=cost, dependencies=dependencies,
                code=code or pool.next_code(), reason=reason, actor=principal.actor)
            check_proposal(unit, successor.proposal, pool, code=successor.code)
            pool.enlist(initiative_id=successor.id, code=successor.code, actor=principal.actor)
            return [pool, original, successor]

        pool_id = FundingPool.create_id(to_period)
        return self.transact(build, lambda: [pool_id, initiative_id], turn=pool_id)

    def adopt_policy(self, principal: Principal, *, terms: PolicyTerms,
                     rationale: str) -> CommandResult:
        """Adopt scoring terms as the next policy version. Guardrails that cannot hold
        together in an open period's pool (a minimum above its maximum or the pool, minimums
        of one kind or P&L above the pool) are refused, naming the period and the conflict."""
        require_role(principal, CX_EXEC, action="adopting a scoring policy")
        periods = self._opened_periods() if terms.guardrails else []

        def build(unit: UnitOfWork) -> list[Aggregate]:
            terms.check()
            for code in terms.weights:
                unit.metric(code)
            check_guardrail_pnls(terms.guardrails, lambda code: _registered(unit, code))
            for period in periods:
                pool = unit.pool(period)
                if not pool.closed:
                    check_guardrails_in(terms.guardrails, period=period, pool=pool.amount)
            try:
                policy = unit.store.private(unit.policy())
            except PolicyNotAdopted:
                policy = ScoringPolicy(actor=principal.actor)
            policy.adopt(terms=terms, rationale=rationale, actor=principal.actor)
            return [policy]

        return self.transact(build)

    def _opened_periods(self) -> list[str]:
        """Every period ever opened, from the log's pool openings (filtered by topic)."""
        found: list[str] = []
        start = 0
        while True:
            batch = self.recorder.select_notifications(
                start=start, limit=1000, topics=[FundingPool.Opened.TOPIC],
                inclusive_of_start=False)
            for notification in batch:
                opened = self.mapper.to_domain_event(notification)
                assert isinstance(opened, FundingPool.Opened)
                found.append(opened.period)
            if len(batch) < 1000:
                return found
            start = batch[-1].id

    def decide(self, principal: Principal, *, initiative_id: UUID, outcome: str,
               rationale: str = "", first_tranche: Decimal | None = None,
               gates: Sequence[Gate] = (), review: UUID | None = None) -> CommandResult:
        """Approve, reject or defer; comply or explain against the current recommendation
        (the rules: domain/decisions.py). A final approval may fund a first tranche and name
        the gates of the rest (first + gates == cost): only the first tranche is committed.

        An approval saves the pool and the initiative in one transaction; a lost race reloads
        and re-decides on fresh state, so the pool is never overspent.
        """
        require_role(principal, CX_EXEC, action="deciding on an initiative")
        chosen = Outcome.parse(outcome)
        rationale = optional_text(rationale, field="rationale", max_length=4000)
        if (first_tranche is not None or gates) and chosen != Outcome.APPROVE:
            raise InvalidInput("only an approval funds tranches", field="first_tranche")

        def build(unit: UnitOfWork) -> tuple[Aggregate, ...]:
            # refused before queueing for the pool's turn
            period = check_decidable(unit.initiative(initiative_id), actor=principal.actor).period
            running = round_of(unit, period)  # issue 16, part 4: a round's decision phase
            if running is not None:
                running.check_decision(self.clock())
            if chosen == Outcome.APPROVE:
                unit.take_turn(FundingPool.create_id(period))

            def settle() -> tuple[Initiative, int, PolicyTerms, FundingPool]:
                initiative = check_decidable(unit.initiative(initiative_id),
                                             actor=principal.actor)
                version, terms = unit.policy_terms()
                pool = unit.pool(period)
                check_affordable(initiative, pool, chosen, plan(initiative))  # a lost race
                return initiative, version, terms, pool

            def plan(initiative: Initiative) -> Tranches | None:
                return (Tranches.plan(initiative.cost, first_tranche, gates)
                        if first_tranche is not None or gates else None)

            # everything the decision rests on, in one snapshot at `ranking_position`; the
            # period's assessment brought forward from the last decision's when it can be
            ranking_position, initiative, version, terms, pool, assessment = self.judged(
                unit, period, initiative_id, settle)
            tranches = plan(initiative)
            changed = decide(initiative, pool, actor=principal.actor, outcome=chosen,
                             rationale=rationale, assessment=assessment, terms=terms,
                             policy_version=version, ranking_position=ranking_position,
                             decision_id=uuid4(), tranches=tranches,
                             plan=plan_of_record(unit, period)).changed  # issue 16
            if review is None:
                return changed
            # taken in a review (issue 14): recorded on it in the same transaction
            return (*changed, review_item(unit, review, principal, item="decide",
                                          initiative=initiative_id, note=rationale))

        return self.transact(build, lambda: [initiative_id, ScoringPolicy.create_id()])

    def release_tranche(self, principal: Principal, *, initiative_id: UUID, gate: str,
                        rationale: str = "") -> CommandResult:
        """Release a gate's tranche of approved work: a decision with the approval's rules
        (domain/decisions.py release_tranche): not by an author, within what the pool has
        (under its turn), comply or explain against the ranking as if the initiative asked
        for the tranche now, four eyes judged on the tranche."""
        require_role(principal, CX_EXEC, action="releasing a tranche")
        rationale = optional_text(rationale, field="rationale", max_length=4000)

        def build(unit: UnitOfWork) -> tuple[Aggregate, ...]:
            period = unit.initiative(initiative_id).period
            unit.initiative(initiative_id).check_tranche(gate)  # refused before the turn
            unit.take_turn(FundingPool.create_id(period))
            ranking_position = unit.period_snapshot(initiative_id, period)
            initiative = unit.initiative(initiative_id)
            amount = initiative.check_tranche(gate)
            version, terms = unit.policy_terms()
            pool = unit.pool(period)
            pool.require_funds(amount)  # cheap and final: a lost race ends here
            others = unit.initiatives([i for i in pool.initiatives if i != initiative.id])
            contenders = [initiative if i == initiative.id else others[i]
                          for i in pool.initiatives]
            assessment = self.assess_with(unit, pool, contenders, terms,
                                          asking=(initiative.code, amount))
            return release_tranche(initiative, pool, gate=gate, actor=principal.actor,
                                   rationale=rationale, assessment=assessment, terms=terms,
                                   policy_version=version, ranking_position=ranking_position,
                                   decision_id=uuid4()).changed

        return self.transact(build, lambda: [initiative_id, ScoringPolicy.create_id()])

    def cancel_initiative(self, principal: Principal, *, initiative_id: UUID,
                          reason: str, review: UUID | None = None) -> CommandResult:
        """Stop (cancel) approved work and release what it has not spent (commitment - spent,
        never below 0) back to the pool, in one transaction under the pool's turn. With
        `review`, the stop is recorded on that review in the same transaction."""
        require_role(principal, CX_EXEC, action="stopping funded work")
        require_text(reason, field="reason", max_length=2000)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            initiative.check_cancellable()
            pool = unit.pool(initiative.period, writing=True)
            amount = initiative.unspent
            if amount > 0:
                pool.release(initiative_id=initiative.id, reason=reason,
                             actor=principal.actor, amount=amount)
            initiative.cancel(reason=reason, amount_released=amount, actor=principal.actor)
            changed: list[Aggregate] = [pool, initiative] if amount > 0 else [initiative]
            if review is not None:  # the stop as an item of the review it was taken in
                changed.append(review_item(unit, review, principal, item="stop",
                                           initiative=initiative_id, note=reason))
            return changed

        return self.transact(build)

    def stop_initiative(self, principal: Principal, *, initiative_id: UUID,
                        reason: str, review: UUID | None = None) -> CommandResult:
        """Stop approved work: `cancel_initiative` by the name users know it by."""
        return self.cancel_initiative(principal, initiative_id=initiative_id, reason=reason,
                                      review=review)

    def descope_initiative(self, principal: Principal, *, initiative_id: UUID,
                           new_cost: Decimal, reason: str,
                           review: UUID | None = None) -> CommandResult:
        """Cut an approved (or delivered) initiative's commitment to `new_cost` (spent <=
        new_cost < commitment) with a written reason; the difference goes back to the pool
        in the same transaction, under the pool's turn."""
        require_role(principal, CX_EXEC, action="descoping funded work")
        require_text(reason, field="reason", max_length=2000)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            initiative.check_descopable(new_cost)  # refused before queueing for the turn
            pool = unit.pool(initiative.period, writing=True)
            released = initiative.descope(new_cost=new_cost, reason=reason,
                                          actor=principal.actor)
            pool.release(initiative_id=initiative.id, reason=reason, actor=principal.actor,
                         amount=released)
            if review is not None:  # taken in a review (issue 14): recorded on it
                return [pool, initiative, review_item(unit, review, principal, item="descope",
                                                      initiative=initiative_id, note=reason)]
            return [pool, initiative]

        return self.transact(build)


def _registered(unit: UnitOfWork, code: str) -> bool:
    """Whether the P&L register holds `code`."""
    try:
        unit.pnl(code)
    except PnlNotFound:
        return False
    return True
