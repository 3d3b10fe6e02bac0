"""Funding round rules (issue 16, part 4): the schedule's order, the phases' half-open
windows (each start inclusive, each end exclusive), the intake, decision and review checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import (
    InvalidInput,
    RoundChangeRefused,
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


# --- phase changes people make (decision 200) ---------------------------------------------

def changes(r: FundingRound) -> list[FundingRound.Rescheduled]:
    return [e for e in r.collect_events() if isinstance(e, FundingRound.Rescheduled)]


def test_closing_intake_early_is_an_event_with_the_schedule_before_and_after() -> None:
    r = a_round()
    now = OPENS + timedelta(days=3)
    r.close_intake(now=now, reason="Every P&L has submitted", actor="cxgov|cx")
    (e,) = changes(r)
    assert (e.change, e.phase_before, e.reason, e.actor) == (
        "close_intake", INTAKE, "Every P&L has submitted", "cxgov|cx")
    assert (e.previous_intake_closes, e.intake_closes) == (CLOSES, now)
    assert (e.review_deadline, e.decision_deadline) == (REVIEW_BY, DECIDE_BY)
    assert r.phase(now) == REVIEW  # the window's end is exclusive: closed from now
    with pytest.raises(RoundOutsideIntake):
        r.check_intake(now)


def test_opening_decisions_early_ends_the_review_now() -> None:
    r = a_round()
    now = CLOSES + timedelta(days=1)
    r.open_decisions(now=now, reason="Board meets early", actor="cxgov|cx")
    r.check_decision(now)
    (e,) = changes(r)
    assert (e.change, e.phase_before, e.previous_review_deadline, e.review_deadline) == (
        "open_decisions", REVIEW, REVIEW_BY, now)


@pytest.mark.parametrize(("change", "now", "phase"), [
    ("close_intake", OPENS - TICK, SCHEDULED), ("close_intake", CLOSES, REVIEW),
    ("open_decisions", CLOSES - TICK, INTAKE), ("open_decisions", REVIEW_BY, DECISION),
])
def test_a_change_the_phase_does_not_allow_is_refused(change: str, now: datetime,
                                                       phase: str) -> None:
    r = a_round()
    with pytest.raises(RoundChangeRefused) as caught:
        getattr(r, change)(now=now, reason="why", actor="a")
    assert caught.value.code == "round.change_refused"
    assert caught.value.details["phase"] == phase
    assert changes(r) == []


def test_deadlines_move_forward_and_back_but_not_before_now() -> None:
    r = a_round()
    now = CLOSES + timedelta(days=1)  # in review
    later = REVIEW_BY + timedelta(days=4)
    r.reschedule(now=now, change="reschedule", reason="Vendor quotes late", actor="a",
                 times={"review_deadline": later, "decision_deadline": later})
    assert (r.review_deadline, r.decision_deadline) == (later, later)
    with pytest.raises(RoundChangeRefused) as caught:  # the past stays the past
        r.reschedule(now=now, change="reschedule", reason="r", actor="a",
                     times={"review_deadline": now - TICK})
    assert caught.value.details["field"] == "review_deadline"
    # reopening intake during the review is allowed (decisions have not begun)
    r.reschedule(now=now, change="reschedule", reason="One P&L missed the deadline",
                 actor="a", times={"intake_closes": now + timedelta(days=2)})
    r.check_intake(now)
    assert len(changes(r)) == 2


LATER = DECIDE_BY + timedelta(days=7)


@pytest.mark.parametrize(("now", "times", "field"), [
    # intake opened: its opening is fixed
    (OPENS, {"intake_opens": OPENS + timedelta(days=1)}, "intake_opens"),
    # decisions began: no reopening intake (which needs the review moved too)
    (REVIEW_BY, {"intake_closes": LATER, "review_deadline": LATER,
                 "decision_deadline": LATER}, "intake_closes"),
    # nor extending the review
    (REVIEW_BY + TICK, {"review_deadline": DECIDE_BY}, "review_deadline"),
])
def test_what_has_happened_cannot_move(now: datetime, times: dict[str, datetime],
                                       field: str) -> None:
    r = a_round()
    with pytest.raises(RoundChangeRefused) as caught:
        r.reschedule(now=now, change="reschedule", reason="r", actor="a",
                     times=dict(times))
    assert caught.value.details["field"] == field
    assert changes(r) == []


def test_an_overdue_decision_deadline_may_be_extended() -> None:
    r = a_round()
    now = DECIDE_BY + timedelta(days=1)
    r.reschedule(now=now, change="reschedule", reason="Budget committee postponed",
                 actor="a", times={"decision_deadline": now + timedelta(days=7)})
    assert r.decision_deadline == now + timedelta(days=7)


@pytest.mark.parametrize(("times", "reason", "field"), [
    ({"review_deadline": CLOSES - TICK}, "r", "review_deadline"),  # out of order
    ({"review_deadline": REVIEW_BY}, "r", "schedule"),  # nothing changes
    ({"decision_deadline": DECIDE_BY + TICK}, "  ", "reason"),  # a reason is required
    ({"decision_deadline": DECIDE_BY.replace(tzinfo=None)}, "r", "decision_deadline"),
])
def test_a_malformed_reschedule_is_invalid(times: dict[str, datetime], reason: str,
                                           field: str) -> None:
    r = a_round()
    with pytest.raises(InvalidInput) as caught:
        r.reschedule(now=OPENS, change="reschedule", reason=reason, actor="a", times=times)
    assert caught.value.field == field
