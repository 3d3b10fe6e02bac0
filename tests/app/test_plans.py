"""Funding plans through the application (issue 16, in memory): a plan's selection under its
budget, policy version and forced initiatives; refusals write nothing; the plan of record
moves comply or explain from the cut line to the plan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import (
    AlreadyExists,
    InvalidTransition,
    JustificationRequired,
    PlanInfeasible,
    PlanNotFound,
)
from domain.plans import Forced, FundingPlan, PlanOfRecord
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from tests.builders import (
    CX_CHIEF,
    CX_DEPUTY,
    FINANCE_LEAD,
    RB_OWNER,
    M,
    World,
    rejected_without_writing,
)


@pytest.fixture
def four(world: World) -> World:
    """I01 best .. I04 worst on M1 (5 M each), I04 cross-P&L."""
    world.submit("I01", impacts=(("M1", "24", "0.9"),))
    world.submit("I02", impacts=(("M1", "48", "0.7"),))
    world.submit("I03", impacts=(("M1", "72", "0.5"),))
    world.submit("I04", impacts=(("M1", "96", "0.3"),), by=CX_CHIEF, pnl=None,
                 kind="cx_infrastructure")
    return world


def plan(world: World, name: str) -> FundingPlan:
    found = world.gov.repository.get(FundingPlan.create_id(world.period, name))
    assert isinstance(found, FundingPlan)
    return found


def test_a_plan_selects_within_its_budget_and_honours_forced_initiatives(four: World) -> None:
    gov = four.gov
    gov.save_plan(FINANCE_LEAD, period="FY2027", name="Lean", budget=10 * M)
    assert plan(four, "lean").codes == ["I01", "I02"]  # names are case-insensitive
    gov.save_plan(CX_CHIEF, period="FY2027", name="Cross-P&L first", budget=10 * M,
                  forced_in=[Forced("I04", "infrastructure gets done no other way")],
                  forced_out=[Forced("I02", "overlaps a vendor fix")])
    assert sorted(plan(four, "Cross-P&L first").codes) == ["I01", "I04"]


def test_refused_plans_write_nothing(four: World) -> None:
    gov = four.gov
    gov.save_plan(FINANCE_LEAD, period="FY2027", name="Lean", budget=10 * M)
    rejected_without_writing(gov, AlreadyExists, lambda: gov.save_plan(
        FINANCE_LEAD, period="FY2027", name=" LEAN ", budget=20 * M))
    rejected_without_writing(gov, Forbidden, lambda: gov.save_plan(
        RB_OWNER, period="FY2027", name="Mine", budget=20 * M))
    error = rejected_without_writing(gov, PlanInfeasible, lambda: gov.save_plan(
        FINANCE_LEAD, period="FY2027", name="Too much", budget=8 * M,
        forced_in=[Forced("I03", "a"), Forced("I04", "b")]))
    assert "I04" in str(error)
    rejected_without_writing(gov, PlanInfeasible, lambda: gov.save_plan(
        FINANCE_LEAD, period="FY2027", name="Both", budget=8 * M,
        forced_in=[Forced("I03", "a")], forced_out=[Forced("I03", "b")]))
    rejected_without_writing(gov, PlanInfeasible, lambda: gov.save_plan(
        FINANCE_LEAD, period="FY2027", name="Unknown", budget=8 * M,
        forced_in=[Forced("I99", "a")]))


def test_the_plan_of_record_is_what_decisions_are_judged_against(four: World) -> None:
    gov = four.gov
    i02 = gov.initiative_id("FY2027", "I02")
    i04 = gov.initiative_id("FY2027", "I04")
    gov.save_plan(FINANCE_LEAD, period="FY2027", name="Cross-P&L first", budget=10 * M,
                  forced_in=[Forced("I04", "infrastructure")],
                  forced_out=[Forced("I02", "overlap")])
    rejected_without_writing(gov, Forbidden, lambda: gov.adopt_plan(
        FINANCE_LEAD, period="FY2027", name="Cross-P&L first", rationale="x"))
    rejected_without_writing(gov, PlanNotFound, lambda: gov.adopt_plan(
        CX_CHIEF, period="FY2027", name="Nope", rationale="x"))
    # before adoption, the cut line (100 M: everything recommended): I02 approves freely
    gov.adopt_plan(CX_CHIEF, period="FY2027", name="Cross-P&L first", rationale="Seybold")
    rejected_without_writing(gov, InvalidTransition, lambda: gov.adopt_plan(
        CX_DEPUTY, period="FY2027", name="cross-p&l first", rationale="again"))
    error = rejected_without_writing(gov, JustificationRequired, lambda: gov.decide(
        CX_CHIEF, initiative_id=i02, outcome="approve"))
    assert "outside the plan of record" in str(error)
    rejected_without_writing(gov, JustificationRequired, lambda: gov.decide(
        CX_DEPUTY, initiative_id=i04, outcome="reject"))
    done = gov.decide(CX_DEPUTY, initiative_id=i04, outcome="approve")  # in the plan
    assert done.decision is not None and not done.decision.departure
    assert done.decision.plan == "Cross-P&L first" and done.decision.recommended
    explained = gov.decide(CX_CHIEF, initiative_id=i02, outcome="approve",
                           rationale="the vendor fix slipped")
    assert explained.decision is not None and explained.decision.departure
    record = gov.repository.get(PlanOfRecord.create_id("FY2027"))
    assert isinstance(record, PlanOfRecord) and record.adopted is not None
    assert record.adopted.name == "Cross-P&L first"


def test_without_a_plan_of_record_the_cut_line_judges(four: World) -> None:
    done = four.gov.decide(CX_CHIEF, initiative_id=four.gov.initiative_id("FY2027", "I03"),
                           outcome="approve")
    assert done.decision is not None and done.decision.plan is None
    assert not done.decision.departure and done.decision.recommended
    assert Decimal(0) < four.gov.pool("FY2027").available


def test_plans_side_by_side_live_and_as_of_any_position(four: World) -> None:
    gov = four.gov
    models = in_memory(gov).read_models()
    gov.save_plan(FINANCE_LEAD, period="FY2027", name="Lean", budget=10 * M)
    after_lean = gov.position()
    gov.save_plan(CX_CHIEF, period="FY2027", name="Cross-P&L first", budget=10 * M,
                  forced_in=[Forced("I04", "infrastructure")],
                  forced_out=[Forced("I02", "overlap")], policy_version=1)
    gov.adopt_plan(CX_CHIEF, period="FY2027", name="lean", rationale="value first")
    _, listed = models.plans("FY2027")
    assert listed is not None and listed.plan_of_record == "Lean"
    assert [(p.name, p.adopted) for p in listed.plans] == [("Lean", True),
                                                          ("Cross-P&L first", False)]
    assert [(a.name, a.replaces) for a in listed.adoptions] == [("Lean", None)]
    _, side = models.compare_plans("FY2027", ["lean", "Cross-P&L first"])
    assert side is not None and side.in_all == ["I01"]
    assert [(d.code, d.funded_by) for d in side.differences] == [
        ("I02", ["Lean"]), ("I04", ["Cross-P&L first"])]
    assert [s.setting for s in side.settings] == ["forced_in", "forced_out"]
    lean, cross = side.plans
    assert Decimal(lean.cost) == 10 * M and Decimal(lean.headroom) == 0
    assert [(s.key, s.cost_share) for s in lean.by_pnl] == [("RB", "100.00")]
    assert [(s.key, s.cost_share) for s in cross.by_kind] == [("cx_infrastructure", "50.00"),
                                                             ("pnl", "50.00")]
    assert [(m.metric, m.initiatives) for m in cross.metrics_moved] == [("M1", ["I01", "I04"])]
    # as of the position after the first plan: one plan, none adopted
    _, then = models.plans("FY2027", as_of=str(after_lean))
    assert then is not None and [p.name for p in then.plans] == ["Lean"]
    assert then.plan_of_record is None and not then.plans[0].adopted
    with pytest.raises(PlanNotFound):
        models.compare_plans("FY2027", ["Cross-P&L first"], as_of=str(after_lean))
    summaries = [e.summary for e in models.audit_events(limit=500)]
    assert any(s.startswith("FundingPlan.Saved: name=Lean") and "funds=2" in s
               for s in summaries)
    assert any(s.startswith("PlanOfRecord.Adopted: name=Lean") for s in summaries)
