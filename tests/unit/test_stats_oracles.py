"""domain/stats.py checked against scipy and statsmodels as independent oracles (issue 15).

Every statistic is compared on seeded generated cases and on the edge cases (n = 0, all
promoters, zero variance, a single reading), to 1e-9 (relative to the value's size when it is
above 1). Each test counts its comparisons and the largest difference and prints them
(`pytest -s` shows them; the lines are also kept on the report's captured output).
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

import numpy as np
import pytest
from scipy import stats as sp
from statsmodels.stats.proportion import proportion_confint, proportions_ztest
from statsmodels.stats.weightstats import DescrStatsW

from domain import stats

TOLERANCE = 1e-9
CONFIDENCES = (Decimal("0.80"), Decimal("0.90"), Decimal("0.95"), Decimal("0.99"),
               Decimal("0.999"))


class Tally:
    """Counts compared numbers and keeps the largest (scaled) difference."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = 0
        self.compared = 0
        self.largest = 0.0

    def case(self) -> None:
        self.cases += 1

    def close(self, ours: Decimal | float, oracle: float, what: str = "") -> None:
        ours_f = float(ours)
        difference = abs(ours_f - oracle) / max(1.0, abs(oracle))
        self.compared += 1
        self.largest = max(self.largest, difference)
        assert difference <= TOLERANCE, f"{self.name} {what}: {ours_f!r} vs oracle {oracle!r}"

    def report(self, minimum_cases: int) -> None:
        print(f"\n[oracle] {self.name}: {self.cases} cases, {self.compared} numbers compared, "
              f"largest difference {self.largest:.3e}")
        assert self.cases >= minimum_cases
        assert self.largest <= TOLERANCE


def _rng(name: str) -> random.Random:
    return random.Random(f"stats-oracle-{name}")


def _decimal(x: float, places: int = 4) -> Decimal:
    return Decimal(repr(round(x, places)))


def test_critical_values_and_tails_of_student_t_match_scipy() -> None:
    tally = Tally("t critical value and two-sided p")
    rng = _rng("t")
    dfs = [1, 2, 3, 5, 10, 29, 30, 31, 100, 1000, *(rng.uniform(1, 400) for _ in range(60))]
    for df in dfs:
        for confidence in CONFIDENCES:
            tally.case()
            critical = stats._t_critical(confidence, df)
            tally.close(critical, float(sp.t.ppf((1 + float(confidence)) / 2, df)), f"df {df}")
        for t in (0.0, 0.3, 1.0, 1.96, 2.5, 4.0, 8.0):
            tally.case()
            ours = stats._t_two_sided_p(Decimal(repr(t)), Decimal(repr(df)))
            tally.close(ours, float(2 * sp.t.sf(t, df)), f"p df {df} t {t}")
    tally.report(500)


def test_wilson_intervals_match_statsmodels() -> None:
    tally = Tally("Wilson interval (proportion_interval)")
    rng = _rng("wilson")
    cases = [(0, 1), (1, 1), (0, 10), (10, 10), (5, 10), (118, 150), (0, 5000), (5000, 5000)]
    cases += [(s, n) for n in (rng.randint(1, 5000) for _ in range(300))
              for s in (rng.randint(0, n),)]
    for successes, n in cases:
        for confidence in CONFIDENCES:
            tally.case()
            ours = stats.proportion_interval(successes, n, confidence=confidence)
            low, high = proportion_confint(successes, n, alpha=1 - float(confidence),
                                           method="wilson")
            tally.close(ours.low, float(low), f"low {successes}/{n}")
            tally.close(ours.high, float(high), f"high {successes}/{n}")
            tally.close(ours.estimate, successes / n)
    with pytest.raises(ValueError):
        stats.proportion_interval(0, 0)  # n = 0: no interval
    tally.report(1500)


def _nps_oracle(promoters: int, passives: int, detractors: int,
                confidence: float) -> tuple[float, float, float]:
    """Adjusted-Wald NPS from statsmodels' weighted descriptive statistics of +1/0/-1 scores:
    the trinomial variance is the (ddof=0) variance of the adjusted score distribution."""
    n = promoters + passives + detractors
    scores = DescrStatsW(np.array([1.0, 0.0, -1.0]),
                         weights=np.array([promoters + 0.75, passives + 1.5, detractors + 0.75]),
                         ddof=0)
    margin = sp.norm.ppf((1 + confidence) / 2) * math.sqrt(scores.var / (n + 3))
    return ((promoters - detractors) / n * 100, max(-1.0, scores.mean - margin) * 100,
            min(1.0, scores.mean + margin) * 100)


def test_nps_intervals_match_the_trinomial_variance_of_statsmodels() -> None:
    tally = Tally("NPS adjusted-Wald interval")
    rng = _rng("nps")
    cases = [(1, 0, 0), (0, 0, 1), (0, 1, 0), (200, 0, 0), (0, 0, 200), (90, 70, 40),
             (5000, 0, 0)]
    for _ in range(300):
        n = rng.randint(1, 5000)
        p = rng.randint(0, n)
        d = rng.randint(0, n - p)
        cases.append((p, n - p - d, d))
    for counts in cases:
        for confidence in CONFIDENCES:
            tally.case()
            ours = stats.nps_estimate(*counts, confidence=confidence)
            nps, low, high = _nps_oracle(*counts, float(confidence))
            tally.close(ours.estimate, nps, f"nps {counts}")
            tally.close(ours.low, low, f"low {counts}")
            tally.close(ours.high, high, f"high {counts}")
    all_promoters = stats.nps_estimate(200, 0, 0)
    assert all_promoters.estimate == 100 and all_promoters.low < 100 == all_promoters.high
    with pytest.raises(ValueError):
        stats.nps_estimate(0, 0, 0)  # n = 0
    with pytest.raises(ValueError):
        stats.nps_estimate(-1, 5, 5)
    tally.report(1500)


def test_t_intervals_of_means_match_scipy_and_statsmodels() -> None:
    tally = Tally("t interval of a mean (summary and raw values)")
    rng = _rng("mean")
    for _ in range(150):
        n = rng.randint(2, 60)
        values = [_decimal(rng.gauss(50, rng.uniform(0.1, 20))) for _ in range(n)]
        floats = np.array([float(v) for v in values])
        for confidence in CONFIDENCES:
            tally.case()
            ours = stats.mean_t_interval(values, confidence=confidence)
            low, high = DescrStatsW(floats).tconfint_mean(alpha=1 - float(confidence))
            tally.close(ours.low, float(low), "raw low")
            tally.close(ours.high, float(high), "raw high")
            tally.case()
            mean, sd = _decimal(rng.uniform(-50, 50)), _decimal(rng.uniform(0, 30))
            summary = stats.t_interval(mean, sd, n, confidence=confidence)
            low, high = sp.t.interval(float(confidence), n - 1, loc=float(mean),
                                      scale=float(sd) / math.sqrt(n))
            tally.close(summary.low, float(low), "summary low")
            tally.close(summary.high, float(high), "summary high")
    flat = stats.mean_t_interval([Decimal(7)] * 5)  # zero variance: a zero-width interval
    assert flat.low == flat.estimate == flat.high == 7
    with pytest.raises(ValueError):
        stats.mean_t_interval([Decimal(7)])  # a single reading
    with pytest.raises(ValueError):
        stats.mean_t_interval([])  # n = 0
    tally.report(1500)


def _order_statistic_oracle(values: list[float], confidence: float) -> tuple[float, float]:
    """k from scipy's binomial cdf: the largest k with P(B <= k - 1) <= alpha / 2."""
    n = len(values)
    k = 0
    while k < n and sp.binom.cdf(k, n, 0.5) <= (1 - confidence) / 2 * (1 + 1e-12):
        k += 1
    ordered = np.sort(np.array(values))
    return float(ordered[k - 1]), float(ordered[n - k])


def test_median_intervals_match_the_binomial_order_statistics_of_scipy() -> None:
    tally = Tally("median order-statistic interval, median summary approximation")
    rng = _rng("median")
    for _ in range(150):
        n = rng.randint(6, 400)
        values = [_decimal(rng.expovariate(1 / 12), 2) for _ in range(n)]
        floats = [float(v) for v in values]
        for confidence in (Decimal("0.90"), Decimal("0.95")):
            tally.case()
            ours = stats.median_interval(values, confidence=confidence)
            low, high = _order_statistic_oracle(floats, float(confidence))
            tally.close(ours.estimate, float(np.median(floats)), "median")
            tally.close(ours.low, low, f"low n={n}")
            tally.close(ours.high, high, f"high n={n}")
        tally.case()
        sd = _decimal(float(np.std(floats, ddof=1)))
        approx = stats.median_summary_interval(ours.estimate, sd, n)
        margin = sp.norm.ppf(0.975) * math.sqrt(math.pi / 2) * float(sd) / math.sqrt(n)
        tally.close(approx.low, float(ours.estimate) - margin, "summary low")
        tally.close(approx.high, float(ours.estimate) + margin, "summary high")
    smallest = stats.median_interval([Decimal(v) for v in (5, 1, 4, 2, 6, 3)])
    assert (smallest.low, smallest.high) == (1, 6)  # n = 6 at 95%: the extremes
    constant = stats.median_interval([Decimal(3)] * 30)  # zero variance
    assert constant.low == constant.estimate == constant.high == 3
    with pytest.raises(ValueError):
        stats.median_interval([Decimal(v) for v in (1, 2, 3, 4, 5)])  # too few for 95%
    with pytest.raises(ValueError):
        stats.median_interval([])  # n = 0
    tally.report(400)


def test_two_proportion_tests_match_statsmodels() -> None:
    tally = Tally("two-proportion z test")
    rng = _rng("two-proportion")
    cases = [(1, 1, 0, 1), (30, 50, 40, 50), (118, 150, 120, 150), (0, 10, 10, 10)]
    for _ in range(400):
        n1, n2 = rng.randint(1, 3000), rng.randint(1, 3000)
        cases.append((rng.randint(0, n1), n1, rng.randint(0, n2), n2))
    for s1, n1, s2, n2 in cases:
        tally.case()
        ours = stats.two_proportion_test(s1, n1, s2, n2)
        z, p = proportions_ztest(np.array([s2, s1]), np.array([n2, n1]))
        tally.close(ours.statistic, float(z), f"z {(s1, n1, s2, n2)}")
        tally.close(ours.p_value, float(p), f"p {(s1, n1, s2, n2)}")
        tally.close(ours.difference, s2 / n2 - s1 / n1)
    same = stats.two_proportion_test(0, 40, 0, 60)  # pooled share 0: no variance, no change
    assert (same.statistic, same.p_value) == (0, 1)
    with pytest.raises(ValueError):
        stats.two_proportion_test(0, 0, 1, 2)  # n = 0
    tally.report(400)


def test_nps_differences_match_a_z_test_on_statsmodels_variances() -> None:
    tally = Tally("NPS difference z test")
    rng = _rng("nps-difference")

    def sample() -> tuple[int, int, int]:
        n = rng.randint(1, 3000)
        p = rng.randint(0, n)
        d = rng.randint(0, n - p)
        return p, n - p - d, d

    cases = [((200, 0, 0), (200, 0, 0)), ((200, 0, 0), (0, 0, 200)), ((1, 0, 0), (0, 1, 0)),
             ((90, 70, 40), (110, 60, 30))]
    cases += [(sample(), sample()) for _ in range(400)]
    for before, after in cases:
        tally.case()
        ours = stats.nps_difference(before, after)
        variances = []
        for p, q, d in (before, after):
            scores = DescrStatsW(np.array([1.0, 0.0, -1.0]),
                                 weights=np.array([p + 0.75, q + 1.5, d + 0.75]), ddof=0)
            variances.append(scores.var / (p + q + d + 3))
        difference = ((after[0] - after[2]) / sum(after) - (before[0] - before[2]) / sum(before))
        z = difference / math.sqrt(sum(variances))
        tally.close(ours.difference, difference * 100, f"difference {before} {after}")
        tally.close(ours.statistic, z, f"z {before} {after}")
        tally.close(ours.p_value, float(2 * sp.norm.sf(abs(z))), f"p {before} {after}")
    both_all_promoters = stats.nps_difference((200, 0, 0), (150, 0, 0))
    assert both_all_promoters.difference == 0 and both_all_promoters.p_value == 1
    with pytest.raises(ValueError):
        stats.nps_difference((0, 0, 0), (1, 0, 0))  # n = 0
    tally.report(400)


def test_welch_tests_match_scipy() -> None:
    tally = Tally("Welch t test (summaries and raw values)")
    rng = _rng("welch")
    for _ in range(300):
        n1, n2 = rng.randint(2, 500), rng.randint(2, 500)
        m1, m2 = _decimal(rng.uniform(0, 100)), _decimal(rng.uniform(0, 100))
        s1, s2 = _decimal(rng.uniform(0.01, 40)), _decimal(rng.uniform(0.01, 40))
        tally.case()
        ours = stats.welch_test((m1, s1, n1), (m2, s2, n2))
        result = sp.ttest_ind_from_stats(float(m2), float(s2), n2, float(m1), float(s1), n1,
                                         equal_var=False)
        tally.close(ours.statistic, float(result.statistic), "t")
        tally.close(ours.p_value, float(result.pvalue), "p")
        a, b = float(s1) ** 2 / n1, float(s2) ** 2 / n2
        tally.close(ours.df or 0, (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1)), "df")
    for _ in range(100):
        before = [_decimal(rng.gauss(20, 4)) for _ in range(rng.randint(2, 40))]
        after = [_decimal(rng.gauss(18, 6)) for _ in range(rng.randint(2, 40))]
        tally.case()
        summaries = [(*stats._mean_sd(v), len(v)) for v in (before, after)]
        ours = stats.welch_test(summaries[0], summaries[1])
        result = sp.ttest_ind([float(v) for v in after], [float(v) for v in before],
                              equal_var=False)
        tally.close(ours.statistic, float(result.statistic), "raw t")
        tally.close(ours.p_value, float(result.pvalue), "raw p")
    flat = stats.welch_test((Decimal(5), Decimal(0), 10), (Decimal(5), Decimal(0), 12))
    assert (flat.statistic, flat.p_value) == (0, 1)  # zero variance, no change
    moved = stats.welch_test((Decimal(5), Decimal(0), 10), (Decimal(6), Decimal(0), 12))
    assert moved.p_value == 0
    with pytest.raises(ValueError):
        stats.welch_test((Decimal(5), Decimal(1), 1), (Decimal(6), Decimal(1), 12))  # single
    tally.report(400)




def _rules_oracle(x: np.ndarray, centre: float, sigma: float, upper: float,
                  lower: float) -> set[tuple[str, int, str]]:
    """The four Western Electric rules written out independently with numpy."""
    found: set[tuple[str, int, str]] = set()
    for i in range(len(x)):
        if x[i] > upper:
            found.add(("beyond_limits", i, "above"))
        if x[i] < lower:
            found.add(("beyond_limits", i, "below"))
        for side, sign in (("above", 1.0), ("below", -1.0)):
            d = sign * (x - centre)
            if i >= 7 and np.all(d[i - 7:i + 1] > 0):
                found.add(("run_of_8", i, side))
            if i >= 2 and d[i] > 2 * sigma and np.sum(d[i - 2:i + 1] > 2 * sigma) >= 2:
                found.add(("2_of_3_beyond_2_sigma", i, side))
            if i >= 4 and d[i] > sigma and np.sum(d[i - 4:i + 1] > sigma) >= 4:
                found.add(("4_of_5_beyond_1_sigma", i, side))
    return found


def test_xmr_limits_and_run_rules_match_numpy() -> None:
    tally = Tally("XmR limits and run rules")
    rng = _rng("xmr")
    signalled = 0
    for case in range(300):
        n = rng.randint(2, 36)
        shift_at = rng.randint(1, n)
        shift = rng.choice((0.0, 0.0, 1.5, -2.0, 4.0))
        values = [_decimal(50 + rng.gauss(0, 3) + (shift * 3 if i >= shift_at else 0), 1)
                  for i in range(n)]
        if case % 50 == 0:
            values = [Decimal(40)] * n  # zero variance
        baseline = rng.choice((None, max(2, n // 2)))
        tally.case()
        chart = stats.xmr(values, baseline=baseline)
        x = np.array([float(v) for v in values])
        basis = x[: baseline or n]
        centre = float(np.mean(basis))
        moving_range = float(np.mean(np.abs(np.diff(basis))))
        tally.close(chart.centre, centre, "centre")
        tally.close(chart.moving_range, moving_range, "mR")
        tally.close(chart.upper, centre + 2.66 * moving_range, "upper")
        tally.close(chart.lower, centre - 2.66 * moving_range, "lower")
        ours = {(s.rule, s.index, s.side) for s in chart.signals}
        expected = _rules_oracle(x, float(chart.centre), float(chart.sigma), float(chart.upper),
                                 float(chart.lower))
        assert ours == expected, f"case {case}: {values}"
        signalled += bool(ours)
    assert signalled >= 30  # the generated shifts do make signals
    flat = stats.xmr([Decimal(40)] * 12)
    assert flat.signals == () and flat.upper == flat.lower == 40
    with pytest.raises(ValueError):
        stats.xmr([Decimal(40)])  # a single reading
    with pytest.raises(ValueError):
        stats.xmr([])
    tally.report(300)
