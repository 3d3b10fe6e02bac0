"""Scorecard statistics (DOMAIN.md 3.1, 3.2, 5): intervals, percentiles, goal progress, RAG.

Inputs and outputs are Decimal; square roots use Decimal.sqrt(). z values for a two-sided
interval come from statistics.NormalDist (rounded to 6 decimals). `mean_interval` uses a
Student t table for n - 1 <= 30 at 90/95/99% confidence and the normal z beyond that (or for
other confidence levels), which overstates precision by under 1% at n > 31.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_CEILING, Decimal
from statistics import NormalDist
from typing import Literal

__all__ = [
    "did_effect",
    "expected_progress",
    "mean_interval",
    "median",
    "nps_interval",
    "percentile",
    "progress_to_goal",
    "rag_status",
    "realization_percent",
    "share_meeting",
    "wilson_interval",
]

Direction = Literal["lower", "higher"]
Rag = Literal["green", "amber", "red", "grey"]

_HUNDRED = Decimal(100)


def _row(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# two-sided Student t critical values, df 1..30, for 90%, 95% and 99% confidence
_T_TABLE: dict[Decimal, tuple[str, ...]] = {
    Decimal("0.90"): _row(
        "6.314 2.920 2.353 2.132 2.015 1.943 1.895 1.860 1.833 1.812 1.796 1.782 1.771 1.761 "
        "1.753 1.746 1.740 1.734 1.729 1.725 1.721 1.717 1.714 1.711 1.708 1.706 1.703 1.701 "
        "1.699 1.697"
    ),
    Decimal("0.95"): _row(
        "12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 "
        "2.131 2.120 2.110 2.101 2.093 2.086 2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 "
        "2.045 2.042"
    ),
    Decimal("0.99"): _row(
        "63.657 9.925 5.841 4.604 4.032 3.707 3.499 3.355 3.250 3.169 3.106 3.055 3.012 2.977 "
        "2.947 2.921 2.898 2.878 2.861 2.845 2.831 2.819 2.807 2.797 2.787 2.779 2.771 2.763 "
        "2.756 2.750"
    ),
}


def _z(confidence: Decimal) -> Decimal:
    """Two-sided normal critical value, e.g. 1.959964 for 95%."""
    if not Decimal(0) < confidence < Decimal(1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    upper = NormalDist().inv_cdf(float((1 + confidence) / 2))
    return Decimal(repr(upper)).quantize(Decimal("0.000001"))


def nps_interval(
    promoters: int, detractors: int, n: int, *, confidence: Decimal = Decimal("0.95")
) -> tuple[Decimal, Decimal, Decimal]:
    """NPS and its adjusted-Wald interval (Rocks 2016), all in points (-100..100)."""
    if n <= 0 or promoters < 0 or detractors < 0 or promoters + detractors > n:
        raise ValueError("need 0 <= promoters + detractors <= n and n > 0")
    nps = Decimal(promoters - detractors) / n * _HUNDRED
    n_adj = Decimal(n + 3)
    p = (promoters + Decimal("0.75")) / n_adj
    d = (detractors + Decimal("0.75")) / n_adj
    centre = p - d
    se = ((p + d - centre * centre) / n_adj).sqrt()
    margin = _z(confidence) * se
    low = max(Decimal(-1), centre - margin) * _HUNDRED
    high = min(Decimal(1), centre + margin) * _HUNDRED
    return nps, low, high


def wilson_interval(
    successes: int, n: int, *, confidence: Decimal = Decimal("0.95")
) -> tuple[Decimal, Decimal]:
    """Wilson score interval (low, high) of a proportion, as fractions (0..1)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n and n > 0")
    z = _z(confidence)
    p = Decimal(successes) / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / denominator
    return max(Decimal(0), centre - half), min(Decimal(1), centre + half)


def mean_interval(
    values: Sequence[Decimal], *, confidence: Decimal = Decimal("0.95")
) -> tuple[Decimal, Decimal, Decimal]:
    """Mean and t-based interval `mean ± t·sd/√n` (t table up to 30 df, normal z beyond)."""
    n = len(values)
    if n < 2:
        raise ValueError("a mean interval needs at least 2 values")
    mean = sum(values, Decimal(0)) / n
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / (n - 1)
    table = _T_TABLE.get(confidence)
    critical = Decimal(table[n - 2]) if table is not None and n - 1 <= 30 else _z(confidence)
    margin = critical * variance.sqrt() / Decimal(n).sqrt()
    return mean, mean - margin, mean + margin


def percentile(values: Sequence[Decimal], p: Decimal | int) -> Decimal:
    """Nearest-rank percentile (p in 0..100): the smallest value with >= p% at or below it."""
    if not values:
        raise ValueError("percentile of no values")
    p = Decimal(p)
    if not 0 <= p <= 100:
        raise ValueError(f"p must be within 0..100, got {p}")
    ordered = sorted(values)
    rank = int((p / _HUNDRED * len(ordered)).to_integral_value(rounding=ROUND_CEILING))
    return ordered[max(rank, 1) - 1]


def median(values: Sequence[Decimal]) -> Decimal:
    """Middle value; the mean of the two middle values for an even count."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def share_meeting(values: Sequence[Decimal], threshold: Decimal, direction: Direction) -> Decimal:
    """Fraction of occurrences meeting the customer's threshold (<= for lower, >= for higher)."""
    if not values:
        raise ValueError("share of no values")
    if direction == "lower":
        met = sum(1 for v in values if v <= threshold)
    elif direction == "higher":
        met = sum(1 for v in values if v >= threshold)
    else:
        raise ValueError(f"direction must be 'lower' or 'higher', got {direction!r}")
    return Decimal(met) / len(values)


def progress_to_goal(baseline: Decimal, current: Decimal, target: Decimal) -> Decimal:
    """Baseline-adjusted share of the goal achieved; works for lower-is-better metrics too."""
    if target == baseline:
        raise ValueError("target equals baseline: progress is undefined")
    return (current - baseline) / (target - baseline)


def expected_progress(start: date, target_date: date, at: date) -> Decimal:
    """Linear glide path e(t) = clamp((t - t0) / (T - t0), 0, 1); dates or datetimes."""
    span = (target_date - start).total_seconds()
    if span <= 0:
        raise ValueError("target date must be after the start")
    elapsed = Decimal(repr((at - start).total_seconds())) / Decimal(repr(span))
    return min(Decimal(1), max(Decimal(0), elapsed))


def rag_status(
    progress: Decimal | None,
    expected: Decimal,
    *,
    green_slack: Decimal = Decimal("0.10"),
    amber_slack: Decimal = Decimal("0.25"),
    has_data: bool = True,
) -> Rag:
    """Green if at goal or within green slack of the glide path, amber within amber slack."""
    if not has_data or progress is None:
        return "grey"
    if progress >= 1 or progress >= expected - green_slack:
        return "green"
    if progress >= expected - amber_slack:
        return "amber"
    return "red"


def realization_percent(baseline: Decimal, expected: Decimal, actual: Decimal) -> Decimal:
    """Share of the planned change realised so far, in percent."""
    if expected == baseline:
        raise ValueError("expected equals baseline: no planned change")
    return (actual - baseline) / (expected - baseline) * _HUNDRED


def did_effect(
    treated_before: Decimal,
    treated_after: Decimal,
    control_before: Decimal,
    control_after: Decimal,
) -> Decimal:
    """Difference-in-differences: the treated change minus the control change."""
    return (treated_after - treated_before) - (control_after - control_before)
