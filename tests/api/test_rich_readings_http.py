"""Richer readings over HTTP (issue 15, parts 1-3): counts and summaries accepted, bad counts
refused as problem+json naming `readings.N.<field>` with nothing written, and the scorecard
card's intervals, tested change, trend word, threshold share and control chart, live and as
of a position."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth

CX = auth("cx.chief", "cx_exec")
INGEST = auth("bot", "ingest")
NPS_METRIC = {"code": "MN", "customer_phrasing": "I would recommend Harborview",
              "operational_metric": "Relationship NPS", "unit": "points",
              "direction": "increase", "baseline": "20", "target": "40",
              "customer_threshold": "9"}


def nps(month: int, promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    n = promoters + passives + detractors
    return {"value": str(round((promoters - detractors) * 100 / n, 1)),
            "observed_at": f"2026-{month:02d}-28T00:00:00Z", "sample_size": n,
            "promoters": promoters, "passives": passives, "detractors": detractors,
            "channel": "app", "region": "north"}


def post(client: TestClient, metric: str, key: str, *readings: dict[str, Any]) -> Any:
    return client.post(f"/v1/metrics/{metric}/observations", headers=INGEST,
                       json={"batch_key": key, "source": "survey", "readings": list(readings)})


def card(client: TestClient, metric: str, **query: Any) -> dict[str, Any]:
    got = client.get("/v1/scorecard", headers=CX, params={"period": "FY2027", **query})
    assert got.status_code == 200, got.text
    found: dict[str, Any] = next(c for c in got.json()["items"] if c["metric"] == metric)
    return found


BAD = [
    ({"promoters": 50, "passives": 20, "detractors": 40}, "readings.1.sample_size"),
    ({"promoters": 50, "detractors": 40}, "readings.1.passives"),
    ({"promoters": -1, "passives": 61, "detractors": 40}, "readings.1.promoters"),
    ({"median": "9", "p90": "8"}, "readings.1.p90"),
    ({"share_meeting": "1.5"}, "readings.1.share_meeting"),
    ({"top_box": 101}, "readings.1.top_box"),
]


@pytest.mark.parametrize(("fields", "named"), BAD)
def test_bad_counts_are_refused_naming_the_field_and_nothing_is_written(
        client: TestClient, runtime: Runtime, fields: dict[str, Any], named: str) -> None:
    good = {"value": "50", "observed_at": "2026-05-31T00:00:00Z", "sample_size": 100}
    before = runtime.app.position()
    response = post(client, "M1", "bad", good, {**good, **fields})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert named in [e["field"] for e in response.json()["errors"]]
    assert runtime.app.position() == before


def test_bad_counts_in_a_bulk_request_name_the_batch_and_reading(
        client: TestClient, runtime: Runtime) -> None:
    before = runtime.app.position()
    response = client.post("/v1/observations", headers=INGEST, json={"batches": [
        {"metric": "M1", "batch_key": "ok", "source": "crm",
         "readings": [{"value": "50", "observed_at": "2026-05-31T00:00:00Z"}]},
        {"metric": "M2", "batch_key": "bad", "source": "crm",
         "readings": [{"value": "5", "observed_at": "2026-05-31T00:00:00Z",
                       "sample_size": 10, "median": "5", "p90": "4"}]}]})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["batches.1.readings.0.p90"]
    assert runtime.app.position() == before


def test_the_card_shows_intervals_a_tested_change_and_its_word_live_and_as_of(
        client: TestClient) -> None:
    assert client.post("/v1/metrics", headers=CX, json=NPS_METRIC).status_code == 201
    first = post(client, "MN", "m3", nps(3, 90, 70, 40))
    assert first.status_code == 201, first.text
    after_first = first.json()["position"]
    # a small sample a month later: +5 points, not distinguishable from noise
    second = post(client, "MN", "m4", nps(4, 47, 35, 18))
    assert second.status_code == 201, second.text
    shown = card(client, "MN", min_position=second.json()["position"])
    (interval,) = shown["intervals"]
    assert (interval["of"], interval["method"]) == ("nps", "adjusted-wald")
    assert float(interval["low"]) < 29 < float(interval["high"])
    change = shown["change"]
    assert change["method"] == "nps-difference-z" and change["significant"] is False
    assert shown["trend_word"] == change["word"] == "no detectable change"
    assert shown["trend_direction"] == "improving"  # the raw change, kept as before
    # a large sample with a real rise: +31 points
    third = post(client, "MN", "m5", nps(5, 1400, 400, 200))
    shown = card(client, "MN", min_position=third.json()["position"])
    assert shown["change"]["significant"] is True
    assert float(shown["change"]["p_value"]) < 0.001
    assert shown["trend_word"] == "improving" and shown["trend_basis"] == "test"
    # as of the first batch: one reading, an interval but no change and no word
    then = card(client, "MN", as_of=after_first)
    assert then["change"] is None and then["trend_word"] is None
    assert [i["of"] for i in then["intervals"]] == ["nps"]


def test_the_card_shows_the_threshold_share_and_a_mean_interval(client: TestClient) -> None:
    reading = {"value": "4.5", "observed_at": "2026-05-31T00:00:00Z", "sample_size": 120,
               "mean": "5.2", "sd": "3.1", "median": "4.5", "p90": "11",
               "share_meeting": "0.625"}
    written = post(client, "M2", "summary", reading)
    assert written.status_code == 201, written.text
    shown = card(client, "M2", min_position=written.json()["position"])
    assert {i["of"]: i["method"] for i in shown["intervals"]} == {
        "mean": "t", "median": "normal-approximation"}
    share = shown["threshold_share"]
    assert (share["share"], share["sample_size"]) == ("0.625", 120)
    assert float(share["low"]) < 0.625 < float(share["high"])


def test_a_shift_in_an_operational_metric_is_a_control_chart_signal(client: TestClient) -> None:
    steady = ["30", "31", "29", "30", "32", "30", "29", "31", "30", "31", "30", "29"]
    readings = [{"value": v, "observed_at": f"2025-{m:02d}-28T00:00:00Z"}
                for m, v in enumerate(steady, start=1)]
    readings.append({"value": "18", "observed_at": "2026-01-28T00:00:00Z"})  # M3 falls
    written = post(client, "M3", "history", *readings)
    assert written.status_code == 201, written.text
    shown = card(client, "M3", min_position=written.json()["position"])
    spc = shown["spc"]
    assert spc["baseline_points"] == 12 and spc["latest_signals"] == ["beyond_limits"]
    assert float(spc["lower"]) > 18
    assert shown["trend_basis"] == "control chart"
    assert shown["trend_word"] == spc["word"] == "improving"  # M3 is lower-is-better
