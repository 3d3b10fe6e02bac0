"""The auditor's timeline (issue 17, decisions 250-254): one page at a time, newest first, with
older/newer links that keep the filters and the as-of; filters (kind, family, initiative code,
actor) answered by the view's query; initiatives named by code, amounts as money, actors
readable; hostile paging and filter values a clear 422 page, never a 500; as of a date and time
(the picker's value) equals as of the position that time resolves to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient

from api.web.audit_timeline import TIMELINE_PAGE, money_summary, readable_actor
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


def shown(html: str) -> list[int]:
    return [int(p) for p in re.findall(r'<li data-position="(\d+)"', html)]


def link(html: str, which: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*data-page="{which}"', html)
    return unescape(found.group(1)) if found else None


def walk(client: TestClient, first: str) -> list[list[int]]:
    """Every page from `first`, following the older links."""
    pages, url = [], first
    while url is not None:
        html = client.get(url).text
        pages.append(shown(html))
        url = link(html, "older")
        assert len(pages) < 50
    return pages


def test_every_event_pages_newest_first_and_the_links_come_back(
        auditor: TestClient, runtime: Runtime) -> None:
    events = every_event(runtime)
    assert len(events) > TIMELINE_PAGE  # more than one page
    pages = walk(auditor, "/dashboard/audit?show=all")
    assert all(len(p) == TIMELINE_PAGE for p in pages[:-1]) and len(pages[-1]) > 0
    assert [p for page in pages for p in page] == [e.position for e in reversed(events)]
    first = auditor.get("/dashboard/audit?show=all").text
    assert link(first, "newer") is None and link(first, "older") is not None
    last = auditor.get(f"/dashboard/audit?show=all&before={pages[-2][-1]}").text
    assert shown(last) == pages[-1] and link(last, "older") is None
    newer = link(last, "newer")
    assert newer is not None and "show=all" in newer
    assert shown(auditor.get(newer).text) == pages[-2]  # the page just above, newest first


def test_paging_keeps_the_as_of_and_the_period(auditor: TestClient, runtime: Runtime) -> None:
    point = every_event(runtime)[-1].position - 1
    html = auditor.get(f"/dashboard/audit?show=all&as_of={point}&period={PERIOD}").text
    assert max(shown(html)) == point
    older = link(html, "older")
    assert older is not None and f"as_of={point}" in older and f"period={PERIOD}" in older
    beyond = auditor.get(f"/dashboard/audit?show=all&as_of={point}&after={point - 1}").text
    assert shown(beyond) == [point]  # the as-of bounds the newer pages too


def test_the_decision_timeline_is_the_decisions_only(auditor: TestClient,
                                                     runtime: Runtime) -> None:
    html = auditor.get("/dashboard/audit").text
    topics = re.findall(r"<strong>([A-Za-z.]+)</strong>", html)
    assert "Initiative.Approved" in topics
    assert "Initiative.Submitted" not in topics and "PnL.Registered" not in topics
    assert shown(html) == sorted(shown(html), reverse=True)


@pytest.mark.parametrize("query", ["family=PnL", "actor=rb.owner", "actor=cxgov|rb.owner",
                                   "family=Initiative&actor=wm.owner"])
def test_filters_answer_exactly_the_matching_events(auditor: TestClient, runtime: Runtime,
                                                    query: str) -> None:
    wanted = {k: v for k, v in (part.split("=") for part in query.split("&"))}
    events = [e for e in every_event(runtime)
              if ("family" not in wanted or f".{wanted['family']}." in e.topic)
              and ("actor" not in wanted or e.actor in (wanted["actor"],
                                                        f"cxgov|{wanted['actor']}"))]
    assert events  # the filter matches something, and not everything
    assert len(events) < len(every_event(runtime))
    pages = walk(auditor, f"/dashboard/audit?show=all&{query}")
    assert [p for page in pages for p in page] == [e.position for e in reversed(events)]


def test_the_initiative_filter_takes_a_code_and_names_it(auditor: TestClient,
                                                         runtime: Runtime) -> None:
    card = runtime.read_models().snapshot().initiatives(PERIOD)[0]
    html = auditor.get(f"/dashboard/audit?show=all&initiative={card.code}").text
    mine = [e.position for e in reversed(every_event(runtime)) if e.aggregate_id == card.id]
    assert mine and shown(html) == mine
    assert f'data-initiative="{card.code}">initiative {card.code}</a>' in html
    assert card.id not in re.sub(r'href="[^"]*"', "", html)  # named by code, not by UUID
    missing = auditor.get("/dashboard/audit?initiative=NOPE1").text
    assert shown(missing) == [] and "No initiative has code NOPE1 in FY2027" in missing


def test_the_decision_names_its_initiative_amounts_are_money_actors_readable(
        auditor: TestClient, runtime: Runtime) -> None:
    approved = next(e for e in reversed(every_event(runtime))
                    if e.topic.endswith("Initiative.Approved"))
    code = runtime.read_models().snapshot().initiative(approved.aggregate_id)
    assert code is not None
    html = auditor.get("/dashboard/audit").text
    assert f"Initiative.Approved</strong> of <a href=\"/dashboard/initiatives/{code.id}" in html
    every = auditor.get("/dashboard/audit?show=all&family=Initiative").text
    assert re.search(r"cost=\$[0-9]{1,3}(,[0-9]{3})+", every)  # $2,800,000, not 2800000
    assert not re.search(r"cost=[0-9]", every)
    assert ">rb.owner</span>" in every and ">cxgov|rb.owner<" not in every


def test_money_and_actor_helpers() -> None:
    assert money_summary("FundingPool.Opened: period=FY2027 opex_total=1200000000") == (
        "FundingPool.Opened: period=FY2027 opex_total=$1,200,000,000")
    assert money_summary("code=I1 cost=2800000.50 rank=3") == "code=I1 cost=$2,800,000.50 rank=3"
    assert money_summary("reason=cost=high") == "reason=cost=high"  # not a number: kept
    assert money_summary("amount=-1500") == "amount=-$1,500"
    assert readable_actor("cxgov|rb.owner") == "rb.owner"
    assert readable_actor("https://idp.example|u42") == "u42 (https://idp.example)"
    assert readable_actor(None) == "the system"


@pytest.mark.parametrize("query", [
    "before=-1", "after=-5", "before=abc", "before=1e3", "before=99999999999999999999999",
    f"before={2**63}", "show=everything", "family=Nope", "family=Initiative%25",
    "actor=%3Cscript%3E", "actor=" + "a" * 81, "initiative=I%2501", "initiative=a%20b",
])
def test_hostile_paging_and_filters_are_a_clear_page_never_a_500(auditor: TestClient,
                                                                  query: str) -> None:
    answer = auditor.get(f"/dashboard/audit?{query}")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert query.split("=")[0] in answer.text


def test_the_form_s_empty_fields_are_no_filter(auditor: TestClient) -> None:
    """The filter form sends every field, the empty ones too (a browser test found the 422)."""
    empty = auditor.get("/dashboard/audit?show=all&family=&initiative=&actor=")
    assert empty.status_code == 200
    assert shown(empty.text) == shown(auditor.get("/dashboard/audit?show=all").text)


def test_a_cursor_past_either_end_is_an_empty_page_not_an_error(auditor: TestClient) -> None:
    nothing = auditor.get("/dashboard/audit?show=all&before=1")
    assert nothing.status_code == 200 and shown(nothing.text) == []
    assert "No events match." in nothing.text and link(nothing.text, "newer") is not None
    beyond = auditor.get(f"/dashboard/audit?show=all&after={2**62}")
    assert beyond.status_code == 200 and shown(beyond.text) == []


def test_as_of_a_time_from_the_picker_equals_as_of_the_position_it_resolves_to(
        auditor: TestClient, runtime: Runtime) -> None:
    events = every_event(runtime)
    middle = events[len(events) // 2]
    at = datetime.fromisoformat(middle.at).astimezone(UTC)
    picked = at.replace(tzinfo=None).isoformat()  # what datetime-local sends: no zone (UTC)
    position = runtime.read_models().resolve(picked)
    assert position is not None and 0 < position < events[-1].position
    assert position == max(e.position for e in events
                           if datetime.fromisoformat(e.at) <= at)
    by_time = auditor.get(f"/dashboard/audit?show=all&as_of={picked}").text
    by_position = auditor.get(f"/dashboard/audit?show=all&as_of={position}").text
    assert f'data-testid="as-of-position">{position}<' in by_time
    assert shown(by_time) == shown(by_position) and max(shown(by_time)) == position
    assert 'type="datetime-local"' in by_time and "date and time (UTC)" in by_time
    assert f'value="{picked[:19]}"' in by_time  # the picker shows the time asked for


def test_a_hostile_time_is_the_as_of_error(auditor: TestClient) -> None:
    answer = auditor.get("/dashboard/audit?as_of=2027-13-45T99:00")
    assert answer.status_code == 200
    assert 'id="as_of-error"' in answer.text and "ISO 8601" in answer.text
    assert "history-banner" not in answer.text  # the present, not some guess
