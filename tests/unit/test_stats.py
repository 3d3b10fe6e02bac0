"""Scorecard statistics against the worked examples of DOMAIN.md 3.1, 3.2 and 5."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from domain import stats


def test_nps_worked_example_has_the_published_adjusted_wald_interval() -> None:
    nps, low, high = stats.nps_interval(90, 40, 200)
    assert nps == 25
    assert round(low, 1) == Decimal("14.1")
    assert round(high, 1) == Decimal("35.2")


def test_a_smaller_sample_widens_the_nps_interval() -> None:
    _, low_small, high_small = stats.nps_interval(45, 20, 100)
    _, low_big, high_big = stats.nps_interval(90, 40, 200)
    assert high_small - low_small > high_big - low_big


def test_nps_rejects_more_answers_than_respondents() -> None:
    with pytest.raises(ValueError):
        stats.nps_interval(150, 60, 200)


def test_csat_wilson_example_matches_the_published_interval() -> None:
    low, high = stats.wilson_interval(118, 150)
    assert round(Decimal(118) / 150 * 100, 1) == Decimal("78.7")
    assert round(low * 100, 1) == Decimal("71.4")
    assert round(high * 100, 1) == Decimal("84.5")


def test_wilson_interval_stays_inside_zero_and_one_at_the_extremes() -> None:
    low, high = stats.wilson_interval(0, 10)
    assert low == 0 and Decimal(0) < high < 1
    low, high = stats.wilson_interval(10, 10)
    assert Decimal(0) < low < 1 and high == 1


def test_mean_interval_uses_the_t_value_for_small_samples() -> None:
    mean, low, high = stats.mean_interval(
        [Decimal(4), Decimal(5), Decimal(6), Decimal(5), Decimal(5)]
    )
    assert mean == 5
    # sd = sqrt(0.5), t(4 df, 95%) = 2.776 -> margin 0.8779
    assert round(high - mean, 3) == Decimal("0.878")
    assert round(mean - low, 3) == Decimal("0.878")


def test_median_and_p90_of_elapsed_days() -> None:
    days = [Decimal(d) for d in (1, 2, 2, 3, 4, 5, 6, 8, 13, 21)]
    assert stats.median(days) == Decimal("4.5")
    assert stats.percentile(days, 90) == 13
    assert stats.percentile(days, 100) == 21


def test_share_meeting_counts_the_customers_threshold_in_its_direction() -> None:
    minutes = [Decimal(m) for m in (2, 4, 5, 7, 12)]
    assert stats.share_meeting(minutes, Decimal(5), "lower") == Decimal("0.6")
    assert stats.share_meeting(minutes, Decimal(5), "higher") == Decimal("0.6")
    assert stats.share_meeting(minutes, Decimal(13), "higher") == 0


def test_progress_for_a_lower_is_better_metric_is_positive_when_it_falls() -> None:
    # M4 days to payment: baseline 18, target 7, now 14 -> 4/11 of the way
    assert stats.progress_to_goal(Decimal(18), Decimal(14), Decimal(7)) == Decimal(4) / Decimal(11)
    assert stats.progress_to_goal(Decimal(18), Decimal(20), Decimal(7)) < 0


def test_progress_for_a_higher_is_better_metric() -> None:
    assert stats.progress_to_goal(Decimal(68), Decimal(71), Decimal(85)) == Decimal(3) / Decimal(17)


def test_expected_progress_is_clamped_to_the_glide_path() -> None:
    start, end = date(2027, 1, 1), date(2027, 12, 31)
    assert stats.expected_progress(start, end, date(2026, 6, 1)) == 0
    assert stats.expected_progress(start, end, date(2028, 6, 1)) == 1
    halfway = stats.expected_progress(
        datetime(2027, 1, 1), datetime(2027, 1, 11), datetime(2027, 1, 6)
    )
    assert halfway == Decimal("0.5")


@pytest.mark.parametrize(
    ("progress", "expected", "status"),
    [
        (Decimal("1.0"), Decimal("1.0"), "green"),
        (Decimal("1.2"), Decimal("1.0"), "green"),
        (Decimal("0.45"), Decimal("0.5"), "green"),
        (Decimal("0.40"), Decimal("0.5"), "green"),
        (Decimal("0.30"), Decimal("0.5"), "amber"),
        (Decimal("0.25"), Decimal("0.5"), "amber"),
        (Decimal("0.20"), Decimal("0.5"), "red"),
        (Decimal("-0.1"), Decimal("0"), "green"),
        (Decimal("-0.2"), Decimal("0"), "amber"),
    ],
)
def test_rag_bands_compare_progress_with_the_glide_path(
    progress: Decimal, expected: Decimal, status: str
) -> None:
    assert stats.rag_status(progress, expected) == status


def test_rag_is_grey_without_data() -> None:
    assert stats.rag_status(Decimal("0.9"), Decimal("0.5"), has_data=False) == "grey"
    assert stats.rag_status(None, Decimal("0.5")) == "grey"


def test_realization_percent_of_a_planned_reduction() -> None:
    # planned 18 -> 8 days, actual 14 -> 40% realised
    assert stats.realization_percent(Decimal(18), Decimal(8), Decimal(14)) == 40


def test_difference_in_differences_example_is_minus_six_point_nine_days() -> None:
    effect = stats.did_effect(Decimal("18.0"), Decimal("9.5"), Decimal("18.4"), Decimal("16.8"))
    assert effect == Decimal("-6.9")
