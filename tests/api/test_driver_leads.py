"""A driver with its own lead (issue 15, decision 115): `drivers=DF,DW,DE@1` pairs this month's
customer satisfaction with this month's operational metrics and last month's employee
satisfaction, the way the generated world of tests/api/test_drivers_http.py was drawn; one
global lag cannot say that. Checked against statsmodels on the same pairs."""

from __future__ import annotations

from typing import Any

import statsmodels.api as sm
from fastapi.testclient import TestClient

from tests.api.test_drivers_http import CX, MONTHS, OWNER, record, world


def _fit(series: dict[str, list[dict[str, Any]]]) -> Any:
    """statsmodels OLS of DC on DF, DW (same month) and DE (the month before), per cohort."""
    by = {code: {(r["cohort"], r["observed_at"][:7]): float(r["value"]) for r in rows}
          for code, rows in series.items()}
    months = [f"{y}-{m:02d}" for y, m in MONTHS]
    xs, ys = [], []
    for cohort, month in sorted(by["DC"]):
        index = months.index(month)
        if index == 0:
            continue
        xs.append([by["DF"][(cohort, month)], by["DW"][(cohort, month)],
                   by["DE"][(cohort, months[index - 1])]])
        ys.append(by["DC"][(cohort, month)])
    return sm.OLS(ys, sm.add_constant(xs)).fit()


def test_one_driver_leads_by_its_own_months(client: TestClient) -> None:
    series = world(client)
    record(client, series)
    got = client.get("/v1/metrics/DC/drivers?drivers=DF,DW,DE@1", headers=OWNER)
    assert got.status_code == 200, got.text
    body = got.json()["item"]
    terms = body["terms"]
    assert [(t["name"], t["metric"], t["lag_months"]) for t in terms] == [
        ("intercept", "intercept", 0), ("DF", "DF", 0), ("DW", "DW", 0), ("DE@1", "DE", 1)]
    assert [t["kind"] for t in terms] == [None, "customer", "customer", "customer"]
    fit = _fit(series)
    assert body["observations"] == len(fit.model.endog)
    bounds = fit.conf_int(0.05)
    for i, term in enumerate(terms):
        assert abs(float(term["estimate"]) - fit.params[i]) <= 1e-6
        assert abs(float(term["lower"]) - bounds[i][0]) <= 1e-6
        assert abs(float(term["upper"]) - bounds[i][1]) <= 1e-6
    # drawn as 0.5 FCR, -0.3 wait, +0.4 last month's employee satisfaction
    for term, drawn in zip(terms[1:], (0.5, -0.3, 0.4), strict=True):
        assert float(term["lower"]) < drawn < float(term["upper"]), term
        assert term["moves_outcome"]
    assert set(body["proposed_weights"]) == {"DF", "DW", "DE"}  # keyed by metric code
    # the global lag leads the others too: DF and DW then no longer explain DC
    everyone = client.get("/v1/metrics/DC/drivers?drivers=DF,DW,DE&lag=1", headers=OWNER)
    lagged = {t["metric"]: t for t in everyone.json()["item"]["terms"]}
    assert lagged["DF"]["word"] == "not distinguishable from noise"


def test_an_employee_driver_says_so_and_a_bad_lead_is_refused(client: TestClient) -> None:
    defined = client.post("/v1/metrics", headers=CX, json={
        "code": "EX1", "customer_phrasing": "I can help customers",
        "operational_metric": "Staff agreeing", "unit": "%", "direction": "increase",
        "baseline": "50", "target": "80", "kind": "employee"})
    assert defined.status_code == 201, defined.text
    series = world(client)
    series["EX1"] = [dict(r) for r in series["DE"]]
    record(client, series)
    got = client.get("/v1/metrics/DC/drivers?drivers=DF,EX1@1", headers=CX).json()["item"]
    assert [t["kind"] for t in got["terms"]] == [None, "customer", "employee"]
    for bad in ("DF,EX1@13", "DF,EX1@", "DF@x"):
        refused = client.get(f"/v1/metrics/DC/drivers?drivers={bad}", headers=CX)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
