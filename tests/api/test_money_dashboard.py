"""Money over time on the dashboard (issue 14): the ledger page (committed, spent, released,
available, by P&L, kind and touchpoint, as of any position), the home page's pool card, and
the stop and descope forms on a funded initiative's page. Refusals come back by their field
and write nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.initiative import Gate
from governance.bootstrap import Runtime
from tests.api.test_re_decisions_dashboard import csrf_of, signed_in
from tests.builders import CX_CHIEF, FINANCE_LEAD


@pytest.fixture
def deputy(runtime: Runtime) -> Iterator[TestClient]:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        yield client


@pytest.fixture
def owner(runtime: Runtime) -> Iterator[TestClient]:
    with signed_in(runtime, "fiona", "finance") as client:
        yield client


@pytest.fixture
def funded(runtime: Runtime) -> str:
    """Harborview's I01 approved, with 100,000 spent (reference INV-7)."""
    gov = runtime.app
    initiative_id = gov.initiative_id("FY2027", "I01")
    gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="go")
    gov.record_spend(FINANCE_LEAD, initiative_id=initiative_id, amount=Decimal(100_000),
                     spent_on=date(2026, 3, 31), reference="INV-7")
    return str(initiative_id)


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">(?:<a [^>]*>)?([^<]*)<', html)
    assert found is not None, f"no figure {name}"
    return found.group(1)


def test_the_ledger_page_and_the_pool_card_show_spend_and_releases(
        runtime: Runtime, owner: TestClient, funded: str) -> None:
    before = runtime.app.position()
    runtime.app.stop_initiative(CX_CHIEF, initiative_id=UUID(funded), reason="moved on")
    page = owner.get("/dashboard/ledger")
    assert page.status_code == 200
    assert figure(page.text, "spent") == figure(page.text, "committed") == "$100,000"
    cost = runtime.app.initiative(UUID(funded)).cost
    assert figure(page.text, "released") == f"${cost - 100_000:,.0f}"
    assert 'id="by-pnl"' in page.text and 'id="by-touchpoint"' in page.text
    then = owner.get(f"/dashboard/ledger?as_of={before}")
    assert figure(then.text, "released") == "$0"
    home = owner.get("/dashboard")
    assert figure(home.text, "spent") == figure(page.text, "spent")
    assert 'href="/dashboard/ledger' in home.text


def test_stop_from_the_initiative_page(runtime: Runtime, deputy: TestClient,
                                       funded: str) -> None:
    page = deputy.get(f"/dashboard/initiatives/{funded}")
    assert 'id="stop"' in page.text and 'id="descope"' in page.text
    assert "INV-7" in page.text
    answer = deputy.post(f"/dashboard/initiatives/{funded}/stop", data={
        "reason": "the pilot did not move M1", "csrf": csrf_of(page.text)},
        follow_redirects=False)
    assert answer.status_code == 303
    after = deputy.get(answer.headers["location"])
    assert "Recorded — stopped: cancelled" in after.text
    assert 'id="stop"' not in after.text
    assert runtime.app.initiative(UUID(funded)).committed_amount == Decimal(100_000)


def test_a_refused_descope_comes_back_by_its_field_and_writes_nothing(
        runtime: Runtime, deputy: TestClient, owner: TestClient, funded: str) -> None:
    page = deputy.get(f"/dashboard/initiatives/{funded}")
    before = runtime.app.position()
    answer = deputy.post(f"/dashboard/initiatives/{funded}/descope", data={
        "new_cost": "50000", "reason": "smaller", "csrf": csrf_of(page.text)},
        follow_redirects=False)
    assert answer.status_code == 303 and runtime.app.position() == before
    back = deputy.get(answer.headers["location"])
    assert 'id="money-err"' in back.text and "already spent" in back.text
    assert re.search(r'id="descope-cost"[^>]*aria-invalid="true"', back.text)
    done = deputy.post(f"/dashboard/initiatives/{funded}/descope", data={
        "new_cost": "200000", "reason": "phase 2 dropped", "csrf": csrf_of(back.text)},
        follow_redirects=False)
    assert done.status_code == 303 and runtime.app.position() > before
    assert 'id="descopes"' in deputy.get(done.headers["location"]).text
    assert "Descoped" in deputy.get("/dashboard/audit?show=decisions").text  # a re-decision
    # finance sees the money, never the forms
    seen = owner.get(f"/dashboard/initiatives/{funded}")
    assert 'id="money-figures"' in seen.text and 'id="stop"' not in seen.text


def test_release_a_tranche_from_the_initiative_page(runtime: Runtime,
                                                    deputy: TestClient) -> None:
    gov = runtime.app
    initiative_id = gov.initiative_id("FY2027", "I02")
    cost = gov.initiative(initiative_id).cost
    gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="go",
               first_tranche=cost / 2, gates=[Gate("pilot results", cost / 2)])
    page = deputy.get(f"/dashboard/initiatives/{initiative_id}")
    assert 'id="gates"' in page.text and 'id="release"' in page.text
    assert '<option value="pilot results">' in page.text
    answer = deputy.post(f"/dashboard/initiatives/{initiative_id}/release-tranche", data={
        "gate": "pilot results", "rationale": "the pilot worked", "csrf": csrf_of(page.text)},
        follow_redirects=False)
    assert answer.status_code == 303
    after = deputy.get(answer.headers["location"])
    assert "Recorded — tranche released" in after.text and 'id="release"' not in after.text
    assert gov.initiative(initiative_id).committed_amount == cost
