"""Re-decisions on the dashboard (issue 14): the initiative page shows carry-over links both
ways and a CX executive's carry-over form; the scorecard shows each metric's target history
(as of any position) and a CX executive's retarget form. Refusals come back by their field
and write nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.session import COOKIE
from governance.bootstrap import Runtime
from governance.stores.sessions import Claims, sessions_of
from tests.builders import CX_CHIEF, FINANCE_LEAD, M


def signed_in(runtime: Runtime, sub: str, role: str) -> TestClient:
    session = sessions_of(runtime).start(Claims(sub, sub, (role,), (), "cxgov"),
                                         idle=timedelta(minutes=5),
                                         lifetime=timedelta(minutes=5))
    return TestClient(create_app(runtime), raise_server_exceptions=False,
                      cookies={COOKIE: session})


@pytest.fixture
def deputy(runtime: Runtime) -> Iterator[TestClient]:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        yield client


@pytest.fixture
def auditor(runtime: Runtime) -> Iterator[TestClient]:
    with signed_in(runtime, "audit.one", "auditor") as client:
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def deferred(runtime: Runtime) -> str:
    """Harborview's I01 deferred, and FY2028 open to carry it into."""
    gov = runtime.app
    initiative_id = gov.initiative_id("FY2027", "I01")
    gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="defer", rationale="next year")
    gov.open_period(FINANCE_LEAD, code="FY2028", currency="USD", opex_total=1000 * M,
                    cap_percent=Decimal(10))
    return str(initiative_id)


def test_carry_over_from_the_initiative_page_and_the_links_both_ways(
        runtime: Runtime, deputy: TestClient, auditor: TestClient, deferred: str) -> None:
    page = deputy.get(f"/dashboard/initiatives/{deferred}")
    assert page.status_code == 200
    assert 'id="carry-over"' in page.text and '<option value="FY2028">' in page.text
    before = runtime.app.position()

    answer = deputy.post(f"/dashboard/initiatives/{deferred}/carry-over", data={
        "to_period": "FY2028", "reason": "still needed", "cost": "4000000",
        "csrf": csrf_of(page.text)}, follow_redirects=False)

    assert answer.status_code == 303
    successor = str(runtime.app.initiative_id("FY2028", "I01"))
    assert answer.headers["location"].startswith(f"/dashboard/initiatives/{successor}?")
    new = deputy.get(answer.headers["location"])
    assert "Carried over from" in new.text and "FY2027/I01" in new.text
    assert f'/dashboard/initiatives/{deferred}' in new.text
    old = auditor.get(f"/dashboard/initiatives/{deferred}")
    assert "Carried over to" in old.text and "still needed" in old.text
    assert f"/dashboard/initiatives/{successor}" in old.text
    assert 'id="carry-over"' not in old.text  # auditors see no form; it is carried anyway
    then = auditor.get(f"/dashboard/initiatives/{deferred}?as_of={before}")
    assert "Carried over to" not in then.text
    timeline = auditor.get("/dashboard/audit?show=decisions").text
    assert "<strong>Initiative.CarriedOver</strong>" in timeline and "to_code=I01" in timeline


def test_a_refused_carry_over_comes_back_by_its_field_and_writes_nothing(
        runtime: Runtime, deputy: TestClient, deferred: str) -> None:
    page = deputy.get(f"/dashboard/initiatives/{deferred}")
    before = runtime.app.position()
    answer = deputy.post(f"/dashboard/initiatives/{deferred}/carry-over", data={
        "to_period": "FY2028", "reason": " ", "csrf": csrf_of(page.text)},
        follow_redirects=False)
    assert answer.status_code == 303 and runtime.app.position() == before
    back = deputy.get(answer.headers["location"])
    assert 'id="carry-err"' in back.text and 'id="carry-reason"' in back.text
    assert re.search(r'id="carry-reason"[^>]*aria-invalid="true"', back.text)


def test_undecided_work_offers_no_carry_over_form_while_its_period_is_open(
        runtime: Runtime, deputy: TestClient) -> None:
    gov = runtime.app
    gov.open_period(FINANCE_LEAD, code="FY2028", currency="USD", opex_total=1000 * M,
                    cap_percent=Decimal(10))
    page = deputy.get(f"/dashboard/initiatives/{gov.initiative_id('FY2027', 'I02')}")
    assert page.status_code == 200 and 'id="carry-over"' not in page.text


def test_retarget_from_the_scorecard_and_the_history_as_of_a_position(
        runtime: Runtime, deputy: TestClient, auditor: TestClient) -> None:
    page = deputy.get("/dashboard/scorecard?period=FY2027")
    assert 'id="retarget-M1"' in page.text and 'id="targets-M1"' in page.text
    before = runtime.app.position()

    answer = deputy.post("/dashboard/metrics/M1/retarget", data={
        "target": "36", "reason": "core banking first", "period": "FY2027",
        "csrf": csrf_of(page.text)}, follow_redirects=False)

    assert answer.status_code == 303 and "#m-M1" in answer.headers["location"]
    assert runtime.app.metric("M1").target == 36
    now = auditor.get(answer.headers["location"].split("#")[0])
    assert "Recorded — new target version" in now.text
    assert "Target history: 2 versions" in now.text and "core banking first" in now.text
    assert 'id="retarget-M1"' not in now.text  # auditors read the history, no form
    timeline = auditor.get("/dashboard/audit?show=decisions").text
    assert "<strong>CustomerSuccessMetric.Retargeted</strong>" in timeline
    then = auditor.get(f"/dashboard/scorecard?period=FY2027&as_of={before}")
    history = then.text.split('id="targets-M1"')[1].split("</details>")[0]
    assert "Target history: 1 version<" in history and "core banking first" not in history


def test_a_refused_retarget_comes_back_to_its_card_and_writes_nothing(
        runtime: Runtime, deputy: TestClient) -> None:
    page = deputy.get("/dashboard/scorecard?period=FY2027")
    before = runtime.app.position()
    answer = deputy.post("/dashboard/metrics/M1/retarget", data={
        "target": "130", "reason": "wrong way", "period": "FY2027",
        "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and runtime.app.position() == before
    assert "#retarget-M1" in answer.headers["location"]
    back = deputy.get(answer.headers["location"].split("#")[0])
    assert 'id="retarget-err-M1"' in back.text and "target &lt;= baseline" in back.text
    assert re.search(r'id="target-M1"[^>]*\s+aria-invalid="true"', back.text)
