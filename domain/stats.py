"""Scorecard statistics (DOMAIN.md §3.1, §3.2, §5): intervals, progress, RAG, realization."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

Z95 = Decimal("1.959963984540054")


def _z(confidence: Decimal) -> Decimal:
    if confidence != Decimal("0.95"):
        raise ValueError("only 95% intervals are supported")
    return Z95


def wilson_interval(successes: int, n: int, *,
                    confidence: Decimal = Decimal("0.95")) -> tuple[Decimal, Decimal]:
    """Wilson score interval for a proportion."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n and n > 0")
    z = _z(confidence)
    p = Decimal(successes) / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).sqrt()) / denominator
    return max(Decimal(0), centre - half), min(Decimal(1), centre + half)


def expected_progress(start: date, target_date: date, at: date) -> Decimal:
    """Linear glide path: clamp((t - t0) / (T - t0), 0, 1)."""
    span = (target_date - start).days
    if span <= 0:
        return Decimal(1)
    share = Decimal((at - start).days) / span
    return min(Decimal(1), max(Decimal(0), share))


def rag_status(progress: Decimal, expected: Decimal, *, green_slack: Decimal = Decimal("0.10"),
               amber_slack: Decimal = Decimal("0.25"), has_data: bool = True) -> str:
    """Green at or near the glide path, amber a little behind, red further behind, grey no data."""
    if not has_data:
        return "grey"
    if progress >= 1 or progress >= expected - green_slack:
        return "green"
    if progress >= expected - amber_slack:
        return "amber"
    return "red"


def realization_percent(baseline: Decimal, expected: Decimal, actual: Decimal) -> Decimal:
    """(actual - B) / (E - B) x 100."""
    return (actual - baseline) / (expected - baseline) * 100


def did_effect(treated_before: Decimal, treated_after: Decimal, control_before: Decimal,
               control_after: Decimal) -> Decimal:
    """Difference in differences."""
    return (treated_after - treated_before) - (control_after - control_before)
