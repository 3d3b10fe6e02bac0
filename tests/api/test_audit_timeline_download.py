"""The audit timeline's downloads hold the page's view (issue 17, decisions 260-261): the CSV
and JSON links carry the filters (kind, record, initiative, actor) and the as-of, the file holds
every row of every page of that view through the position shown and no other, the link says
which view it downloads, and a hostile filter value is the page's 422, never a 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from api.web import audit_timeline
from governance.bootstrap import Runtime
from projections.rows import AuditEvent
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import CX_CHIEF

PERIOD = "FY2027"


@pytest.fixture
def auditor(runtime: Runtime) -> Iterator[TestClient]:
    """Harborview, one approval on top, and an auditor's dashboard session."""
    top = runtime.app.assess(PERIOD).entries[0].code
    runtime.app.decide(CX_CHIEF, initiative_id=runtime.app.initiative_id(PERIOD, top),
                       outcome="approve", rationale="Top of the ranking.")
    with signed_in(runtime, "audit.one", "auditor") as client:
        yield client


def every_event(runtime: Runtime) -> list[AuditEvent]:
    return runtime.read_models().audit_events(limit=1_000_000)


def download_links(html: str) -> dict[str, str]:
    """The audit page's CSV and JSON download addresses."""
    return {fmt: unescape(href) for href, fmt in
            re.findall(r'<a href="([^"]+)" id="export-audit-(csv|json)"', html)}


def csv_positions(text: str) -> list[int]:
    return [int(r["position"]) for r in csv.DictReader(io.StringIO(text))]


def test_a_filtered_timeline_downloads_every_page_of_its_view_and_nothing_else(
        auditor: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_timeline, "TIMELINE_PAGE", 10)  # the view is several pages
    events = every_event(runtime)
    wanted = [e.position for e in events if ".Initiative." in e.topic]
    assert 10 < len(wanted) < len(events)  # more than a page, fewer than all
    page = auditor.get("/dashboard/audit?show=all&family=Initiative").text
    links = download_links(page)
    assert links["csv"] == f"/dashboard/export/audit.csv?period={PERIOD}&show=all&family=" \
                           "Initiative"
    assert "Download this timeline (every event, record Initiative; all pages):" in page
    assert csv_positions(auditor.get(links["csv"]).text) == wanted  # oldest first, every page
    body = auditor.get(links["json"]).json()
    assert [e["position"] for e in body["events"]] == wanted
    assert body["filters"] == {"show": "all", "family": "Initiative"}
    assert auditor.get("/dashboard/export/audit.json").json()["filters"] == {"show": "decisions"}
    unfiltered = auditor.get("/dashboard/export/audit.json?show=all").json()
    assert [e["position"] for e in unfiltered["events"]] == [e.position for e in events]


def test_the_actor_and_initiative_filters_download_exactly_their_rows(
        auditor: TestClient, runtime: Runtime) -> None:
    card = runtime.read_models().snapshot().initiatives(PERIOD)[0]
    mine = [e.position for e in every_event(runtime)
            if e.aggregate_id == card.id and e.actor == "cxgov|rb.owner"]
    assert mine
    page = auditor.get(f"/dashboard/audit?show=all&initiative={card.code}&actor=rb.owner").text
    assert (f"Download this timeline (every event, initiative {card.code}, by rb.owner):"
            in page)
    links = download_links(page)
    rows = list(csv.DictReader(io.StringIO(auditor.get(links["csv"]).text)))
    assert [int(r["position"]) for r in rows] == mine
    assert {r["initiative"] for r in rows} == {card.code}  # named by code, as the page does
    assert [e["position"] for e in auditor.get(links["json"]).json()["events"]] == mine
    missing = auditor.get("/dashboard/export/audit.json?initiative=NOPE1").json()
    assert missing["events"] == [] and missing["unknown_initiative"] == "NOPE1"


def test_the_download_is_the_view_as_of_the_position_shown(auditor: TestClient,
                                                           runtime: Runtime) -> None:
    point = every_event(runtime)[-1].position  # the approval on top
    second = runtime.app.assess(PERIOD).entries[1].code
    runtime.app.decide(CX_CHIEF, initiative_id=runtime.app.initiative_id(PERIOD, second),
                       outcome="defer", rationale="Next quarter.")
    page = auditor.get(f"/dashboard/audit?as_of={point}&actor=chris").text
    assert "Download this timeline (by chris) as of position" in page
    links = download_links(page)
    assert f"as_of={point}" in links["csv"] and "actor=chris" in links["csv"]
    body = auditor.get(links["json"]).json()
    assert body["position"] == point
    assert [e["topic"] for e in body["events"]] == ["cxgov.Initiative.Approved"]
    now = auditor.get("/dashboard/export/audit.json?actor=chris").json()
    assert [e["topic"] for e in now["events"]] == ["cxgov.Initiative.Approved",
                                                   "cxgov.Initiative.Deferred"]


def test_a_download_reads_the_whole_view_a_part_at_a_time(
        auditor: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = csv_positions(auditor.get("/dashboard/export/audit.csv?show=all").text)
    monkeypatch.setattr(audit_timeline, "DOWNLOAD_READ", 7)
    assert csv_positions(auditor.get("/dashboard/export/audit.csv?show=all").text) == whole
    assert whole == [e.position for e in every_event(runtime)]


@pytest.mark.parametrize("query", [
    "show=everything", "family=Nope", "family=Initiative%25", "actor=%3Cscript%3E",
    "actor=" + "a" * 81, "initiative=I%2501", "initiative=a%20b", "initiative=" + "I" * 41,
])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_hostile_filter_is_refused_as_the_page_refuses_it(auditor: TestClient, query: str,
                                                            fmt: str) -> None:
    page = auditor.get(f"/dashboard/audit?{query}")
    answer = auditor.get(f"/dashboard/export/audit.{fmt}?{query}")
    assert answer.status_code == page.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert query.split("=")[0] in answer.text
    assert "attachment" not in answer.headers.get("content-disposition", "")
