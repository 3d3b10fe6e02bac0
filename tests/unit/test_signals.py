"""The loop's rules without a store: signal keys, the off-track rule, notes, reviews, plans."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.benefits import BenefitPoint, check_points
from domain.errors import InvalidInput, InvalidTransition
from domain.review import Review
from domain.signals import SignalFacts, SignalNote, check_signal_key
from projections.signals import RUN, glide_value, off_track_since
from projections.state import MetricState, MonthPoint
from tests.builders import proposal

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def metric(*, unit: str = "%", direction: str = "increase", target_date: date | None = None,
           baseline: str = "68", target: str = "85") -> MetricState:
    return MetricState(code="M2", customer_phrasing="One contact fixes it",
                       operational_metric="FCR", scenario=None, pnl=None, unit=unit,
                       direction=direction, baseline=Decimal(baseline), target=Decimal(target),
                       target_date=target_date, customer_threshold=None, importance=None,
                       satisfaction=None, defined_at=T0)


def month(n: int, value: str, sample: int | None = None) -> MonthPoint:
    at = datetime(2026, n, 15, tzinfo=UTC)
    return MonthPoint(f"2026-{n:02d}", Decimal(value), at, 1, sample)


@pytest.mark.parametrize("key", ["metric_off_track:FY2027:M1", "pool_underused:FY2027",
                                 "benefit_at_risk:FY2027:I01:M2"])
def test_a_signal_key_is_a_known_kind_and_codes(key: str) -> None:
    assert check_signal_key(key) == key


@pytest.mark.parametrize("key", ["", "metric_off_track", "nonsense:FY2027",
                                 "metric_off_track:FY2027/M1", "metric_off_track:FY 2027",
                                 "pool_underused:" + "X" * 41])
def test_a_malformed_signal_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        check_signal_key(key)


def test_the_glide_path_runs_from_baseline_to_target_and_holds_the_baseline_without_a_date(
        ) -> None:
    dated = metric(target_date=date(2027, 1, 1))
    assert glide_value(dated, T0) == Decimal(68)
    assert glide_value(dated, datetime(2027, 1, 1, tzinfo=UTC)) == Decimal(85)
    assert glide_value(metric(), datetime(2026, 7, 1, tzinfo=UTC)) == Decimal(68)


def test_a_percentage_is_off_track_only_when_the_glide_value_is_outside_its_interval() -> None:
    m = metric()
    # 66% of 100 answers: interval ~56-75 holds 68, so no distinguishable difference
    assert off_track_since(m, [month(3, "66", 100)], min_n=30) is None
    # 60% of 400: interval ~55-65 excludes 68, on the worse side
    points = [month(2, "67", 400), month(3, "61", 400), month(4, "60", 400)]
    assert off_track_since(m, points, min_n=30) == points[1].observed_at
    # better than the path is never off track, however precise
    assert off_track_since(m, [month(3, "80", 4000)], min_n=30) is None
    # too small a sample to count: falls back to the run rule (one point is not a run)
    assert off_track_since(m, [month(3, "40", 10)], min_n=30) is None


def test_without_an_interval_a_run_of_worse_readings_makes_it_off_track() -> None:
    hours = metric(unit="hours", direction="decrease", baseline="120", target="24")
    worse = [month(n, "130") for n in range(1, RUN + 2)]
    assert off_track_since(hours, worse[:RUN - 1], min_n=30) is None
    assert off_track_since(hours, worse[:RUN], min_n=30) == worse[RUN - 1].observed_at
    assert off_track_since(hours, worse, min_n=30) == worse[RUN - 1].observed_at  # stable
    assert off_track_since(hours, [*worse, month(12, "100")], min_n=30) is None


def facts(since: datetime = T0) -> SignalFacts:
    return SignalFacts("metric_off_track:FY2027:M2", "metric_off_track", since, "FY2027",
                       ("i-1",))


def test_a_raise_is_acknowledged_once_and_resolved_once_with_a_note() -> None:
    note = SignalNote.start(key="metric_off_track:FY2027:M2", actor="a")
    note.acknowledge(facts(), note="seen", review=None, actor="a")
    with pytest.raises(InvalidTransition):
        note.acknowledge(facts(), note="again", review=None, actor="a")
    with pytest.raises(InvalidInput):
        note.resolve(facts(), note=" ", review=None, actor="a")
    note.resolve(facts(), note="stopped I01", review=None, actor="a")
    with pytest.raises(InvalidTransition):
        note.resolve(facts(), note="again", review=None, actor="a")
    later = datetime(2026, 6, 1, tzinfo=UTC)  # raised again later: a new raise to answer
    note.acknowledge(facts(later), note="back again", review=None, actor="a")
    assert (note.state, note.raised_at) == ("acknowledged", later)


def test_a_review_records_what_its_signals_answer_and_refuses_items_once_closed() -> None:
    review = Review.open(period="FY2027", title="Nov", position=7, signals=[facts()],
                         ranking=["I01"], actor="a")
    review.record(item="stop", initiative=uuid4(), note="unrelated", actor="a")
    review.record(item="acknowledge", signal=facts().key, actor="a")
    assert review.answers_for("i-1") == [facts().key]  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        review.close(minutes="", actor="a")
    review.close(minutes="Done.", actor="a")
    with pytest.raises(InvalidTransition):
        review.record(item="acknowledge", signal=facts().key, actor="a")
    with pytest.raises(InvalidTransition):
        review.close(minutes="again", actor="a")


class Claimed:
    """Just enough of an initiative for check_points."""

    code = "I01"
    proposal = proposal(impacts=(("M1", "48", "0.7"), ("M2", "80", "0.5")))


@pytest.mark.parametrize(("points", "field"), [
    ([], "points"),
    ([BenefitPoint("M9", date(2027, 1, 1), Decimal(1))], "points[0].metric"),
    ([BenefitPoint("M1", date(2027, 1, 1), Decimal("NaN"))], "points[0].expected"),
    ([BenefitPoint("M1", date(2027, 6, 1), Decimal(80)),
      BenefitPoint("M1", date(2027, 6, 1), Decimal(60))], "points[1].by"),
])
def test_plan_points_name_claimed_metrics_with_finite_values_and_ascending_dates(
        points: list[BenefitPoint], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_points(Claimed(), points)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_plan_points_of_two_metrics_ascend_each_on_their_own() -> None:
    stored = check_points(Claimed(), [  # type: ignore[arg-type]
        BenefitPoint("M1", date(2027, 6, 1), Decimal(80)),
        BenefitPoint("M2", date(2027, 1, 1), Decimal(70)),
        BenefitPoint("M1", date(2027, 12, 1), Decimal(48))])
    assert [p["metric"] for p in stored] == ["M1", "M2", "M1"]


def test_the_audit_log_says_which_signal_was_answered_and_how() -> None:
    from projections.audit import summary

    note = SignalNote.start(key="metric_off_track:FY2027:M2", actor="a")
    note.acknowledge(facts(), note="stopping I01", review=None, actor="a")
    review = Review.open(period="FY2027", title="Nov", position=7, signals=[facts()],
                         ranking=["I01"], actor="a")
    review.record(item="acknowledge", signal=facts().key, actor="a")
    review.close(minutes="Stopped I01.", actor="a")
    lines = [summary(e) for e in [*note.collect_events(), *review.collect_events()]]
    assert lines[1:] == [
        "SignalNote.Acknowledged: key=metric_off_track:FY2027:M2 period=FY2027 "
        "note=stopping I01",
        "Review.Opened: period=FY2027 title=Nov",
        "Review.ItemRecorded: item=acknowledge signal=metric_off_track:FY2027:M2 "
        "answers=['metric_off_track:FY2027:M2']",
        "Review.Closed: minutes=Stopped I01."]
