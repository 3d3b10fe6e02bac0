"""Key-driver analysis (issue 15, part 4): domain/drivers.py's OLS against statsmodels as an
independent oracle on generated cases (every coefficient, standard error, t, p-value, 95%
interval and R^2 to 1e-9), its refusals, and the proposed weights."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import statsmodels.api as sm

from domain.drivers import FitRefused, ols, proposed_weights, shown

CASES = 200


def close(ours: float, theirs: float, tol: float = 1e-9) -> bool:
    return math.isclose(ours, theirs, rel_tol=tol, abs_tol=tol)


def generated(seed: int) -> tuple[list[float], list[list[float]], list[str]]:
    rng = random.Random(seed)
    k = rng.randint(1, 4)
    n = rng.randint(k + 2, 40)
    betas = [rng.uniform(-3, 3) for _ in range(k)]
    x = [[rng.uniform(0, 100) for _ in range(k)] for _ in range(n)]
    noise = rng.choice([0.1, 1.0, 10.0, 50.0])
    y = [5 + sum(b * v for b, v in zip(betas, row, strict=True)) + rng.gauss(0, noise)
         for row in x]
    return y, x, [f"D{j}" for j in range(k)]


def test_ols_equals_statsmodels_on_generated_cases() -> None:
    largest = 0.0
    for seed in range(CASES):
        y, x, names = generated(seed)
        ours = ols(y, x, names)
        theirs = sm.OLS(np.array(y), sm.add_constant(np.array(x), has_constant="add")).fit()
        ci = theirs.conf_int(alpha=0.05)
        assert ours.n == int(theirs.nobs) and ours.df_resid == int(theirs.df_resid)
        pairs = [(ours.r_squared, theirs.rsquared), (ours.adj_r_squared, theirs.rsquared_adj)]
        for i, c in enumerate(ours.coefficients):
            pairs += [(c.estimate, theirs.params[i]), (c.std_error, theirs.bse[i]),
                      (c.t, theirs.tvalues[i]), (c.p_value, theirs.pvalues[i]),
                      (c.lower, ci[i][0]), (c.upper, ci[i][1])]
        for a, b in pairs:
            assert close(a, float(b)), (seed, a, b)
            largest = max(largest, abs(a - float(b)) / max(1.0, abs(float(b))))
    assert largest < 1e-9


def test_standardised_coefficients_are_the_fit_on_z_scores() -> None:
    y, x, names = generated(7)
    ours = ols(y, x, names)
    ys = (np.array(y) - np.mean(y)) / np.std(y, ddof=1)
    xa = np.array(x)
    xs = (xa - xa.mean(axis=0)) / xa.std(axis=0, ddof=1)
    theirs = sm.OLS(ys, sm.add_constant(xs, has_constant="add")).fit()
    for i, c in enumerate(ours.coefficients[1:], start=1):
        assert c.standardized is not None and close(c.standardized, float(theirs.params[i]))


def test_refusals_too_few_constant_collinear_and_flat_outcome() -> None:
    with pytest.raises(FitRefused, match="observations"):
        ols([1.0, 2.0], [[1.0], [2.0]], ["A"])  # two terms need three observations
    with pytest.raises(FitRefused, match="constant or collinear"):
        ols([1.0, 2.0, 4.0, 3.0], [[5.0], [5.0], [5.0], [5.0]], ["A"])
    with pytest.raises(FitRefused, match="constant or collinear"):
        ols([1.0, 2.0, 4.0, 3.0, 6.0],
            [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0], [5.0, 10.0]], ["A", "B"])
    with pytest.raises(FitRefused, match="does not vary"):
        ols([3.0, 3.0, 3.0, 3.0], [[1.0], [2.0], [3.0], [5.0]], ["A"])
    with pytest.raises(FitRefused, match="at least one driver"):
        ols([1.0, 2.0, 3.0], [[], [], []], [])


def test_a_perfect_fit_has_zero_standard_errors_and_is_significant() -> None:
    fit = ols([3.0, 5.0, 7.0, 9.0], [[1.0], [2.0], [3.0], [4.0]], ["A"])
    assert close(fit.coefficients[1].estimate, 2.0) and close(fit.r_squared, 1.0)
    assert fit.coefficients[1].p_value < 1e-6


def test_proposed_weights_are_whole_points_over_the_significant_drivers() -> None:
    rng = random.Random(3)
    x = [[rng.uniform(0, 10), rng.uniform(0, 10), rng.uniform(0, 10)] for _ in range(60)]
    y = [2 * a - 1 * b + 0 * c + rng.gauss(0, 0.5) for a, b, c in x]
    fit = ols(y, x, ["A", "B", "C"])
    weights = proposed_weights(fit)
    assert set(weights) == {"A", "B"}  # C does not move the outcome
    assert sum(weights.values()) == 100 and weights["A"] > weights["B"]
    flat = ols([rng.gauss(0, 1) for _ in range(30)],
               [[rng.uniform(0, 1)] for _ in range(30)], ["N"])
    assert flat.coefficients[1].p_value >= 0.05  # noise (p = 0.90 for this seed)
    assert proposed_weights(flat) == {}


def test_statistics_are_shown_to_six_places_whatever_their_size() -> None:
    assert shown(0.1234564999) == "0.123456" and shown(None) is None
    assert shown(float("inf")) == "inf" and shown(float("-inf")) == "-inf"
    assert shown(1e30) == "1E+30"  # no InvalidOperation from quantize at 28 digits
    fit = ols([1.0, 2.0, 4.0, 3.0], [[1e20], [2e20], [4.1e20], [3e20]], ["A"])
    assert all(shown(c.estimate) for c in fit.coefficients)
