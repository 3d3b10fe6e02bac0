"""Funding plans in the domain (issue 16): the plan of record as comply or explain's
reference, one rule each; and the read side's plans surviving a fold snapshot's core."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.decisions import Decision, decide
from domain.errors import JustificationRequired
from domain.lifecycle import Outcome
from domain.plans import AdoptedPlan
from projections.codec import dump_core, load_core
from projections.plans import plans_list
from projections.state import PeriodState, PortfolioState
from tests.unit.aggregates import CHIEF, TERMS, M, a_pool, assessment_of, submitted

PLAN = AdoptedPlan("Lean", frozenset({"I02"}))


def judged(code: str, outcome: Outcome, rationale: str = "",
           plan: AdoptedPlan | None = PLAN) -> Decision:
    pool = a_pool()
    first, second = submitted(pool, "I01"), submitted(pool, "I02")
    chosen = first if code == "I01" else second
    return decide(chosen, pool, actor=CHIEF, outcome=outcome, rationale=rationale,
                  assessment=assessment_of(pool, first, second), terms=TERMS,
                  policy_version=1, ranking_position=9, decision_id=UUID(int=1), plan=plan)


def test_approving_what_the_plan_does_not_fund_needs_a_justification() -> None:
    with pytest.raises(JustificationRequired, match="outside the plan of record 'Lean'"):
        judged("I01", Outcome.APPROVE)  # recommended by the cut line, not in the plan
    record = judged("I01", Outcome.APPROVE, "board asked").record
    assert (record.departure, record.recommended, record.plan) == (True, False, "Lean")


def test_rejecting_or_deferring_what_the_plan_funds_needs_a_justification() -> None:
    for outcome in (Outcome.REJECT, Outcome.DEFER):
        with pytest.raises(JustificationRequired, match="in the plan of record"):
            judged("I02", outcome)


def test_complying_with_the_plan_needs_no_word_and_no_plan_means_the_cut_line() -> None:
    record = judged("I02", Outcome.APPROVE).record
    assert (record.departure, record.recommended, record.plan) == (False, True, "Lean")
    assert not judged("I01", Outcome.REJECT).record.departure  # outside the plan
    before = judged("I01", Outcome.APPROVE, plan=None).record
    assert (before.departure, before.plan) == (False, None)


def test_plans_survive_a_fold_snapshot_core() -> None:
    state = PortfolioState(position=7)
    state.funding_plans["p1"] = {
        "id": "p1", "period": "FY2027", "name": "Lean", "description": "", "budget": 10 * M,
        "policy_version": 1, "forced_in": [{"code": "I02", "reason": "r"}], "forced_out": [],
        "computed_at": 5, "available": 10 * M,
        "items": [{"code": "I02", "cost": 5 * M, "value": Decimal("1.5"), "rank": 2,
                   "pnl": None, "kind": "cx_process", "funded": False, "forced": True,
                   "metrics": ["M1"]}], "unmet": [], "saved_by": "x",
        "saved_at": "2026-01-01T00:00:00+00:00", "position": 6}
    state.plans_of_record["FY2027"] = {"period": "FY2027", "adoptions": [{
        "plan_id": "p1", "name": "Lean", "rationale": "why", "replaces": None, "actor": "x",
        "at": "2026-01-02T00:00:00+00:00", "position": 7}]}

    state.periods["FY2027"] = PeriodState("FY2027", "USD", 100 * M, Decimal(10),
                                          datetime(2026, 1, 1, tzinfo=UTC))
    loaded, _ = load_core(dump_core(state, {}))
    assert plans_list(loaded, "FY2027") == plans_list(state, "FY2027")
    assert plans_list(loaded, "FY2027").plans[0].by_kind[0].cost_share == "100.00"
