"""Key-driver analysis (issue 15, part 4): ordinary least squares of an outcome (a
relationship metric such as NPS or CSAT) on its drivers (the operational metrics mapped to
it, or an employee-experience metric, optionally lagged), with each coefficient's standard
error, t statistic, two-sided p-value and confidence interval.

Pure standard library (the domain imports nothing else); the t distribution is
domain/stats.py's. The fit is the textbook one statsmodels' `OLS(y, add_constant(X))`
computes (tests/unit/test_drivers.py checks it against statsmodels to 1e-9): coefficients
b = (X'X)^-1 X'y, residual variance s^2 = RSS / (n - k - 1), se = sqrt(s^2 diag((X'X)^-1)),
t = b / se, p = P(|T_df| >= |t|), interval b +- t_crit(df) se, R^2 = 1 - RSS / TSS. A
standardised coefficient (b sd_x / sd_y) ranks the drivers on one scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.policy import whole_points
from domain.stats import _dec, _t_critical, _t_two_sided_p

PRECISION = Decimal("0.000001")


class FitRefused(ValueError):
    """The data cannot be fitted (too few observations, a constant or collinear driver)."""


@dataclass(frozen=True)
class Coefficient:
    """One term of the fit (the intercept is named 'intercept')."""

    name: str
    estimate: float
    std_error: float
    t: float
    p_value: float
    lower: float
    upper: float
    standardized: float | None  # b * sd_x / sd_y; None for the intercept


@dataclass(frozen=True)
class Fit:
    """An OLS fit with an intercept."""

    n: int
    df_resid: int
    r_squared: float
    adj_r_squared: float
    coefficients: tuple[Coefficient, ...]  # the intercept first, then the drivers in order


def _solve_inverse(a: list[list[float]]) -> list[list[float]]:
    """The inverse of a symmetric positive-definite matrix (Gauss-Jordan, partial pivoting);
    FitRefused when it is singular (a constant or collinear driver)."""
    k = len(a)
    m = [row[:] + [1.0 if i == j else 0.0 for j in range(k)] for i, row in enumerate(a)]
    scale = max((abs(v) for row in a for v in row), default=1.0) or 1.0
    for col in range(k):
        pivot = max(range(col, k), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) <= 1e-12 * scale:
            raise FitRefused("the drivers are constant or collinear: no unique fit")
        m[col], m[pivot] = m[pivot], m[col]
        p = m[col][col]
        m[col] = [v / p for v in m[col]]
        for r in range(k):
            if r != col and m[r][col] != 0.0:
                f = m[r][col]
                m[r] = [v - f * w for v, w in zip(m[r], m[col], strict=True)]
    return [row[k:] for row in m]


def _sd(values: Sequence[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def ols(y: Sequence[float], x: Sequence[Sequence[float]], names: Sequence[str], *,
        confidence: Decimal = Decimal("0.95")) -> Fit:
    """Fit y = b0 + sum(b_j x_j) + e. `x` holds one row per observation, one column per
    name. Needs at least one residual degree of freedom beyond the terms."""
    n, k = len(y), len(names) + 1
    if any(len(row) != len(names) for row in x) or len(x) != n:
        raise ValueError("x needs one row per observation and one column per driver")
    if not names:
        raise FitRefused("name at least one driver")
    if n < k + 1:
        raise FitRefused(f"{n} observations cannot fit {k} terms (need at least {k + 1})")
    # each driver scaled by its largest magnitude (the fit is the same, the solve is better
    # conditioned); estimates and errors are scaled back below, t and p do not change
    scales = [1.0] + [max((abs(float(row[j])) for row in x), default=1.0) or 1.0
                      for j in range(len(names))]
    raw = [[1.0, *map(float, row)] for row in x]
    design = [[v / sc for v, sc in zip(row, scales, strict=True)] for row in raw]
    xtx = [[math.fsum(r[i] * r[j] for r in design) for j in range(k)] for i in range(k)]
    xty = [math.fsum(r[i] * yi for r, yi in zip(design, y, strict=True)) for i in range(k)]
    inv = _solve_inverse(xtx)
    beta = [math.fsum(inv[i][j] * xty[j] for j in range(k)) for i in range(k)]
    fitted = [math.fsum(b * v for b, v in zip(beta, r, strict=True)) for r in design]
    rss = math.fsum((yi - fi) ** 2 for yi, fi in zip(y, fitted, strict=True))
    mean_y = math.fsum(y) / n
    tss = math.fsum((yi - mean_y) ** 2 for yi in y)
    if tss == 0.0:
        raise FitRefused("the outcome does not vary: nothing to explain")
    df = n - k
    s2 = rss / df
    crit = float(_t_critical(confidence, float(df)))
    sd_y = _sd(y)
    coefficients = []
    for i in range(k):
        se_scaled = math.sqrt(max(s2 * inv[i][i], 0.0))
        t = beta[i] / se_scaled if se_scaled > 0 else math.copysign(math.inf, beta[i])
        p = float(_t_two_sided_p(_dec(t), Decimal(df))) if math.isfinite(t) else 0.0
        b, se = beta[i] / scales[i], se_scaled / scales[i]
        standardized = (None if i == 0 else b * _sd([row[i] for row in raw]) / sd_y)
        coefficients.append(Coefficient(
            name="intercept" if i == 0 else names[i - 1], estimate=b, std_error=se,
            t=t, p_value=p, lower=b - crit * se, upper=b + crit * se,
            standardized=standardized))
    r2 = 1.0 - rss / tss
    return Fit(n=n, df_resid=df, r_squared=r2,
               adj_r_squared=1.0 - (1.0 - r2) * (n - 1) / df,
               coefficients=tuple(coefficients))


def shown(x: float | None) -> str | None:
    """A statistic as text to six decimal places (None stays None)."""
    if x is None:
        return None
    if not math.isfinite(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) >= 1e15:  # beyond six places in the default 28-digit context: as it is
        return str(_dec(x))
    return str(_dec(x).quantize(PRECISION))


def proposed_weights(fit: Fit, *, alpha: float = 0.05) -> dict[str, int]:
    """Scoring-policy weights for the drivers that move the outcome (p < alpha): whole points
    summing to 100 in proportion to their absolute standardised coefficients (largest
    remainder, ties to the code), keyed by the driver's metric code, as the policy's
    `weights` take them. Empty when no driver is significant."""
    moving = {c.name: _dec(abs(c.standardized)) for c in fit.coefficients[1:]
              if c.standardized is not None and c.p_value < alpha and c.standardized != 0}
    return whole_points(moving)
