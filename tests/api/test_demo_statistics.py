"""The demo tells signal from noise (issue 15 acceptance): on Harborview with its seeded history
(governance/entrypoints/demo_history.py and demo_drivers.py), read over the API, at least one
metric shows a statistically significant improvement, one a change not distinguishable from
noise (labelled "no detectable change"), one metric a control-chart (XmR) signal, and the
relationship metric NPS a key-driver analysis with three operational metrics and the
employee-experience metric STAFF a month earlier.

Nothing is taken on trust: every figure the API reports is recomputed from the demo's own
readings (`readings(bundled_company())`, not the read model) with domain.stats, and checked
against scipy / statsmodels as independent oracles."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
import statsmodels.api as sm
from fastapi.testclient import TestClient
from scipy import stats as sp

from api.app import create_app
from domain import stats
from domain.values import Reading
from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history, readings
from tests.api.conftest import auth, harborview_runtime

CX = auth("cx.chief", "cx_exec")
OWNER = auth("rob", "pnl_owner", pnls=("RB",))
TOLERANCE = 1e-9
SHOWN = 1e-6  # the driver table prints six decimal places


@pytest.fixture(scope="module")
def demo_runtime() -> Iterator[Runtime]:
    runtime = harborview_runtime()
    apply_history(runtime.app, bundled_company())
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def demo(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def cards(demo: TestClient) -> dict[str, dict[str, Any]]:
    got = demo.get("/v1/scorecard?period=FY2027", headers=OWNER)
    assert got.status_code == 200, got.text
    return {c["metric"]: c for c in got.json()["items"]}


def monthly() -> dict[str, dict[str, Reading]]:
    """The demo's readings of the whole (no cohort), metric -> month -> reading."""
    found: dict[str, dict[str, Reading]] = {}
    for code, _, batch, _ in readings(bundled_company()):
        for r in batch:
            if r.cohort is None:
                found.setdefault(code, {})[f"{r.observed_at:%Y-%m}"] = r
    return found


def close(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    return abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b)))


def test_a_significant_improvement_is_tested_and_shown(
        cards: dict[str, dict[str, Any]]) -> None:
    improved = {code: c for code, c in cards.items()
                if c["trend_word"] == "improving" and c["trend_basis"] == "test"}
    assert "NPS" in improved, {c: (v["trend_word"], v["trend_basis"]) for c, v in cards.items()}
    nps = improved["NPS"]
    change = nps["change"]
    assert change["method"] == "nps-difference-z" and change["significant"] is True
    assert change["word"] == "improving" and Decimal(change["p_value"]) < stats.ALPHA
    series = monthly()["NPS"]
    before, after = series[change["from_month"]], series[change["to_month"]]
    assert before.categories and after.categories
    again = stats.nps_difference(before.categories, after.categories)
    assert Decimal(change["p_value"]) == again.p_value
    assert Decimal(change["difference"]) == again.difference > 0
    # oracle: the two-sided normal tail of the same z (scipy), and z itself from floats
    z = float(change["statistic"])
    assert close(change["p_value"], 2 * sp.norm.sf(abs(z)))

    def adjusted(counts: tuple[int, int, int]) -> tuple[float, float]:
        # adjusted Wald (Rocks 2016): 0.75 more promoters and detractors, 1.5 more passives
        p, _, d = counts
        m = sum(counts) + 3
        pp, pd = (p + 0.75) / m, (d + 0.75) / m
        return pp - pd, pp + pd - (pp - pd) ** 2

    (_, v1), (_, v2) = adjusted(before.categories), adjusted(after.categories)
    n1, n2 = sum(before.categories), sum(after.categories)
    nps1 = (before.categories[0] - before.categories[2]) / n1
    nps2 = (after.categories[0] - after.categories[2]) / n2
    assert close(z, (nps2 - nps1) / ((v1 / (n1 + 3) + v2 / (n2 + 3)) ** 0.5))
    (interval,) = [i for i in nps["intervals"] if i["of"] == "nps"]
    shown = stats.nps_estimate(*after.categories)
    assert (Decimal(interval["low"]), Decimal(interval["high"])) == (shown.low, shown.high)
    assert Decimal(interval["low"]) > Decimal(change["before"])  # clear of last month


def test_a_change_within_noise_is_labelled_no_detectable_change(
        cards: dict[str, dict[str, Any]]) -> None:
    noise = {code: c for code, c in cards.items()
             if c["trend_word"] == "no detectable change" and c["change"] is not None}
    assert "M1" in noise
    m1 = noise["M1"]
    change = m1["change"]
    assert (change["method"], change["significant"], change["word"]) == (
        "welch-t", False, "no detectable change")
    assert m1["trend_basis"] == "test" and m1["spc"]["latest_signals"] == []
    series = monthly()["M1"]
    before, after = series[change["from_month"]], series[change["to_month"]]
    summaries = [(r.mean, r.sd, r.sample_size) for r in (before, after)]
    assert all(m is not None and s is not None and n for m, s, n in summaries)
    oracle = sp.ttest_ind_from_stats(
        float(after.mean or 0), float(after.sd or 0), after.sample_size or 0,
        float(before.mean or 0), float(before.sd or 0), before.sample_size or 0,
        equal_var=False)
    assert close(change["statistic"], oracle.statistic)
    assert close(change["p_value"], oracle.pvalue)
    assert float(change["p_value"]) >= 0.05
    means = {i["of"]: i for i in m1["intervals"]}
    assert set(means) == {"mean", "median"}
    low, high = sp.t.interval(0.95, (after.sample_size or 0) - 1, loc=float(after.mean or 0),
                              scale=float(after.sd or 0) / (after.sample_size or 1) ** 0.5)
    assert close(means["mean"]["low"], low) and close(means["mean"]["high"], high)


def test_a_control_chart_signals_a_real_shift(cards: dict[str, dict[str, Any]]) -> None:
    signalling = {code: c for code, c in cards.items() if c["spc"] and c["spc"]["signals"]}
    assert "M4" in signalling
    spc = signalling["M4"]["spc"]
    assert "beyond_limits" in spc["latest_signals"] and spc["word"] == "improving"
    months = sorted(monthly()["M4"].items())
    values = [r.value for _, r in months]
    chart = stats.xmr(values, baseline=spc["baseline_points"])
    assert [{"rule": s.rule, "month": months[s.index][0], "side": s.side}
            for s in chart.signals] == spc["signals"]
    # oracle: natural process limits by hand from the baseline months (numpy-free floats)
    base = [float(v) for v in values[:spc["baseline_points"]]]
    centre = sum(base) / len(base)
    ranges = [abs(b - a) for a, b in pairwise(base)]
    mr = sum(ranges) / len(ranges)
    assert close(spc["centre"], centre) and close(spc["moving_range"], mr)
    assert close(spc["upper"], centre + 2.66 * mr) and close(spc["lower"], centre - 2.66 * mr)
    beyond = [m for (m, _), v in zip(months, values, strict=True)
              if not centre - 2.66 * mr <= float(v) <= centre + 2.66 * mr]
    assert {s["month"] for s in spc["signals"] if s["rule"] == "beyond_limits"} == set(beyond)
    quiet = {code for code, c in cards.items() if c["spc"] and not c["spc"]["signals"]}
    assert "M1" in quiet  # a stable process raises nothing


def test_nps_has_a_driver_analysis_with_three_operational_metrics_and_staff(
        demo: TestClient) -> None:
    mapped = demo.get("/v1/metrics/NPS/drivers", headers=OWNER)
    assert mapped.status_code == 200, mapped.text
    default = mapped.json()["item"]
    assert default["drivers"] == ["M2", "M4", "M9"] and default["refused"] is None
    assert {t["department"] for t in default["terms"][1:]} == {
        "Disputes & Chargebacks", "Claims Operations", "Contact Centre"}

    got = demo.get("/v1/metrics/NPS/drivers?drivers=M2,M4,M9,STAFF@1", headers=OWNER)
    assert got.status_code == 200, got.text
    body = got.json()["item"]
    terms = body["terms"]
    assert [t["name"] for t in terms] == ["intercept", "M2", "M4", "M9", "STAFF@1"]
    assert [(t["metric"], t["lag_months"], t["kind"]) for t in terms[1:]] == [
        ("M2", 0, "customer"), ("M4", 0, "customer"), ("M9", 0, "customer"),
        ("STAFF", 1, "employee")]
    assert sum(t["operational_metric"] is not None for t in terms) >= 3
    assert any(t["moves_outcome"] for t in terms[1:])
    # oracle: statsmodels OLS on the demo's own readings (STAFF from the month before)
    series = monthly()
    ordered = sorted(series["NPS"])
    rows, ys = [], []
    for earlier, month in pairwise(ordered):
        rows.append([float(series[c][month].value) for c in ("M2", "M4", "M9")]
                    + [float(series["STAFF"][earlier].value)])
        ys.append(float(series["NPS"][month].value))
    assert body["observations"] == len(ys) == 17
    fit = sm.OLS(ys, sm.add_constant(rows)).fit()
    intervals = fit.conf_int(0.05)
    for i, term in enumerate(terms):
        assert abs(float(term["estimate"]) - fit.params[i]) <= SHOWN
        assert abs(float(term["std_error"]) - fit.bse[i]) <= SHOWN
        assert abs(float(term["p_value"]) - fit.pvalues[i]) <= SHOWN
        assert abs(float(term["lower"]) - intervals[i][0]) <= SHOWN
        assert abs(float(term["upper"]) - intervals[i][1]) <= SHOWN
        if i:
            assert term["moves_outcome"] == (fit.pvalues[i] < 0.05)
    assert abs(float(body["r_squared"]) - fit.rsquared) <= SHOWN


def test_staff_is_an_employee_metric_on_the_scorecard(demo: TestClient,
                                                      cards: dict[str, dict[str, Any]]) -> None:
    assert cards["STAFF"]["kind"] == "employee"
    assert {c["kind"] for code, c in cards.items() if code != "STAFF"} == {"customer"}
    metric = demo.get("/v1/metrics/STAFF", headers=OWNER)
    assert metric.status_code == 200 and metric.json()["item"]["kind"] == "employee"
    stories = demo.get("/v1/you-said-we-did", headers=OWNER)
    assert stories.status_code == 200
    assert "STAFF" not in {s["metric"] for s in stories.json()["items"]}


def test_a_bad_lead_or_kind_is_a_problem_and_nothing_is_written(demo: TestClient) -> None:
    before = demo.get("/v1/metrics?limit=500", headers=OWNER).json()
    bad = demo.get("/v1/metrics/NPS/drivers?drivers=M2,STAFF@13", headers=OWNER)
    assert bad.status_code == 422 and bad.json()["code"] == "validation.invalid"
    assert bad.headers["content-type"] == "application/problem+json"
    robot = demo.post("/v1/metrics", headers=CX, json={
        "code": "BOT", "customer_phrasing": "Beep", "operational_metric": "Beeps",
        "unit": "beeps", "direction": "increase", "baseline": "1", "target": "2",
        "kind": "robot"})
    assert robot.status_code == 422 and "kind" in robot.text
    assert demo.get("/v1/metrics?limit=500", headers=OWNER).json() == before


def test_the_drivers_page_offers_employee_experience_a_month_earlier(
        demo_runtime: Runtime) -> None:
    from tests.api.test_re_decisions_dashboard import signed_in

    with signed_in(demo_runtime, "rob", "pnl_owner") as client:
        page = client.get("/dashboard/drivers?metric=NPS")
        assert page.status_code == 200, page.text
        assert 'id="with-ex"' in page.text
        assert "names=M2%2CM4%2CM9%2CSTAFF%401" in page.text
        led = client.get("/dashboard/drivers?metric=NPS&names=M2,M4,M9,STAFF@1")
        assert led.status_code == 200, led.text
        assert "(1 month earlier)" in led.text and "employee experience</small>" in led.text
        assert led.text.count('class="driver') == 4 and "STAFF@1" in led.text
        bad = client.get("/dashboard/drivers?metric=NPS&names=STAFF@99")
        assert bad.status_code == 422 and 'id="unknown-drivers"' in bad.text
