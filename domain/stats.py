"""Scorecard statistics (DOMAIN.md 3.1, 3.2, 5): intervals, percentiles, goal progress, RAG.

Inputs and outputs are Decimal; square roots use Decimal.sqrt(). z values for a two-sided
interval come from statistics.NormalDist (rounded to 6 decimals). `mean_interval` uses a
Student t table for n - 1 <= 30 at 90/95/99% confidence and the normal z beyond that (or for
other confidence levels), which overstates precision by under 1% at n > 31.

The second half (issue 15: intervals, tests of change, control charts, trend words) computes
with exact critical values instead: the normal quantile and tail from statistics.NormalDist
(binary floating point, about 1e-15), Student's t tail from the regularised incomplete beta
function (Lentz's continued fraction, to 1e-15 relative) and its quantile by safeguarded
Newton steps on that tail. Sums, means, variances and square roots are Decimal (28 digits);
the special functions alone are binary floating point, so every result agrees with scipy /
statsmodels to better than 1e-9 (tests/unit/test_stats_oracles.py counts and prints the
cases and the largest difference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from itertools import pairwise
from statistics import NormalDist
from typing import Literal

__all__ = [
    "Change",
    "ControlChart",
    "Interval",
    "RuleSignal",
    "did_effect",
    "expected_progress",
    "mean_interval",
    "mean_t_interval",
    "median",
    "median_interval",
    "median_summary_interval",
    "nps_difference",
    "nps_estimate",
    "nps_interval",
    "percentile",
    "progress_to_goal",
    "proportion_interval",
    "rag_status",
    "realization_percent",
    "share_meeting",
    "spc_word",
    "t_interval",
    "trend_word",
    "two_proportion_test",
    "welch_test",
    "wilson_interval",
    "xmr",
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


# --- issue 15: intervals for every reading kind, tests of change, control charts ----------------

MetricDirection = Literal["decrease", "increase"]
TrendWord = Literal["improving", "worsening", "no detectable change"]

#: The significance level the trend words use: a change is "detectable" when p < 0.05.
ALPHA = Decimal("0.05")
_NINETY_FIVE = Decimal("0.95")


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided interval, the method that made it and its confidence."""

    estimate: Decimal
    low: Decimal
    high: Decimal
    method: str
    confidence: Decimal


@dataclass(frozen=True)
class Change:
    """A change between two periods: after - before, the test statistic and its two-sided
    p-value (`df`: the degrees of freedom of a t test, None for a z test)."""

    before: Decimal
    after: Decimal
    difference: Decimal
    statistic: Decimal
    p_value: Decimal
    method: str
    df: Decimal | None = None


@dataclass(frozen=True)
class RuleSignal:
    """A run rule broken at point `index` (the point that completes the pattern)."""

    rule: str
    index: int
    side: Literal["above", "below"]


@dataclass(frozen=True)
class ControlChart:
    """An individuals (XmR) chart: centre line, average moving range, natural process limits
    (centre ± 2.66 mR̄), sigma (a third of the limit distance: 2.66 mR̄ / 3) and the run-rule
    signals."""

    centre: Decimal
    moving_range: Decimal
    upper: Decimal
    lower: Decimal
    sigma: Decimal
    signals: tuple[RuleSignal, ...]
    points: int


def _dec(x: float) -> Decimal:
    """A binary float as the Decimal of its shortest repr (exact round trip)."""
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x}")
    return Decimal(repr(x))


def _z_exact(confidence: Decimal) -> Decimal:
    """Two-sided normal critical value, unrounded (1.959963984540054 for 95%)."""
    if not Decimal(0) < confidence < Decimal(1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return _dec(NormalDist().inv_cdf(float((1 + confidence) / 2)))


def _normal_two_sided_p(z: Decimal) -> Decimal:
    """P(|Z| >= |z|) for a standard normal Z."""
    return _dec(2 * NormalDist().cdf(-abs(float(z))))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            return h
    raise ArithmeticError("incomplete beta did not converge")


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0 and Student's T with `df` degrees of freedom."""
    return 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))


def _t_pdf(t: float, df: float) -> float:
    log_pdf = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
               - (df + 1) / 2 * math.log1p(t * t / df))
    return math.exp(log_pdf)


def _t_critical(confidence: Decimal, df: float) -> Decimal:
    """Two-sided Student t critical value c: P(|T| <= c) = confidence (Newton, bracketed)."""
    if not Decimal(0) < confidence < Decimal(1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if df <= 0:
        raise ValueError("t needs at least one degree of freedom")
    target = float((1 - confidence) / 2)
    low, high = 0.0, 1.0
    while _t_upper_tail(high, df) > target:
        low, high = high, high * 2
    c = max(low, min(high, NormalDist().inv_cdf(1 - target)))
    for _ in range(200):
        f = _t_upper_tail(c, df) - target
        if f > 0:
            low = c
        else:
            high = c
        step = f / _t_pdf(c, df)
        nxt = c + step
        if not low < nxt < high:
            nxt = (low + high) / 2
        if abs(nxt - c) <= 1e-15 * max(1.0, abs(c)):
            c = nxt
            break
        c = nxt
    return _dec(c)


def _t_two_sided_p(t: Decimal, df: Decimal) -> Decimal:
    """P(|T| >= |t|) for Student's T with `df` degrees of freedom."""
    return _dec(2 * _t_upper_tail(abs(float(t)), float(df)))


def proportion_interval(successes: int, n: int, *,
                        confidence: Decimal = _NINETY_FIVE) -> Interval:
    """A proportion (a top-box share, a share meeting the threshold) and its Wilson score
    interval, as fractions; exact z (`wilson_interval` keeps its 6-decimal z)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n and n > 0")
    z = _z_exact(confidence)
    p = Decimal(successes) / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / denominator
    return Interval(p, max(Decimal(0), centre - half), min(Decimal(1), centre + half),
                    "wilson", confidence)


def _nps_adjusted(promoters: int, passives: int, detractors: int) -> tuple[Decimal, Decimal]:
    """Adjusted-Wald NPS (as a fraction) and its variance per respondent: the trinomial
    variance p + d - (p - d)^2 of the counts with 0.75 added to promoters and detractors and
    1.5 to passives (Rocks 2016), so n + 3 respondents in all."""
    if min(promoters, passives, detractors) < 0:
        raise ValueError("category counts cannot be negative")
    n_adj = Decimal(promoters + passives + detractors + 3)
    p = (promoters + Decimal("0.75")) / n_adj
    d = (detractors + Decimal("0.75")) / n_adj
    return p - d, p + d - (p - d) * (p - d)


def nps_estimate(promoters: int, passives: int, detractors: int, *,
                 confidence: Decimal = _NINETY_FIVE) -> Interval:
    """NPS in points (-100..100) and its adjusted-Wald interval from the trinomial variance
    (the estimate is the plain (P - D) / n; the interval is centred on the adjusted one)."""
    n = promoters + passives + detractors
    if n <= 0:
        raise ValueError("an NPS needs at least one respondent")
    centre, variance = _nps_adjusted(promoters, passives, detractors)
    margin = _z_exact(confidence) * (variance / (n + 3)).sqrt()
    return Interval(Decimal(promoters - detractors) / n * _HUNDRED,
                    max(Decimal(-1), centre - margin) * _HUNDRED,
                    min(Decimal(1), centre + margin) * _HUNDRED,
                    "adjusted-wald", confidence)


def t_interval(mean: Decimal, sd: Decimal, n: int, *,
               confidence: Decimal = _NINETY_FIVE) -> Interval:
    """A mean from its summary (mean, sample standard deviation, n >= 2): mean ± t·sd/√n with
    the exact Student t quantile on n - 1 degrees of freedom."""
    if n < 2:
        raise ValueError("a mean interval needs at least 2 values")
    if sd < 0:
        raise ValueError("a standard deviation cannot be negative")
    margin = _t_critical(confidence, n - 1) * sd / Decimal(n).sqrt()
    return Interval(mean, mean - margin, mean + margin, "t", confidence)


def _mean_sd(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    n = len(values)
    mean = sum(values, Decimal(0)) / n
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / (n - 1)
    return mean, variance.sqrt()


def mean_t_interval(values: Sequence[Decimal], *,
                    confidence: Decimal = _NINETY_FIVE) -> Interval:
    """A mean of raw values and its exact t interval (`mean_interval` keeps its t table)."""
    if len(values) < 2:
        raise ValueError("a mean interval needs at least 2 values")
    mean, sd = _mean_sd(values)
    return t_interval(mean, sd, len(values), confidence=confidence)


def _order_rank(n: int, confidence: Decimal) -> int:
    """The largest k >= 1 with P(B <= k - 1) <= (1 - confidence) / 2, B ~ Binomial(n, 1/2);
    0 when even k = 1 fails (too few values for the confidence)."""
    half_alpha = Fraction(1 - confidence) / 2
    total = 2**n
    term, cumulative = 1, 0  # C(n, k) and the sum of C(n, j) for j < k, exact integers
    k = 0
    while k < n:
        cumulative += term
        if Fraction(cumulative, total) > half_alpha:
            break
        term = term * (n - k) // (k + 1)
        k += 1
    return k


def median_interval(values: Sequence[Decimal], *,
                    confidence: Decimal = _NINETY_FIVE) -> Interval:
    """The median and its distribution-free interval from order statistics: (x_(k),
    x_(n-k+1)) with k the largest rank such that P(B <= k - 1) <= alpha/2, B ~ Binomial(n, 1/2);
    its coverage is at least `confidence` whatever the distribution. Needs enough values
    (6 at 95%), else ValueError."""
    if not values:
        raise ValueError("median of no values")
    if not Decimal(0) < confidence < Decimal(1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    ordered = sorted(values)
    n = len(ordered)
    k = _order_rank(n, confidence)
    if k < 1:
        raise ValueError(f"{n} values are too few for a {confidence} median interval")
    return Interval(median(ordered), ordered[k - 1], ordered[n - k], "order-statistic",
                    confidence)


#: sqrt(pi / 2): the asymptotic standard error of a normal sample's median is this times sd/√n.
_MEDIAN_SE_FACTOR = Decimal("1.253314137315500251207882642")


def median_summary_interval(median_value: Decimal, sd: Decimal, n: int, *,
                            confidence: Decimal = _NINETY_FIVE) -> Interval:
    """A median known only from a summary (median, sd, n): median ± z·√(π/2)·sd/√n, the
    large-sample standard error of the median of a normal distribution. An approximation:
    skewed data (waiting times) make it too narrow; prefer `median_interval` on raw values."""
    if n < 1:
        raise ValueError("a median interval needs at least 1 value")
    if sd < 0:
        raise ValueError("a standard deviation cannot be negative")
    margin = _z_exact(confidence) * _MEDIAN_SE_FACTOR * sd / Decimal(n).sqrt()
    return Interval(median_value, median_value - margin, median_value + margin,
                    "normal-approximation", confidence)


def two_proportion_test(successes_before: int, n_before: int, successes_after: int,
                        n_after: int) -> Change:
    """Two-proportion z test with the pooled variance; proportions as fractions. When the
    pooled share is 0 or 1 the two shares are equal: z = 0, p = 1."""
    for s, n in ((successes_before, n_before), (successes_after, n_after)):
        if n <= 0 or not 0 <= s <= n:
            raise ValueError("need 0 <= successes <= n and n > 0")
    p1, p2 = Decimal(successes_before) / n_before, Decimal(successes_after) / n_after
    pooled = Decimal(successes_before + successes_after) / (n_before + n_after)
    variance = pooled * (1 - pooled) * (Decimal(1) / n_before + Decimal(1) / n_after)
    z = (p2 - p1) / variance.sqrt() if variance > 0 else Decimal(0)
    return Change(p1, p2, p2 - p1, z, _normal_two_sided_p(z), "two-proportion-z")


def nps_difference(before: tuple[int, int, int], after: tuple[int, int, int]) -> Change:
    """Change of NPS between two independent samples (promoters, passives, detractors each),
    in points: z = ΔNPS / √(v1/(n1+3) + v2/(n2+3)), the adjusted-Wald trinomial variances
    (never zero, so all-promoter samples can be compared)."""
    if sum(before) <= 0 or sum(after) <= 0:
        raise ValueError("an NPS needs at least one respondent")
    nps1 = Decimal(before[0] - before[2]) / sum(before)
    nps2 = Decimal(after[0] - after[2]) / sum(after)
    _, v1 = _nps_adjusted(*before)
    _, v2 = _nps_adjusted(*after)
    se = (v1 / (sum(before) + 3) + v2 / (sum(after) + 3)).sqrt()
    z = (nps2 - nps1) / se
    return Change(nps1 * _HUNDRED, nps2 * _HUNDRED, (nps2 - nps1) * _HUNDRED, z,
                  _normal_two_sided_p(z), "nps-difference-z")


def welch_test(before: tuple[Decimal, Decimal, int], after: tuple[Decimal, Decimal, int]) -> Change:
    """Welch's unequal-variance t test from two summaries (mean, sample sd, n >= 2 each), with
    the Welch-Satterthwaite degrees of freedom. Both sds zero: t = 0, p = 1 when the means are
    equal; unequal constant means are certain: p = 0."""
    (m1, s1, n1), (m2, s2, n2) = before, after
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's test needs at least 2 values a side")
    if s1 < 0 or s2 < 0:
        raise ValueError("a standard deviation cannot be negative")
    a, b = s1 * s1 / n1, s2 * s2 / n2
    if a + b == 0:
        same = m1 == m2
        return Change(m1, m2, m2 - m1, Decimal(0), Decimal(1) if same else Decimal(0),
                      "welch-t", Decimal(n1 + n2 - 2))
    t = (m2 - m1) / (a + b).sqrt()
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    return Change(m1, m2, m2 - m1, t, _t_two_sided_p(t, df), "welch-t", df)


#: Wheeler's scaling constant for natural process limits from the average moving range
#: (3 / d2, d2 = 1.128 for ranges of two).
XMR_LIMIT = Decimal("2.66")
RUN_LENGTH = 8


def _zone_count(points: Sequence[Decimal], centre: Decimal, width: Decimal,
                side: Literal["above", "below"]) -> int:
    if side == "above":
        return sum(1 for x in points if x > centre + width)
    return sum(1 for x in points if x < centre - width)


def xmr(values: Sequence[Decimal], *, baseline: int | None = None) -> ControlChart:
    """An individuals chart of `values` in time order. Limits come from the first `baseline`
    values (all by default): centre x̄, mR̄ the mean of |x_i - x_(i-1)|, natural process limits
    x̄ ± 2.66·mR̄, sigma = 2.66·mR̄ / 3. The run rules (Western Electric), each flagged at the
    point that completes the pattern, that point itself in the zone:

    * `beyond_limits`: a point above the upper or below the lower limit;
    * `run_of_8`: 8 points in a row strictly on one side of the centre line;
    * `2_of_3_beyond_2_sigma`: 2 of 3 points in a row beyond 2 sigma on one side;
    * `4_of_5_beyond_1_sigma`: 4 of 5 points in a row beyond 1 sigma on one side.

    A chart with zero moving range has its limits on the centre line: only a point off the
    line signals."""
    if len(values) < 2:
        raise ValueError("an XmR chart needs at least 2 values")
    basis = list(values[: baseline or len(values)])
    if len(basis) < 2:
        raise ValueError("an XmR chart's baseline needs at least 2 values")
    centre = sum(basis, Decimal(0)) / len(basis)
    ranges = [abs(b - a) for a, b in pairwise(basis)]
    moving_range = sum(ranges, Decimal(0)) / len(ranges)
    spread = XMR_LIMIT * moving_range
    sigma = spread / 3
    upper, lower = centre + spread, centre - spread
    signals: list[RuleSignal] = []
    sides: tuple[Literal["above", "below"], ...] = ("above", "below")
    for i, x in enumerate(values):
        if x > upper or x < lower:
            signals.append(RuleSignal("beyond_limits", i, "above" if x > upper else "below"))
        for side in sides:
            run = values[i + 1 - RUN_LENGTH:i + 1] if i + 1 >= RUN_LENGTH else []
            if run and all((v > centre) if side == "above" else (v < centre) for v in run):
                signals.append(RuleSignal(f"run_of_{RUN_LENGTH}", i, side))
            if (i >= 2 and _zone_count([x], centre, 2 * sigma, side) == 1
                    and _zone_count(values[i - 2:i + 1], centre, 2 * sigma, side) >= 2):
                signals.append(RuleSignal("2_of_3_beyond_2_sigma", i, side))
            if (i >= 4 and _zone_count([x], centre, sigma, side) == 1
                    and _zone_count(values[i - 4:i + 1], centre, sigma, side) >= 4):
                signals.append(RuleSignal("4_of_5_beyond_1_sigma", i, side))
    return ControlChart(centre, moving_range, upper, lower, sigma, tuple(signals), len(values))


def trend_word(change: Change | None, direction: MetricDirection, *,
               alpha: Decimal = ALPHA) -> TrendWord:
    """"improving" / "worsening" only when the change is distinguishable from noise
    (p < alpha), else "no detectable change" (also when there is no test)."""
    if change is None or change.p_value >= alpha or change.difference == 0:
        return "no detectable change"
    better = change.difference < 0 if direction == "decrease" else change.difference > 0
    return "improving" if better else "worsening"


def spc_word(chart: ControlChart | None, direction: MetricDirection, *,
             at: int | None = None) -> TrendWord:
    """The word an individuals chart gives point `at` (the latest by default): a run-rule
    signal completed at that point says the process moved, "improving" or "worsening" by the
    side it moved to; none (or signals on both sides) is "no detectable change"."""
    if chart is None:
        return "no detectable change"
    index = chart.points - 1 if at is None else at
    sides = {s.side for s in chart.signals if s.index == index}
    if len(sides) != 1:
        return "no detectable change"
    (side,) = sides
    better = side == "below" if direction == "decrease" else side == "above"
    return "improving" if better else "worsening"
