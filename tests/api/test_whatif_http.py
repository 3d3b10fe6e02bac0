"""Knock-on effects and the what-if budget over HTTP (issue 17): the API routes (typed
answers, problem+json for bad input, nothing written) and the dashboard (the knock-on beside
the decide form, the what-if page without JavaScript, hostile budgets answered on the page)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from api.web import whatif_pages
from governance.bootstrap import Runtime
from tests.api.conftest import auth
from tests.api.test_re_decisions_dashboard import csrf_of, signed_in
from tests.builders import CX_CHIEF

PERIOD = "FY2027"
CX = auth("cx.chief", "cx_exec")


def knock(client: TestClient, runtime: Runtime, code: str, outcome: str,
          headers: dict[str, str] = CX) -> TestClient:
    initiative = runtime.app.initiative_id(PERIOD, code)
    return client.get(f"/v1/periods/{PERIOD}/initiatives/{initiative}/knock-on",
                      params={"outcome": outcome}, headers=headers)


def test_the_knock_on_of_approving_i03_names_i20_and_writes_nothing(
        client: TestClient, runtime: Runtime) -> None:
    before = runtime.app.position()
    answer = knock(client, runtime, "I03", "approve")
    assert answer.status_code == 200, answer.text
    item = answer.json()["item"]
    assert [m["code"] for m in item["moved_out"]] == ["I20"]
    assert item["effect"] == "now" and item["departure"] is True
    assert Decimal(item["committed_after"]) - Decimal(item["committed_before"]) == 4_000_000
    assert runtime.app.position() == before  # nothing written


def test_bad_knock_on_requests_are_problems(client: TestClient, runtime: Runtime) -> None:
    bad = knock(client, runtime, "I03", "fund")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "validation.request"
    other = client.get(f"/v1/periods/{PERIOD}/initiatives/"
                       "00000000-0000-4000-8000-000000000001/knock-on?outcome=approve",
                       headers=CX)
    assert other.status_code == 404 and other.json()["code"] == "initiative.not_found"
    wrong_period = client.get(
        f"/v1/periods/FY1999/initiatives/{runtime.app.initiative_id(PERIOD, 'I03')}"
        "/knock-on?outcome=approve", headers=CX)
    assert wrong_period.status_code == 404
    runtime.app.decide(CX_CHIEF, initiative_id=runtime.app.initiative_id(PERIOD, "I28"),
                       outcome="reject", rationale="")
    decided = knock(client, runtime, "I28", "approve")
    assert decided.status_code == 409
    assert decided.json()["code"] == "state.invalid_transition"


def test_the_optimum_at_a_budget_understands_amounts(client: TestClient) -> None:
    for text in ("$130M", "130,000,000", "130000000", "130 million"):
        answer = client.get(f"/v1/periods/{PERIOD}/optimum", params={"budget": text},
                            headers=CX)
        assert answer.status_code == 200, answer.text
        item = answer.json()["item"]
        assert item["budget"] == "130000000"
        assert item["added"] == ["I03", "I09", "I06"] and item["dropped"] == []
        assert Decimal(item["optimum"]["total_cost"]) <= 130_000_000
    at_pool = client.get(f"/v1/periods/{PERIOD}/optimum?budget=120000000", headers=CX).json()
    recommendation = client.get(f"/v1/periods/{PERIOD}/recommendation", headers=CX).json()
    assert at_pool["item"]["optimum"]["keys"] == recommendation["item"]["optimal"]["keys"]
    for junk in ("lots", "-5", "1e9", "$999B", "<script>", "9" * 38 + "b"):  # 28+ digits
        refused = client.get(f"/v1/periods/{PERIOD}/optimum", params={"budget": junk},
                             headers=CX)
        assert refused.status_code == 422, junk
        assert refused.json()["code"] in ("validation.invalid", "validation.request"), junk
    assert client.get(f"/v1/periods/{PERIOD}/optimum", headers=CX).status_code == 422
    assert client.get("/v1/periods/FY1999/optimum?budget=1", headers=CX).status_code == 404


def test_the_initiative_page_shows_the_knock_on_beside_the_decide_form(
        runtime: Runtime) -> None:
    initiative = runtime.app.initiative_id(PERIOD, "I03")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get(f"/dashboard/initiatives/{initiative}").text
        decide = page.index('id="decide-')
        knock_on = page.index('id="knock-on"')
        assert decide < knock_on
        approve = page.split('id="knock-approve"', 1)[1].split("</div>", 1)[0]
        assert re.search(r"Approving I03 moves I20 below the line", approve)
        assert "moves I09, I06 above it" in approve
        assert 'id="knock-defer"' in page and "Moves nothing" in page
        # as of a past position: no form, no knock-on
        past = client.get(f"/dashboard/initiatives/{initiative}?as_of=5").text
        assert 'id="knock-on"' not in past and 'id="decide-' not in past
        # the knock-on is what really happens: decide, and I20 is below the line
        form = client.post(f"/dashboard/initiatives/{initiative}/decide", data={
            "csrf": csrf_of(page), "outcome": "approve", "rationale": "pilot evidence",
            "back": f"/dashboard/initiatives/{initiative}"}, follow_redirects=False)
        assert form.status_code == 303, form.text
    ranking = {r.code: r for r in runtime.read_models().snapshot().ranking(PERIOD)}
    assert not ranking["I20"].above_cut_line and ranking["I09"].above_cut_line


def test_an_auditor_sees_no_knock_on(runtime: Runtime) -> None:
    initiative = runtime.app.initiative_id(PERIOD, "I03")
    with signed_in(runtime, "audit.one", "auditor") as client:
        page = client.get(f"/dashboard/initiatives/{initiative}")
        assert page.status_code == 200 and 'id="knock-on"' not in page.text


def test_the_what_if_page_works_without_javascript(runtime: Runtime) -> None:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        first = client.get("/dashboard/what-if")
        assert first.status_code == 200
        html = first.text
        assert 'type="range"' in html and 'name="level"' in html and 'name="budget"' in html
        assert 'value="120000000"' in html  # the slider starts at the pool
        assert '<svg class="chart whatif"' in html and "pool now $120.0M" in html
        # typed: understood and echoed
        typed = client.get("/dashboard/what-if", params={
            "period": PERIOD, "budget": "$130M", "shown": "$120,000,000",
            "level": "120000000"}).text
        assert "Understood “$130M” as $130,000,000." in typed
        added = typed.split('id="added"', 1)[1].split("</ul>", 1)[0]
        assert re.findall(r"<strong>(I\d+)</strong>", added) == ["I03", "I09", "I06"]
        assert 'id="share-link"' in typed and "budget=130000000" in typed
        # the slider moved, the box untouched: the slider wins
        slid = client.get("/dashboard/what-if", params={
            "period": PERIOD, "budget": "$120,000,000", "shown": "$120,000,000",
            "level": "100000000"}).text
        assert "Showing $100,000,000." in slid
        dropped = slid.split('id="dropped"', 1)[1].split("</ul>", 1)[0]
        assert re.findall(r"<strong>(I\d+)</strong>", dropped)  # less money: work dropped


def test_hostile_budgets_are_errors_on_the_page(runtime: Runtime) -> None:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        for junk, says in (("lots", "is not an amount"), ("$900M", "out of range"),
                           ("<b>1</b>", "is not an amount"), ("-3", "is not an amount")):
            page = client.get("/dashboard/what-if", params={"budget": junk})
            assert page.status_code == 422, junk
            assert says in page.text and 'aria-invalid="true"' in page.text
            assert "<b>1</b>" not in page.text  # escaped, never markup
        long = client.get("/dashboard/what-if", params={"budget": "9" * 41})
        assert long.status_code in (404, 422)  # over the field's length: refused, not a 500


def test_a_large_period_offers_the_knock_on_behind_a_link(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whatif_pages, "INLINE_MAX", 10)  # Harborview ranks 30
    initiative = runtime.app.initiative_id(PERIOD, "I03")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get(f"/dashboard/initiatives/{initiative}").text
        assert 'id="knock-on"' not in page and 'id="knock-on-link"' in page
        link = re.search(r'<p id="knock-on-link"><a href="([^"]+)"', page)
        assert link is not None and "knock_on=1" in link.group(1)
        worked = client.get(link.group(1).replace("&amp;", "&")).text
        assert "Approving I03 moves I20 below the line" in worked
