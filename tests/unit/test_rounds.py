"""Funding round rules (issue 16, part 4): the schedule's order, the phases' half-open
windows (each start inclusive, each end exclusive), the intake, decision and review checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import (
    InvalidInput,
    RoundClosedForReview,
    RoundNotInDecision,
    RoundOutsideIntake,
)
from domain.rounds import DECISION, INTAKE, REVIEW, SCHEDULED, FundingRound

OPENS = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(days=14)
REVIEW_BY = CLOSES + timedelta(days=7)
DECIDE_BY = REVIEW_BY + timedelta(days=7)
TICK = timedelta(microseconds=1)


def a_round() -> FundingRound:
    return FundingRound.open(period="FY2027", intake_opens=OPENS, intake_closes=CLOSES,
                             review_deadline=REVIEW_BY, decision_deadline=DECIDE_BY,
                             actor="cxgov|fiona")


@pytest.mark.parametrize(("now", "phase"), [
    (OPENS - TICK, SCHEDULED), (OPENS, INTAKE), (CLOSES - TICK, INTAKE), (CLOSES, REVIEW),
    (REVIEW_BY - TICK, REVIEW), (REVIEW_BY, DECISION), (DECIDE_BY + timedelta(days=30), DECISION),
])
def test_phase_windows_are_half_open(now: datetime, phase: str) -> None:
    assert a_round().phase(now) == phase


def test_intake_accepts_only_inside_its_window() -> None:
    r = a_round()
    r.check_intake(OPENS)
    r.check_intake(CLOSES - TICK)
    for outside in (OPENS - TICK, CLOSES, REVIEW_BY):
        with pytest.raises(RoundOutsideIntake) as caught:
            r.check_intake(outside)
        assert caught.value.code == "round.outside_intake"


def test_decisions_only_from_the_review_deadline() -> None:
    r = a_round()
    for early in (OPENS, CLOSES, REVIEW_BY - TICK):
        with pytest.raises(RoundNotInDecision) as caught:
            r.check_decision(early)
        assert caught.value.details["phase"] in (INTAKE, REVIEW)
    r.check_decision(REVIEW_BY)
    r.check_decision(DECIDE_BY + TICK)  # the decision deadline refuses nothing


@pytest.mark.parametrize(("times", "field"), [
    ((OPENS, OPENS, REVIEW_BY, DECIDE_BY), "intake_closes"),
    ((OPENS, CLOSES, CLOSES - TICK, DECIDE_BY), "review_deadline"),
    ((OPENS, CLOSES, REVIEW_BY, REVIEW_BY - TICK), "decision_deadline"),
    ((OPENS.replace(tzinfo=None), CLOSES, REVIEW_BY, DECIDE_BY), "intake_opens"),
])
def test_a_schedule_out_of_order_or_naive_is_refused(times: tuple[datetime, ...],
                                                      field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        FundingRound.open(period="FY2027", intake_opens=times[0], intake_closes=times[1],
                          review_deadline=times[2], decision_deadline=times[3], actor="a")
    assert caught.value.field == field


def test_an_empty_review_is_allowed() -> None:
    r = FundingRound.open(period="FY2027", intake_opens=OPENS, intake_closes=CLOSES,
                          review_deadline=CLOSES, decision_deadline=CLOSES, actor="a")
    assert r.phase(CLOSES) == DECISION


def test_feasibility_marks_from_intake_to_the_review_deadline() -> None:
    r = a_round()
    mark = {"initiative_id": uuid4(), "code": "I001", "pnl": "RB", "actor": "a"}
    r.mark(verdict="feasible", note=None, now=OPENS, **mark)
    r.mark(verdict="needs_information", note="Which vendor?", now=REVIEW_BY - TICK, **mark)
    assert r.marks == {"I001": "needs_information"}
    with pytest.raises(InvalidInput, match="information"):
        r.mark(verdict="needs_information", note="", now=CLOSES, **mark)
    with pytest.raises(InvalidInput):
        r.mark(verdict="maybe", note="x", now=CLOSES, **mark)
    for outside in (OPENS - TICK, REVIEW_BY):
        with pytest.raises(RoundClosedForReview):
            r.mark(verdict="feasible", note=None, now=outside, **mark)
    assert len(r.pending_events) == 3  # opened + two marks
