"""Trend words follow the tests (issue 15): a change is "improving" or "worsening" only when it
is distinguishable from noise; a control chart speaks for the point a run rule breaks at."""

from __future__ import annotations

from decimal import Decimal

from domain import stats


def test_a_significant_change_is_named_by_the_metrics_direction() -> None:
    rise = stats.two_proportion_test(300, 1000, 400, 1000)  # 30% -> 40%, p < 0.001
    assert rise.p_value < Decimal("0.001")
    assert stats.trend_word(rise, "increase") == "improving"
    assert stats.trend_word(rise, "decrease") == "worsening"


def test_a_change_inside_the_noise_is_no_detectable_change() -> None:
    wobble = stats.two_proportion_test(30, 100, 34, 100)  # 30% -> 34%, p about 0.55
    assert wobble.p_value > Decimal("0.5")
    assert stats.trend_word(wobble, "increase") == "no detectable change"
    assert stats.trend_word(None, "increase") == "no detectable change"


def test_the_significance_level_is_strict() -> None:
    change = stats.Change(Decimal(1), Decimal(2), Decimal(1), Decimal(2), Decimal("0.05"), "z")
    assert stats.trend_word(change, "increase") == "no detectable change"
    assert stats.trend_word(change, "increase", alpha=Decimal("0.10")) == "improving"


def test_a_control_chart_word_is_about_the_latest_point_only() -> None:
    values = [Decimal(v) for v in (30, 31, 29, 30, 32, 30, 29, 31, 30, 31, 30, 29)]
    fallen = stats.xmr([*values, Decimal(18)], baseline=12)
    assert [(s.rule, s.index, s.side) for s in fallen.signals] == [("beyond_limits", 12,
                                                                     "below")]
    assert stats.spc_word(fallen, "decrease") == "improving"
    assert stats.spc_word(fallen, "increase") == "worsening"
    recovered = stats.xmr([*values, Decimal(18), Decimal(30)], baseline=12)
    assert stats.spc_word(recovered, "decrease") == "no detectable change"
    assert stats.spc_word(recovered, "decrease", at=12) == "improving"


def test_a_run_of_eight_above_the_centre_is_a_shift() -> None:
    baseline = [Decimal(v) for v in (10, 12, 9, 11, 10, 12, 9, 11, 10, 11, 9, 12)]
    shifted = [Decimal(v) for v in (11, 12, 11, 12, 11, 12, 11, 12)]  # inside the limits
    chart = stats.xmr([*baseline, *shifted], baseline=12)
    assert all(s.rule != "beyond_limits" for s in chart.signals)
    assert ("run_of_8", 19, "above") in {(s.rule, s.index, s.side) for s in chart.signals}
    assert stats.spc_word(chart, "increase") == "improving"
