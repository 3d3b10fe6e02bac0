"""Funding rounds through the application (issue 16, part 4), with the app's clock set by the
test: submissions only in the intake window, decisions only in the decision phase, feasibility
marks in between; refusals write nothing; the round read live and as of a position; the audit
log's rows; a period without a round is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import (
    AlreadyExists,
    InvalidInput,
    RoundChangeRefused,
    RoundClosedForReview,
    RoundNotFound,
    RoundNotInDecision,
    RoundOutsideIntake,
)
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from tests.builders import CX_CHIEF, FINANCE_LEAD, RB_OWNER, World, rejected_without_writing

OPENS = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(days=14)
REVIEW_BY = CLOSES + timedelta(days=7)
DECIDE_BY = REVIEW_BY + timedelta(days=7)


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(world: World) -> Clock:
    found = Clock(OPENS - timedelta(days=1))
    world.gov.clock = found
    return found


def open_round(world: World) -> None:
    world.gov.open_round(FINANCE_LEAD, period=world.period, intake_opens=OPENS,
                         intake_closes=CLOSES, review_deadline=REVIEW_BY,
                         decision_deadline=DECIDE_BY)


def test_a_round_runs_intake_review_and_decision(world: World, clock: Clock) -> None:
    gov = world.gov
    open_round(world)
    rejected_without_writing(gov, RoundOutsideIntake, lambda: world.submit("I001"))
    clock.now = OPENS  # the window's start is inclusive
    first = world.submit("I001")
    clock.now = CLOSES - timedelta(microseconds=1)
    second = world.submit("I002", title="Second")
    rejected_without_writing(gov, RoundNotInDecision, lambda: gov.decide(
        CX_CHIEF, initiative_id=first, outcome="approve"))
    clock.now = CLOSES  # the window's end is exclusive
    rejected_without_writing(gov, RoundOutsideIntake, lambda: world.submit("I003"))
    gov.mark_feasibility(FINANCE_LEAD, period=world.period, code="I001", verdict="feasible")
    gov.mark_feasibility(CX_CHIEF, period=world.period, code="I002",
                         verdict="needs_information", note="Which vendor?")
    rejected_without_writing(gov, RoundNotInDecision, lambda: gov.decide(
        CX_CHIEF, initiative_id=second, outcome="reject", rationale="no"))
    models = in_memory(gov).read_models()
    in_review = gov.position()
    _, seen = models.funding_round(world.period, now=clock.now)
    assert seen is not None
    assert (seen.phase, seen.accepts_submissions, seen.accepts_decisions) == (
        "review", False, False)
    assert seen.next_deadline == REVIEW_BY.isoformat()
    assert [(m.code, m.verdict, m.note) for m in seen.feasibility] == [
        ("I001", "feasible", ""), ("I002", "needs_information", "Which vendor?")]
    clock.now = REVIEW_BY
    rejected_without_writing(gov, RoundClosedForReview, lambda: gov.mark_feasibility(
        FINANCE_LEAD, period=world.period, code="I002", verdict="feasible"))
    gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
    assert world.status(first) == "approved"
    _, now = models.funding_round(world.period, now=DECIDE_BY)
    assert now is not None and (now.phase, now.overdue, now.next_deadline) == (
        "decision", True, None)
    _, then = models.funding_round(world.period, as_of=in_review)
    assert then is not None and len(then.feasibility) == 2
    rows = models.audit_events(after=0, limit=1000)
    summaries = [r.summary for r in rows if "FundingRound" in r.summary]
    assert summaries == [
        "FundingRound.Opened: period=FY2027 intake_opens=2027-01-10T09:00:00+00:00 "
        "intake_closes=2027-01-24T09:00:00+00:00 review_deadline=2027-01-31T09:00:00+00:00 "
        "decision_deadline=2027-02-07T09:00:00+00:00",
        "FundingRound.FeasibilityMarked: period=FY2027 code=I001 verdict=feasible",
        "FundingRound.FeasibilityMarked: period=FY2027 code=I002 verdict=needs_information "
        "note=Which vendor?"]


def test_refused_round_commands_write_nothing(world: World, clock: Clock) -> None:
    gov = world.gov
    rejected_without_writing(gov, RoundNotFound, lambda: gov.mark_feasibility(
        FINANCE_LEAD, period=world.period, code="I001", verdict="feasible"))
    rejected_without_writing(gov, Forbidden, lambda: gov.open_round(
        RB_OWNER, period=world.period, intake_opens=OPENS, intake_closes=CLOSES,
        review_deadline=REVIEW_BY, decision_deadline=DECIDE_BY))
    rejected_without_writing(gov, InvalidInput, lambda: gov.open_round(
        FINANCE_LEAD, period=world.period, intake_opens=CLOSES, intake_closes=OPENS,
        review_deadline=REVIEW_BY, decision_deadline=DECIDE_BY))
    open_round(world)
    rejected_without_writing(gov, AlreadyExists, lambda: open_round(world))
    clock.now = OPENS
    world.submit("I001")
    rejected_without_writing(gov, Forbidden, lambda: gov.mark_feasibility(
        RB_OWNER, period=world.period, code="I001", verdict="feasible"))


def test_a_period_without_a_round_takes_submissions_and_decisions_any_time(
        world: World, clock: Clock) -> None:
    first = world.submit("I001")
    world.gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
    assert world.status(first) == "approved"
    _, found = in_memory(world.gov).read_models().funding_round(world.period)
    assert found is None


def test_phase_changes_people_make_are_events_read_as_of_any_position(
        world: World, clock: Clock) -> None:
    """Decision 200: close intake early, reopen it during the review, open decisions early;
    each with a reason, by a CX executive only, refused writing nothing when it makes no
    sense; the round read live and as of each change; the audit log's rows."""
    gov = world.gov
    open_round(world)
    clock.now = OPENS + timedelta(days=2)
    world.submit("I001")
    rejected_without_writing(gov, Forbidden, lambda: gov.change_round(
        FINANCE_LEAD, period=world.period, change="close_intake", reason="done"))
    rejected_without_writing(gov, RoundChangeRefused, lambda: gov.change_round(
        CX_CHIEF, period=world.period, change="open_decisions", reason="skip"))
    rejected_without_writing(gov, InvalidInput, lambda: gov.change_round(
        CX_CHIEF, period=world.period, change="close_intake", reason=""))
    gov.change_round(CX_CHIEF, period=world.period, change="close_intake",
                     reason="Every P&L has submitted")
    closed_at = gov.position()
    closed_now = clock.now
    rejected_without_writing(gov, RoundOutsideIntake, lambda: world.submit("I002"))
    clock.now += timedelta(hours=1)  # in review: one P&L asks for a day more
    gov.change_round(CX_CHIEF, period=world.period, change="reschedule",
                     reason="RB missed the early close",
                     intake_closes=clock.now + timedelta(days=1))
    world.submit("I002", title="Second")
    clock.now += timedelta(days=2)  # review again
    gov.change_round(CX_CHIEF, period=world.period, change="open_decisions",
                     reason="The board meets early")
    decisions_from = clock.now
    rejected_without_writing(gov, RoundChangeRefused, lambda: gov.change_round(
        CX_CHIEF, period=world.period, change="reschedule", reason="reopen",
        intake_closes=DECIDE_BY, review_deadline=DECIDE_BY))
    models = in_memory(gov).read_models()
    _, live = models.funding_round(world.period, now=clock.now)
    assert live is not None
    assert (live.phase, live.review_deadline) == ("decision", decisions_from.isoformat())
    assert [(c.change, c.phase_before, c.changed_by, c.reason, c.moved)
            for c in live.changes] == [
        ("close_intake", "intake", CX_CHIEF.actor, "Every P&L has submitted",
         ["intake_closes"]),
        ("reschedule", "review", CX_CHIEF.actor, "RB missed the early close",
         ["intake_closes"]),
        ("open_decisions", "review", CX_CHIEF.actor, "The board meets early",
         ["review_deadline"])]
    assert live.changes[0].after["intake_closes"] == closed_now.isoformat()
    assert live.changes[0].before["intake_closes"] == CLOSES.isoformat()
    _, then = models.funding_round(world.period, as_of=closed_at)
    assert then is not None and then.intake_closes == closed_now.isoformat()
    assert [c.change for c in then.changes] == ["close_intake"]
    _, before = models.funding_round(world.period, as_of=closed_at - 1)
    assert before is not None and (before.intake_closes, before.changes) == (
        CLOSES.isoformat(), [])
    rows = [r for r in models.audit_events(after=0, limit=1000)
            if r.topic == "cxgov.FundingRound.Rescheduled"]
    assert [r.actor for r in rows] == [CX_CHIEF.actor] * 3
    assert rows[0].summary == (
        f"FundingRound.Rescheduled: period=FY2027 change=close_intake "
        f"reason=Every P&L has submitted intake_closes={CLOSES.isoformat()}"
        f"->{closed_now.isoformat()}")


def test_a_period_without_a_round_refuses_changes(world: World, clock: Clock) -> None:
    gov = world.gov
    rejected_without_writing(gov, RoundNotFound, lambda: gov.change_round(
        CX_CHIEF, period=world.period, change="close_intake", reason="r"))
