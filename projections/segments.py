"""A metric's scorecard by segment (issue 15, part 7; decisions 118-119): for one dimension
its readings carry (P&L, cohort, channel, region), each segment's current value, intervals,
tested change and trend word, beside the whole.

The fold keeps a month series per cohort (`MetricState.series`, "" the whole) and one per
P&L, channel and region label (`PortfolioState.segments`, by metric); each segment is read by the
scorecard's own statistics (projections/scorestats.py `card_statistics`). A segment whose
latest reading has fewer responses than the policy's `min_sample_size` says so and shows
no interval or trend word (noise, not signal); computed when asked from the fold's core, so
it replays as of any position without loading an initiative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from pydantic import Field

from projections.codec import plain_row
from projections.rows import (
    DecimalText,
    PeriodChange,
    ReadRow,
    StatInterval,
    TimeText,
    TrendPoint,
)
from projections.scorestats import card_statistics

if TYPE_CHECKING:
    from projections.state import MetricState, MonthPoint, PortfolioState

#: The dimensions a reading may carry, in the order they are offered.
DIMENSIONS: Final = ("pnl", "cohort", "channel", "region")
#: The months of each segment's trend the drill-down shows.
TREND_MONTHS: Final = 12
DEFAULT_MIN_SAMPLE: Final = 30


class SegmentRow(ReadRow):
    """One segment (or the whole) as the scorecard reads it."""

    change: PeriodChange | None = Field(description="The tested change from the previous "
                                                    "month; None when too few responses.")
    current: DecimalText | None
    enough: bool = Field(description="Whether the latest reading has at least the policy's "
                                     "`min_sample_size` responses (or carries no sample "
                                     "size: an operational count).")
    intervals: list[StatInterval] = Field(description="Intervals of the latest reading; "
                                                      "empty when too few responses.")
    label: str = Field(description="The segment's label; `all` for the whole.")
    month: str | None
    months: int = Field(description="Months with readings kept for the segment.")
    note: str | None = Field(description="Why no interval or trend is shown, when so.")
    observed_at: TimeText | None
    progress: DecimalText | None = Field(description="Share of the metric's baseline-to-"
                                                     "target gap the latest reading closed.")
    readings: int
    sample_size: int | None
    trend: list[TrendPoint]
    trend_basis: str | None
    trend_word: str | None


class MetricSegments(ReadRow):
    """A customer success metric by one segment dimension."""

    baseline: DecimalText
    by: str | None = Field(description="The dimension shown: pnl, cohort, channel or region "
                                       "(None: the readings carry none).")
    customer_phrasing: str
    dimensions: list[str] = Field(description="The dimensions the metric's readings carry.")
    direction: str
    metric: str
    min_sample_size: int
    overall: SegmentRow | None = Field(description="The whole (the overall cohort).")
    segments: list[SegmentRow]
    target: DecimalText
    unit: str


def dimensions(state: PortfolioState, metric: MetricState) -> list[str]:
    """The dimensions at least one of the metric's kept readings carries."""
    found = {name for name, labels in state.segments.get(metric.code, {}).items() if labels}
    if any(cohort for cohort in metric.series):
        found.add("cohort")
    return [name for name in DIMENSIONS if name in found]


def _by_label(state: PortfolioState, metric: MetricState,
              by: str) -> dict[str, list[MonthPoint]]:
    if by == "cohort":
        return {label: series for label, series in metric.series.items() if label}
    return dict(state.segments.get(metric.code, {}).get(by, {}))


def segment_row(metric: MetricState, label: str, series: Sequence[MonthPoint],
                min_n: int) -> SegmentRow:
    """One segment's row: its latest month and, with enough responses, its statistics."""
    latest = series[-1] if series else None
    n = latest.sample_size if latest else None
    enough = latest is not None and (n is None or n >= min_n)
    gap = metric.target - metric.baseline
    row: dict[str, object] = {
        "label": label, "current": None, "month": None, "observed_at": None,
        "sample_size": n, "readings": sum(p.readings for p in series),
        "months": len(series), "enough": enough, "note": None, "progress": None,
        "intervals": [], "change": None, "trend_word": None, "trend_basis": None,
        "trend": [{"month": p.month, "value": p.value, "sample_size": p.sample_size}
                  for p in series[-TREND_MONTHS:]],
    }
    if latest is None:
        row["note"] = "no readings"
        return SegmentRow.model_validate(plain_row(row))
    row.update(current=latest.value, month=latest.month, observed_at=latest.observed_at,
               progress=(latest.value - metric.baseline) / gap if gap else None)
    if not enough:
        row["note"] = (f"too few responses: n = {n}, fewer than {min_n}; no interval or "
                       "trend shown")
        return SegmentRow.model_validate(plain_row(row))
    found = card_statistics(metric, series)
    row.update(intervals=found["intervals"], change=found["change"],
               trend_word=found["trend_word"], trend_basis=found["trend_basis"])
    if len(series) == 1:
        row["note"] = "one month of readings: no trend yet"
    return SegmentRow.model_validate(plain_row(row))


def metric_segments(state: PortfolioState, code: str,
                    by: str | None = None) -> MetricSegments | None:
    """Metric `code` by dimension `by` (default the first its readings carry); None: no such
    metric. A dimension its readings do not carry gives no segments."""
    metric = state.metrics.get(code)
    if metric is None:
        return None
    terms = state.policy
    min_n = terms.min_sample_size if terms else DEFAULT_MIN_SAMPLE
    carried = dimensions(state, metric)
    chosen = by if by is not None else (carried[0] if carried else None)
    whole = metric.series.get("") or next(iter(metric.series.values()), None)
    labelled = _by_label(state, metric, chosen) if chosen else {}
    return MetricSegments(
        metric=metric.code, customer_phrasing=metric.customer_phrasing, unit=metric.unit,
        direction=metric.direction, baseline=str(metric.baseline),
        target=str(metric.target), by=chosen, dimensions=carried, min_sample_size=min_n,
        overall=segment_row(metric, "all", whole, min_n) if whole else None,
        segments=[segment_row(metric, label, series, min_n)
                  for label, series in sorted(labelled.items())])

