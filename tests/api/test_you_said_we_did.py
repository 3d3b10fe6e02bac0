""""You said, we did" over HTTP, on the dashboard and from the CLI, on the living demo."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.web.session import COOKIE
from governance.bootstrap import Runtime
from governance.entrypoints import feed as feed_cli
from governance.entrypoints.cli import app as cli
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import HistoryReport, apply_history
from governance.principal import AUDITOR, FINANCE, INGEST, PNL_OWNER
from governance.settings import get_settings
from governance.stores.sessions import Claims, sessions_of
from projections.query import ReadModels
from projections.rows import jsonable
from tests.api.conftest import auth, harborview_runtime

A = "{http://www.w3.org/2005/Atom}"
WM_OWNER = auth("wm.viewer", PNL_OWNER, pnls=("WM",))


@pytest.fixture(scope="module")
def alive() -> Iterator[tuple[TestClient, Runtime, HistoryReport]]:
    """The demo company with its history, served."""
    runtime = harborview_runtime()
    report = apply_history(runtime.app, bundled_company())
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, runtime, report
    runtime.close()


def test_the_stories_are_typed_and_the_same_for_every_initiative_reader(
        alive: tuple[TestClient, Runtime, HistoryReport]) -> None:
    client = alive[0]
    answers = [client.get("/v1/you-said-we-did", headers=h).json() for h in (
        WM_OWNER, auth("f", FINANCE), auth("a", AUDITOR))]
    assert answers[0] == answers[1] == answers[2]
    told = [s for s in answers[0]["items"] if s["deliveries"]]
    assert len(told) == 8 and all(s["sentence"].startswith("You said: \u201c") for s in told)
    refused = client.get("/v1/you-said-we-did", headers=auth("bot", INGEST))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_as_of_the_first_decision_point_nothing_was_delivered(
        alive: tuple[TestClient, Runtime, HistoryReport]) -> None:
    client, _, report = alive
    then = client.get(f"/v1/you-said-we-did?as_of={report.decision_point}",
                      headers=WM_OWNER).json()
    assert then["position"] == report.decision_point
    assert [s["deliveries"] for s in then["items"]] == [[]] * 9
    assert client.get("/v1/you-said-we-did?as_of=banana", headers=WM_OWNER).status_code == 422


def test_the_json_feed_is_served_as_application_feed_json(
        alive: tuple[TestClient, Runtime, HistoryReport]) -> None:
    response = alive[0].get("/v1/you-said-we-did/feed.json", headers=WM_OWNER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/feed+json")
    document = response.json()
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == "http://testserver/v1/you-said-we-did/feed.json"
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids)) == 11  # nine deliveries, two of them on two metrics
    dates = [item["date_published"] for item in document["items"]]
    assert dates == sorted(dates, reverse=True)
    assert all(item["content_text"] and item["_cxgov"]["verdict"] for item in document["items"])


def test_the_atom_feed_is_served_and_parses(
        alive: tuple[TestClient, Runtime, HistoryReport]) -> None:
    response = alive[0].get("/v1/you-said-we-did/feed.atom", headers=WM_OWNER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert [root.find(A + t) is not None for t in ("id", "title", "updated", "author")] == [
        True] * 4
    entries = root.findall(f"{A}entry")
    assert len(entries) == 11
    assert all(e.find(f"{A}id") is not None and e.find(f"{A}updated") is not None
               for e in entries)


def page(alive: tuple[TestClient, Runtime, HistoryReport], path: str, role: str,
         pnls: tuple[str, ...] = ()) -> Any:
    client, runtime, _ = alive
    session = sessions_of(runtime).start(Claims("p", "p", (role,), pnls, "cxgov"),
                                         idle=timedelta(hours=1), lifetime=timedelta(hours=1))
    return client.get(path, headers={"Cookie": f"{COOKIE}={session}"})


def test_the_dashboard_page_tells_the_stories_by_scenario(
        alive: tuple[TestClient, Runtime, HistoryReport]) -> None:
    shown = page(alive, "/dashboard/you-said-we-did", PNL_OWNER, ("WM",))
    assert shown.status_code == 200
    text = shown.text
    assert 'data-scenario="S4"' in text and 'id="M4"' in text
    assert "I25 Claims-to-payment end-to-end redesign" in text
    assert "Secret" not in text and "Paperless branch tablet" not in text  # I03: undecided
    assert "You said, we did</a>" in text  # the navigation link
    assert ("Get my claim paid after an accident \u2014 you said “Paid within a week of the "
            "accident” and “Send documents once”; we delivered I13, I11 and "
            "I25.") in text
    then = page(alive, f"/dashboard/you-said-we-did?as_of={alive[2].decision_point}",
                PNL_OWNER, ("WM",))
    assert 'id="nothing-delivered"' in then.text
    assert page(alive, "/dashboard/you-said-we-did", INGEST).status_code == 403


def test_cxgov_feed_prints_text_json_and_the_two_feeds(
        alive: tuple[TestClient, Runtime, HistoryReport],
        monkeypatch: pytest.MonkeyPatch) -> None:
    models: ReadModels = alive[1].read_models()
    monkeypatch.setattr(feed_cli, "read", lambda query: jsonable(query(models)))
    runner = CliRunner()
    text = runner.invoke(cli, ["feed"])
    assert text.exit_code == 0, text.output
    assert "S4 Get my claim paid after an accident" in text.output
    atom = runner.invoke(cli, ["feed", "--format", "atom", "--base-url", "https://cx.example"])
    root = ET.fromstring(atom.output.encode("utf-8"))
    assert len(root.findall(f"{A}entry")) == 11
    assert root.find(f"{A}link[@rel='self']").get("href") == (  # type: ignore[union-attr]
        "https://cx.example/v1/you-said-we-did/feed.atom")
    jsonfeed = json.loads(runner.invoke(cli, ["feed", "--format", "jsonfeed"]).output)
    assert len(jsonfeed["items"]) == 11 and "feed_url" not in jsonfeed
    stories = json.loads(runner.invoke(cli, ["feed", "--format", "json"]).output)
    assert len(stories) == 10  # the nine metrics and NPS (STAFF, an EX metric, has none)


def test_cxgov_demo_applies_the_history_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    handler = signal.getsignal(signal.SIGTERM)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CXGOV_STORE", "memory")
    monkeypatch.setenv("CXGOV_DEMO_SIGN_IN", "false")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["demo", "--no-serve"])
    finally:
        signal.signal(signal.SIGTERM, handler)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "commands of seeded history" in result.output
    assert "first decision point is position" in result.output


def test_per_scenario_the_metrics_and_the_work_delivered_for_them(
        alive: tuple[TestClient, Runtime, HistoryReport]) -> None:
    found = alive[0].get("/v1/you-said-we-did", headers=WM_OWNER).json()["scenarios"]
    assert [s["code"] for s in found] == ["S2", "S3", "S4", "S5", "S6", "S7"]
    s4 = found[2]
    assert (s4["metrics"], s4["delivered"]) == (["M4", "M5"], ["I13", "I11", "I25"])
    assert s4["sentence"] == (
        "Get my claim paid after an accident \u2014 you said \u201cPaid within a week of the "
        "accident\u201d and \u201cSend documents once\u201d; we delivered I13, I11 and I25.")
