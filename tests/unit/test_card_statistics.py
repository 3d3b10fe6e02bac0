"""A scorecard card's trend word (issue 15): a significant tested change decides, else a run
rule broken at the latest month; with neither, "no detectable change" from the test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projections.scorestats import card_statistics
from projections.state import MetricState, MonthPoint


def metric() -> MetricState:
    return MetricState(code="M9", customer_phrasing="Sorted first time",
                       operational_metric="First contact resolution", scenario=None, pnl=None,
                       unit="%", direction="increase", baseline=Decimal(60),
                       target=Decimal(80), target_date=None, customer_threshold=None,
                       importance=None, satisfaction=None,
                       defined_at=datetime(2025, 1, 1, tzinfo=UTC))


def points(values: list[str], n: int = 100) -> list[MonthPoint]:
    return [MonthPoint(f"2025-{m:02d}" if m <= 12 else f"2026-{m - 12:02d}", Decimal(v),
                       datetime(2025, 1, 1, tzinfo=UTC), 1, n)
            for m, v in enumerate(values, start=1)]


STEADY = ["60", "61", "60", "59", "60", "61", "60", "60", "59", "61", "60", "60"]


def test_a_significant_month_on_month_change_names_the_trend() -> None:
    found = card_statistics(metric(), points([*STEADY, "60", "80"]))
    assert found["change"]["significant"] is True
    assert (found["trend_word"], found["trend_basis"]) == ("improving", "test")


def test_a_shift_the_monthly_test_cannot_see_is_named_by_the_control_chart() -> None:
    found = card_statistics(metric(), points([*STEADY, "66", "67"]))  # +1 point month on month
    assert found["change"]["word"] == "no detectable change"
    assert found["spc"]["latest_signals"]
    assert (found["trend_word"], found["trend_basis"]) == ("improving", "control chart")


def test_noise_is_no_detectable_change_by_the_test() -> None:
    found = card_statistics(metric(), points([*STEADY, "61"]))
    assert found["spc"]["latest_signals"] == []
    assert (found["trend_word"], found["trend_basis"]) == ("no detectable change", "test")


def test_a_single_reading_has_an_interval_and_no_word() -> None:
    found = card_statistics(metric(), points(["62"]))
    assert [i["of"] for i in found["intervals"]] == ["value"]
    assert (found["change"], found["spc"], found["trend_word"]) == (None, None, None)


def test_the_command_line_names_the_word_and_what_decided_it() -> None:
    from governance.entrypoints.views import trend_text

    shifted = card_statistics(metric(), points([*STEADY, "66", "67"]))
    assert trend_text(shifted) == "improving (SPC: beyond_limits)"
    tested = card_statistics(metric(), points([*STEADY, "60", "80"]))
    assert trend_text(tested).startswith("improving (p=")
    assert trend_text(card_statistics(metric(), points(["62"]))) == "-"


def test_a_month_points_summary_survives_a_fold_snapshot() -> None:
    """The fold snapshot keeps `MonthPoint.detail` exactly; one taken before it reads empty."""
    from projections.codec import dump_state, load_state
    from projections.state import PortfolioState

    m = metric()
    m.series[""] = points(["62"])
    m.series[""][0].detail = {"promoters": 90, "passives": 70, "detractors": 40,
                              "share_meeting": Decimal("0.625")}
    text = dump_state(PortfolioState(metrics={"M9": m}))
    assert load_state(text).metrics["M9"].series[""][0].detail == m.series[""][0].detail
    older = text.replace(',"detail":{"$map":[["promoters",90],["passives",70],'
                         '["detractors",40],["share_meeting",{"$d":"0.625"}]]}', "")
    assert older != text
    assert load_state(older).metrics["M9"].series[""][0].detail == {}
