"""A scorecard card's statistics (issue 15): intervals of the latest reading, the change
against the previous month with its test and trend word, the share meeting the customer's
threshold, and an individuals (XmR) control chart with its run-rule signals.

Everything comes from the month points the fold keeps (projections.state.MonthPoint: the
month's latest reading with its summary and counts in `detail`) and domain.stats; nothing
is stored beyond the rendered card.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from domain import stats
from projections.state import MetricState, MonthPoint

Row = dict[str, Any]
_HUNDRED = Decimal(100)
#: The control chart needs this many monthly points; its limits come from the first
#: `SPC_BASELINE` points kept (a year of months; all when fewer).
SPC_MIN_POINTS = 5
SPC_BASELINE = 12
NO_CHANGE = "no detectable change"
#: The run rules, strongest evidence first (the order `latest_signals` lists them in).
RULES = ("beyond_limits", f"run_of_{stats.RUN_LENGTH}", "2_of_3_beyond_2_sigma",
         "4_of_5_beyond_1_sigma")


def _direction(metric: MetricState) -> stats.MetricDirection:
    return "decrease" if metric.direction == "decrease" else "increase"


def _interval(of: str, found: stats.Interval, scale: Decimal = Decimal(1)) -> Row:
    return {"of": of, "estimate": found.estimate * scale, "low": found.low * scale,
            "high": found.high * scale, "method": found.method,
            "confidence": found.confidence}


def _categories(point: MonthPoint) -> tuple[int, int, int] | None:
    d = point.detail
    if all(k in d for k in ("promoters", "passives", "detractors")):
        return int(d["promoters"]), int(d["passives"]), int(d["detractors"])
    return None


def _percent_successes(metric: MetricState, point: MonthPoint) -> tuple[int, int] | None:
    """A percentage reading with its sample: (successes, n), the successes rounded."""
    n = point.sample_size
    if metric.unit != "%" or not n or not 0 <= point.value <= 100:
        return None
    return int((point.value / 100 * n).to_integral_value()), n


def intervals(metric: MetricState, point: MonthPoint) -> list[Row]:
    """Every interval the latest reading supports: NPS (adjusted Wald), a top-box share and a
    percentage (Wilson, in percent), a mean (t) and a median (normal approximation from the
    summary)."""
    found: list[Row] = []
    d, n = point.detail, point.sample_size or 0
    categories = _categories(point)
    if categories is not None and sum(categories) > 0:
        found.append(_interval("nps", stats.nps_estimate(*categories)))
    if "top_box" in d and n:
        found.append(_interval("top_box_share", stats.proportion_interval(int(d["top_box"]), n),
                               _HUNDRED))
    percent = _percent_successes(metric, point)
    if percent is not None and "top_box" not in d:
        found.append(_interval("value", stats.proportion_interval(*percent), _HUNDRED))
    if "mean" in d and "sd" in d and n >= 2:
        found.append(_interval("mean", stats.t_interval(d["mean"], d["sd"], n)))
    if "median" in d and "sd" in d and n >= 1:
        found.append(_interval("median", stats.median_summary_interval(d["median"], d["sd"],
                                                                       n)))
    return found


def change(metric: MetricState, before: MonthPoint, after: MonthPoint) -> stats.Change | None:
    """The test of the change from one month to the next that both readings support: NPS
    counts, top-box counts, percentages with their samples, or means with sd and n."""
    nps = _categories(before), _categories(after)
    if nps[0] and nps[1] and sum(nps[0]) and sum(nps[1]):
        return stats.nps_difference(nps[0], nps[1])
    b, a = before.detail, after.detail
    if "top_box" in b and "top_box" in a and before.sample_size and after.sample_size:
        return _percent(stats.two_proportion_test(int(b["top_box"]), before.sample_size,
                                                  int(a["top_box"]), after.sample_size))
    shares = _percent_successes(metric, before), _percent_successes(metric, after)
    if shares[0] and shares[1]:
        return _percent(stats.two_proportion_test(*shares[0], *shares[1]))
    if (all(k in b and k in a for k in ("mean", "sd")) and (before.sample_size or 0) >= 2
            and (after.sample_size or 0) >= 2):
        return stats.welch_test((b["mean"], b["sd"], before.sample_size or 0),
                                (a["mean"], a["sd"], after.sample_size or 0))
    return None


def _percent(found: stats.Change) -> stats.Change:
    return stats.Change(found.before * _HUNDRED, found.after * _HUNDRED,
                        found.difference * _HUNDRED, found.statistic, found.p_value,
                        found.method, found.df)


def control_chart(series: Sequence[MonthPoint]) -> stats.ControlChart | None:
    """The XmR chart of the monthly values, or None below `SPC_MIN_POINTS` points."""
    if len(series) < SPC_MIN_POINTS:
        return None
    return stats.xmr([p.value for p in series], baseline=min(len(series), SPC_BASELINE))


def threshold_share(metric: MetricState, point: MonthPoint) -> Row | None:
    """The share of the latest reading's sample that met the customer's own threshold, with
    its Wilson interval (the count rounded from share * n)."""
    share = point.detail.get("share_meeting")
    if share is None:
        return None
    row: Row = {"threshold": metric.customer_threshold, "share": share, "low": None,
                "high": None, "sample_size": point.sample_size}
    if point.sample_size:
        met = int((share * point.sample_size).to_integral_value())
        found = stats.proportion_interval(met, point.sample_size)
        row.update(low=found.low, high=found.high)
    return row


def card_statistics(metric: MetricState, series: Sequence[MonthPoint]) -> Row:
    """The card's statistics for a series with at least one point (oldest first)."""
    latest = series[-1]
    direction = _direction(metric)
    tested = change(metric, series[-2], latest) if len(series) >= 2 else None
    chart = control_chart(series)
    # the tested change decides when it is significant, else a run rule broken at the latest
    # month; neither: "no detectable change" (None with a single reading and no chart)
    words: list[tuple[str, str]] = []
    if tested is not None:
        words.append((stats.trend_word(tested, direction), "test"))
    if chart is not None:
        words.append((stats.spc_word(chart, direction), "control chart"))
    word, basis = next((w for w in words if w[0] != NO_CHANGE), words[0] if words else
                       (None, None))
    return {
        "intervals": intervals(metric, latest),
        "change": None if tested is None else {
            "from_month": series[-2].month, "to_month": latest.month,
            "before": tested.before, "after": tested.after, "difference": tested.difference,
            "statistic": tested.statistic, "p_value": tested.p_value, "method": tested.method,
            "df": tested.df, "significant": tested.p_value < stats.ALPHA,
            "word": stats.trend_word(tested, direction)},
        "threshold_share": threshold_share(metric, latest),
        "spc": None if chart is None else _chart_row(chart, series, direction),
        "trend_word": word,
        "trend_basis": basis,
    }


def _chart_row(chart: stats.ControlChart, series: Sequence[MonthPoint],
               direction: stats.MetricDirection) -> Row:
    last = len(series) - 1
    return {
        "centre": chart.centre, "upper": chart.upper, "lower": chart.lower,
        "moving_range": chart.moving_range, "sigma": chart.sigma,
        "baseline_points": min(len(series), SPC_BASELINE), "points": len(series),
        "signals": [{"rule": s.rule, "month": series[s.index].month, "side": s.side}
                    for s in chart.signals],
        "latest_signals": sorted({s.rule for s in chart.signals if s.index == last},
                                 key=RULES.index),
        "word": stats.spc_word(chart, direction),
    }
