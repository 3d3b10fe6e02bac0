"""A metric's scorecard by segment (issue 15, part 7): the API, the dashboard drill-down and
`cxgov scorecard --by`, live and as of a position. A segment's interval is checked against
statsmodels; a segment with too few responses says so and shows no interval or trend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from statsmodels.stats.proportion import proportion_confint

from api.app import create_app
from api.web.session import COOKIE
from governance.bootstrap import Runtime
from governance.stores.sessions import Claims, sessions_of
from tests.api.conftest import auth, cli_harborview, cxgov

CX = auth("cx.chief", "cx_exec")
INGEST = auth("bot", "ingest")
NPS_METRIC = {"code": "MN", "customer_phrasing": "I would recommend Harborview",
              "operational_metric": "Relationship NPS", "unit": "points",
              "direction": "increase", "baseline": "20", "target": "40"}
SHARE_METRIC = {"code": "MS", "customer_phrasing": "My problem was solved the first time",
                "operational_metric": "First-contact resolution", "unit": "%",
                "direction": "increase", "baseline": "60", "target": "80"}


def nps(month: int, counts: tuple[int, int, int], **segment: str) -> dict[str, Any]:
    p, s, d = counts
    n = p + s + d
    return {"value": str(round((p - d) * 100 / n, 1)), "sample_size": n,
            "observed_at": f"2026-{month:02d}-28T00:00:00Z", "promoters": p, "passives": s,
            "detractors": d, **segment}


def post(client: TestClient, metric: str, key: str, *readings: dict[str, Any]) -> int:
    got = client.post(f"/v1/metrics/{metric}/observations", headers=INGEST,
                      json={"batch_key": key, "source": "survey", "readings": list(readings)})
    assert got.status_code == 201, got.text
    position: int = got.json()["position"]
    return position


def segments(client: TestClient, metric: str, **query: Any) -> dict[str, Any]:
    got = client.get(f"/v1/metrics/{metric}/segments", headers=CX, params=query)
    assert got.status_code == 200, got.text
    item: dict[str, Any] = got.json()["item"]
    return item


def by_label(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in item["segments"]}


def world(client: TestClient) -> tuple[int, int]:
    """MN read in two months: the app channel rises far beyond noise; the web channel has 20
    responses a month (fewer than the policy's 30)."""
    assert client.post("/v1/metrics", headers=CX, json=NPS_METRIC).status_code == 201
    first = post(client, "MN", "m3",
                 nps(3, (90, 70, 40), channel="app", region="north"),
                 nps(3, (8, 6, 6), channel="web", region="north"))
    second = post(client, "MN", "m4",
                  nps(4, (1400, 400, 200), channel="app", region="north"),
                  nps(4, (12, 4, 4), channel="web", region="south"))
    return first, second


def test_segments_by_channel_show_signal_and_say_when_there_are_too_few_responses(
        client: TestClient) -> None:
    first, second = world(client)
    item = segments(client, "MN", by="channel", min_position=second)
    assert item["by"] == "channel" and item["dimensions"] == ["channel", "region"]
    assert item["min_sample_size"] == 30
    app, web = by_label(item)["app"], by_label(item)["web"]
    assert app["enough"] is True and app["sample_size"] == 2000 and app["month"] == "2026-04"
    assert app["change"]["significant"] is True and app["trend_word"] == "improving"
    assert [i["of"] for i in app["intervals"]] == ["nps"]
    assert web["enough"] is False and web["sample_size"] == 20
    assert "too few responses" in web["note"] and "30" in web["note"]
    assert web["intervals"] == [] and web["change"] is None and web["trend_word"] is None
    assert web["current"] == "40.0"  # the value is still shown
    # as of the first batch: one month each, so no change and no trend word yet
    then = by_label(segments(client, "MN", by="channel", as_of=str(first)))
    assert then["app"]["months"] == 1 and then["app"]["change"] is None
    assert then["app"]["note"] == "one month of readings: no trend yet"
    # the default dimension is the first the readings carry; regions keep their own months
    regions = segments(client, "MN", min_position=second)
    assert regions["by"] == "channel"
    north = by_label(segments(client, "MN", by="region"))["north"]
    assert north["months"] == 2 and north["readings"] == 3


def test_a_share_segments_interval_is_wilson_as_statsmodels_computes_it(
        client: TestClient) -> None:
    assert client.post("/v1/metrics", headers=CX, json=SHARE_METRIC).status_code == 201
    readings = [{"value": f"{Decimal(k * 100) / n:.4f}", "sample_size": n, "cohort": cohort,
                 "observed_at": "2026-05-20T00:00:00Z"}
                for cohort, k, n in (("new", 37, 52), ("tenured", 410, 500), ("all", 1, 3))]
    where = post(client, "MS", "cohorts", *readings)
    item = segments(client, "MS", by="cohort", min_position=where)
    assert sorted(by_label(item)) == ["all", "new", "tenured"]
    for cohort, k, n in (("new", 37, 52), ("tenured", 410, 500)):
        (interval,) = by_label(item)[cohort]["intervals"]
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert interval["method"] == "wilson"
        assert abs(float(interval["low"]) - low * 100) < 1e-9
        assert abs(float(interval["high"]) - high * 100) < 1e-9
    assert by_label(item)["all"]["enough"] is False  # n = 3


def test_refusals_name_what_is_wrong(client: TestClient) -> None:
    wrong = client.get("/v1/metrics/MN/segments", headers=CX)
    assert wrong.status_code == 404 and wrong.json()["code"] == "metric.not_found"
    assert wrong.headers["content-type"].startswith("application/problem+json")
    bad = client.get("/v1/metrics/M1/segments", headers=CX, params={"by": "planet"})
    assert bad.status_code == 422
    assert client.get("/v1/metrics/M1/segments").status_code == 401
    plain = segments(client, "M1", by="channel")  # a dimension its readings do not carry
    assert plain["segments"] == [] and "channel" not in plain["dimensions"]


def test_the_dashboard_drills_down_from_the_card(runtime: Runtime) -> None:
    session = sessions_of(runtime).start(
        Claims("audit.one", "Auditor", ("auditor",), (), "cxgov"),
        idle=timedelta(minutes=5), lifetime=timedelta(minutes=5))
    with TestClient(create_app(runtime), cookies={COOKIE: session}) as browser, \
            TestClient(create_app(runtime)) as client:
        _, second = world(client)
        card = browser.get("/dashboard/scorecard", params={"min_position": second})
        assert card.status_code == 200
        assert 'href="/dashboard/scorecard/MN/segments?period=FY2027"' in card.text
        page = browser.get("/dashboard/scorecard/MN/segments", params={"by": "channel"})
        assert page.status_code == 200
        assert 'data-segment="app" data-enough="yes"' in page.text
        assert 'data-segment="web" data-enough="no"' in page.text
        assert "too few responses: n = 20, fewer than 30" in page.text
        assert "★ significant" in page.text
        assert 'aria-current="page">Channel<' in page.text
        missing = browser.get("/dashboard/scorecard/NOPE/segments")
        assert missing.status_code == 404


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)


def test_the_command_line_drills_down_by_segment(shared: Runtime) -> None:
    with TestClient(create_app(shared)) as client:
        world(client)
    code, out = cxgov("scorecard", "FY2027", "--metric", "MN", "--by", "channel")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("MN by channel")
    app = next(line for line in lines if line.strip().startswith("app"))
    assert "improving (p=" in app and "2000" in app
    web = next(line for line in lines if line.strip().startswith("web"))
    assert "too few responses" in web
    code, out = cxgov("scorecard", "FY2027", "--by", "planet")
    assert code != 0 and "--by must be one of" in out
    code, out = cxgov("scorecard", "FY2027", "--metric", "NOPE", "--by", "region")
    assert code != 0 and "no metric NOPE" in out
