"""The loop's commands and read model in memory: who may do what, refusals write nothing,
benefit realisation and at-risk, decisions waiting, as of a position."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.benefits import BenefitPoint
from domain.errors import AlreadyExists, InvalidTransition, SignalNotFound
from domain.values import Reading
from governance.app import Governance
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from projections.loop_source import ReadSideSignals
from projections.query import ReadModels
from projections.signals import decisions_waiting
from tests.builders import (
    CX_CHIEF,
    CX_DEPUTY,
    FINANCE_LEAD,
    INGESTER,
    INS_OWNER,
    RB_OWNER,
    World,
    rejected_without_writing,
)


@pytest.fixture
def loop(gov: Governance) -> Iterator[tuple[Governance, ReadModels, World]]:
    models = in_memory(gov).read_models()
    gov.signal_source = ReadSideSignals(lambda: models)
    yield gov, models, World(gov)


def test_benefits_are_planned_for_approved_work_by_its_pnl_owners_or_cx(
        loop: tuple[Governance, ReadModels, World]) -> None:
    gov, models, world = loop
    i = world.submit("I01", cost_m="5", impacts=(("M2", "80", "0.5"),))
    points = [BenefitPoint("M2", date(2026, 6, 30), Decimal(74)),
              BenefitPoint("M2", date(2026, 12, 31), Decimal(80))]
    rejected_without_writing(gov, InvalidTransition, lambda: gov.plan_benefits(
        RB_OWNER, initiative_id=i, owner="Head of Service", points=points))
    gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    rejected_without_writing(gov, Forbidden, lambda: gov.plan_benefits(
        INS_OWNER, initiative_id=i, owner="Head of Service", points=points))
    rejected_without_writing(gov, Forbidden, lambda: gov.plan_benefits(
        FINANCE_LEAD, initiative_id=i, owner="Head of Service", points=points))
    gov.plan_benefits(RB_OWNER, initiative_id=i, owner="Head of Service", points=points)
    rejected_without_writing(gov, AlreadyExists, lambda: gov.plan_benefits(
        CX_CHIEF, initiative_id=i, owner="Someone", points=points))

    # June: 71 read against 74 promised (realised 3 of 6 points: 50%, at the threshold)
    gov.record_observations(INGESTER, metric="M2", batch_key="jun", source="survey",
                            readings=[Reading(Decimal(71), datetime(2026, 6, 20, tzinfo=UTC))])
    plan = models.loop().benefit_plans("FY2027")[0]
    assert [(p.by, p.actual, p.realisation, p.due) for p in plan.points] == [
        ("2026-06-30", "71", "0.5", True), ("2026-12-31", "71", "0.25", False)]
    assert plan.at_risk == [] and models.loop().signals(kind="benefit_at_risk") == []
    # the scorecard's card shows the plan beside the claim, with the same realisation figure
    card = next(c for c in models.scorecard("FY2027") if c.metric == "M2")
    assert [(a.code, a.benefit_owner, [(p.by, p.actual, p.realization_percent)
                                        for p in a.benefit_points])
            for a in card.initiatives] == [
        ("I01", "Head of Service", [("2026-06-30", "71", "50.0"), ("2026-12-31", "71", "25.00")])]

    # revised down with a reason: 80 by June is now promised; 71 realises 25% -> at risk
    gov.revise_benefits(CX_CHIEF, initiative_id=i, reason="vendor slipped",
                        points=[BenefitPoint("M2", date(2026, 6, 30), Decimal(80))])
    found = models.loop().signals(kind="benefit_at_risk")
    assert [(s.key, s.role, s.since, s.state) for s in found] == [
        ("benefit_at_risk:FY2027:I01:M2", "pnl_owner", "2026-06-30T00:00:00+00:00", "open")]
    assert models.loop().benefit_plans()[0].at_risk == ["M2"]
    card = next(c for c in models.scorecard("FY2027") if c.metric == "M2")
    assert [p.by for p in card.initiatives[0].benefit_points] == ["2026-06-30"]
    # the benefit owner's P&L owner may answer it; a CX executive too
    gov.acknowledge_signal(RB_OWNER, key=found[0].key, note="catching up in Q3")
    assert models.loop().signals(kind="benefit_at_risk")[0].state == "acknowledged"


def test_answering_a_signal_needs_it_open_and_the_right_role(
        loop: tuple[Governance, ReadModels, World]) -> None:
    gov, models, world = loop
    rejected_without_writing(gov, SignalNotFound, lambda: gov.acknowledge_signal(
        CX_CHIEF, key="metric_off_track:FY2027:M2", note="nothing there"))
    i = world.submit("I01", cost_m="12")  # above the 10 M four-eyes threshold
    gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    waiting = models.loop().signals(kind="second_approval_waiting")
    assert [(s.key, s.state, s.role) for s in waiting] == [
        ("second_approval_waiting:FY2027:I01", "open", "cx_exec")]
    rejected_without_writing(gov, Forbidden, lambda: gov.acknowledge_signal(
        RB_OWNER, key=waiting[0].key, note="not mine to answer"))
    rejected_without_writing(gov, Forbidden, lambda: gov.acknowledge_signal(
        INGESTER, key=waiting[0].key, note="no"))
    review = gov.open_review(CX_CHIEF, period="FY2027", title="Weekly").id
    gov.close_review(CX_CHIEF, review_id=review, minutes="Nothing decided.")
    rejected_without_writing(gov, InvalidTransition, lambda: gov.acknowledge_signal(
        CX_CHIEF, key=waiting[0].key, note="in a closed review", review=review))
    written = gov.resolve_signal(CX_CHIEF, key=waiting[0].key, note="Dana approves Monday")
    assert models.loop().signals(kind="second_approval_waiting")[0].state == "resolved"
    # as of before the resolution it was open
    then = models.loop(as_of=written.position - 1)
    assert then.signals(kind="second_approval_waiting")[0].state == "open"
    assert [r.closed for r in then.reviews()] == [True]


def test_a_submission_undecided_for_the_policys_days_raises_a_signal(
        loop: tuple[Governance, ReadModels, World]) -> None:
    gov, models, world = loop
    world.submit("I01")
    state = models.state_at(models.position())
    submitted = state.initiatives[str(gov.initiative_id("FY2027", "I01"))].submitted_at
    assert decisions_waiting(state, submitted + timedelta(days=29)) == []
    found = decisions_waiting(state, submitted + timedelta(days=31))
    assert [(s["key"], s["since"]) for s in found] == [
        ("submission_undecided:FY2027:I01", submitted + timedelta(days=30))]


def test_decisions_taken_in_a_review_answer_its_signals_naming_the_initiative(
        loop: tuple[Governance, ReadModels, World]) -> None:
    gov, models, world = loop
    big = world.submit("I01", cost_m="12")  # above the 10 M four-eyes threshold
    gov.decide(CX_CHIEF, initiative_id=big, outcome="approve")
    review = gov.open_review(CX_CHIEF, period="FY2027", title="Weekly").id
    gov.decide(CX_DEPUTY, initiative_id=big, outcome="approve", review=review)
    gov.descope_initiative(CX_CHIEF, initiative_id=big, new_cost=Decimal(9_000_000),
                           reason="phase 2 dropped", review=review)
    found = models.loop()
    items = found.review(str(review)).items  # type: ignore[union-attr]
    key = "second_approval_waiting:FY2027:I01"
    assert [(i.item, i.answers) for i in items] == [("decide", [key]), ("descope", [key])]
    assert [(a.key, a.answered_by) for a in found.answers()] == [(key, "decision")]
    assert [(s.key, s.state) for s in found.signals(kind="second_approval_waiting")] == [
        (key, "closed")]
