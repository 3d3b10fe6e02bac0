"""Key drivers over HTTP (issue 15, part 4): GET /v1/metrics/{code}/drivers regresses a CSAT
outcome on the operational metrics mapped to it (sources `metric:<CODE>`) over months and
cohorts, says which move it and how sure we are, proposes policy weights the policy preview
takes, asks whether employee satisfaction leads customer satisfaction (a lag), and reads as
of a position; an unknown metric or driver is problem+json and nothing is written."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth

CX = auth("cx.chief", "cx_exec")
INGEST = auth("bot", "ingest")
OWNER = auth("rob", "pnl_owner", pnls=("RB",))
COHORTS = ("north", "south", "east")
MONTHS = [(2025, m) for m in range(1, 13)] + [(2026, m) for m in range(1, 7)]


def metric(code: str, phrasing: str, direction: str = "increase") -> dict[str, Any]:
    low, high = ("10", "90") if direction == "increase" else ("90", "10")
    return {"code": code, "customer_phrasing": phrasing, "operational_metric": phrasing,
            "unit": "%", "direction": direction, "baseline": low, "target": high}


def reading(year: int, month: int, cohort: str, value: float) -> dict[str, Any]:
    return {"value": f"{value:.2f}", "observed_at": f"{year}-{month:02d}-20T00:00:00Z",
            "cohort": cohort}


def world(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    """CSAT (DC) = 20 + 0.5 FCR (DF) - 0.3 wait (DW) + noise; DN is unrelated; employee
    satisfaction (DE) one month earlier adds 0.4."""
    for body in (metric("DC", "I got what I needed"), metric("DF", "First-contact resolution"),
                 metric("DW", "Minutes waiting", "decrease"), metric("DN", "Brochures sent"),
                 metric("DE", "Employee satisfaction")):
        assert client.post("/v1/metrics", headers=CX, json=body).status_code == 201
    rng = random.Random(15)
    series: dict[str, list[dict[str, Any]]] = {c: [] for c in ("DC", "DF", "DW", "DN", "DE")}
    for cohort in COHORTS:
        employee = {m: rng.uniform(40, 80) for m in [(2024, 12), *MONTHS]}
        for index, (y, m) in enumerate(MONTHS):
            fcr, wait, noise = rng.uniform(50, 90), rng.uniform(2, 30), rng.uniform(0, 100)
            earlier = MONTHS[index - 1] if index else (2024, 12)
            csat = (20 + 0.5 * fcr - 0.3 * wait + 0.4 * (employee[earlier] - 60)
                    + rng.gauss(0, 1.5))
            for code, value in (("DC", csat), ("DF", fcr), ("DW", wait), ("DN", noise),
                                ("DE", employee[(y, m)])):
                series[code].append(reading(y, m, cohort, value))
    return series


def record(client: TestClient, series: dict[str, list[dict[str, Any]]]) -> int:
    got = client.post("/v1/observations", headers=INGEST, json={"batches": [
        {"metric": code, "batch_key": f"drivers-{code}", "source": "test", "readings": rows}
        for code, rows in series.items()]})
    assert got.status_code == 201, got.text
    return int(got.json()["position"])


def item(name: str, source: str) -> dict[str, str]:
    return {"name": name, "source": source, "aggregation": "monthly mean",
            "department": "Contact Centre"}


def test_drivers_say_which_operational_metrics_move_csat_and_how_sure(
        client: TestClient, runtime: Runtime) -> None:
    series = world(client)
    mapped = client.post("/v1/metrics/DC/operational-metrics", headers=CX, json={
        "operational_metrics": [item("First-contact resolution", "metric:DF"),
                                item("Minutes waiting", "metric:DW"),
                                item("Brochures sent", "metric:DN"),
                                item("Agent tenure", "HR system")]})  # no readings: not used
    assert mapped.status_code == 201, mapped.text
    before = runtime.app.position()
    record(client, series)

    got = client.get("/v1/metrics/DC/drivers", headers=OWNER)
    assert got.status_code == 200, got.text
    body = got.json()["item"]
    assert body["drivers"] == ["DF", "DW", "DN"]
    assert body["observations"] == len(COHORTS) * len(MONTHS)
    assert body["cohorts"] == sorted(COHORTS) and body["refused"] is None
    terms = {t["metric"]: t for t in body["terms"]}
    assert list(terms) == ["intercept", "DF", "DW", "DN"]
    assert terms["DF"]["word"] == "moves it up" and terms["DF"]["moves_outcome"]
    assert terms["DF"]["operational_metric"] == "First-contact resolution"
    assert terms["DF"]["department"] == "Contact Centre"
    assert float(terms["DF"]["lower"]) < 0.5 < float(terms["DF"]["upper"])
    assert terms["DW"]["word"] == "moves it down"
    assert float(terms["DW"]["lower"]) < -0.3 < float(terms["DW"]["upper"])
    assert terms["DN"]["word"] == "not distinguishable from noise"
    assert float(terms["DN"]["lower"]) < 0 < float(terms["DN"]["upper"])
    weights = body["proposed_weights"]
    assert set(weights) == {"DF", "DW"} and sum(weights.values()) == 100

    # the proposal goes through the existing policy preview, unadopted
    preview = client.post("/v1/scoring-policy/preview", headers=CX,
                          json={"period": "FY2027", "weights": weights})
    assert preview.status_code == 200, preview.text
    assert runtime.app.position() == got.json()["position"]  # reading wrote nothing

    one = client.get("/v1/metrics/DC/drivers?segment=north", headers=CX).json()["item"]
    assert one["cohorts"] == ["north"] and one["observations"] == len(MONTHS)

    # does employee satisfaction lead customer satisfaction? last month's does
    lagged = client.get("/v1/metrics/DC/drivers?drivers=DF,DW,DE&lag=1", headers=CX)
    assert lagged.status_code == 200, lagged.text
    led = {t["metric"]: t for t in lagged.json()["item"]["terms"]}
    assert led["DE"]["word"] == "moves it up" and lagged.json()["item"]["lag_months"] == 1
    assert lagged.json()["item"]["observations"] == len(COHORTS) * (len(MONTHS) - 1)
    same = client.get("/v1/metrics/DC/drivers?drivers=DF,DW,DE", headers=CX).json()["item"]
    same_terms = {t["metric"]: t for t in same["terms"]}
    assert same_terms["DE"]["word"] == "not distinguishable from noise"

    then = client.get(f"/v1/metrics/DC/drivers?as_of={before}", headers=CX)
    assert then.status_code == 200 and then.json()["position"] == before
    assert then.json()["item"]["observations"] == 0
    assert then.json()["item"]["refused"] and then.json()["item"]["terms"] == []


def test_unknown_metric_or_driver_is_a_problem(client: TestClient) -> None:
    missing = client.get("/v1/metrics/NOPE/drivers", headers=CX)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "metric.not_found"
    bad = client.get("/v1/metrics/M1/drivers?drivers=M2,NOPE", headers=CX)
    assert bad.status_code == 422 and bad.json()["code"] == "validation.invalid"
    assert "NOPE" in bad.json()["detail"]
    assert client.get("/v1/metrics/M1/drivers?lag=13", headers=CX).status_code == 422
    none = client.get("/v1/metrics/M1/drivers", headers=CX).json()["item"]
    assert none["drivers"] == [] and none["refused"] == "name at least one driver"


def test_the_drivers_page_draws_intervals_live_and_as_of(client: TestClient,
                                                         runtime: Runtime) -> None:
    from tests.api.test_re_decisions_dashboard import signed_in

    series = world(client)
    assert client.post("/v1/metrics/DC/operational-metrics", headers=CX, json={
        "operational_metrics": [item("First-contact resolution", "metric:DF"),
                                item("Minutes waiting <script>", "metric:DW"),
                                item("Brochures sent", "metric:DN")]}).status_code == 201
    before = runtime.app.position()
    record(client, series)
    with signed_in(runtime, "rob", "pnl_owner") as page_client:
        page = page_client.get("/dashboard/drivers?metric=DC")
        assert page.status_code == 200, page.text
        text = page.text
        assert 'id="drivers-plot"' in text and text.count('class="driver moves"') == 2
        assert text.count('class="driver"') == 1  # DN: not distinguishable from noise
        assert 'class="tick"' in text and "2025-01 to 2026-06" in text
        assert "Minutes waiting &lt;script&gt;" in text and "<script>" not in text
        assert 'id="proposed-weights"' in text and "points. A proposal only" in text
        default = page_client.get("/dashboard/drivers").text  # first metric with drivers
        assert 'id="drivers-plot"' in default and "DC:" in default
        lagged = page_client.get("/dashboard/drivers?metric=DC&names=DE&lag=1").text
        assert "1 month(s) earlier" in lagged and 'class="driver moves"' in lagged
        then = page_client.get(f"/dashboard/drivers?metric=DC&as_of={before}")
        assert then.status_code == 200 and 'id="refused"' in then.text
        unknown = page_client.get("/dashboard/drivers?metric=DC&names=NOPE")
        assert unknown.status_code == 422 and 'id="unknown-drivers"' in unknown.text
        missing = page_client.get("/dashboard/drivers?metric=NOPE")
        assert missing.status_code == 404 and 'id="missing-metric"' in missing.text
