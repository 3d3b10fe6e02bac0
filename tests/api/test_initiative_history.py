"""The initiative page's history says what a revision changed, before → after (issue 17);
the desk's revise heading names the initiative by its code, not a UUID prefix."""

from __future__ import annotations

from decimal import Decimal

from governance.bootstrap import Runtime
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import RB_OWNER


def test_a_revision_shows_each_change_and_the_desk_heading_names_the_code(
        runtime: Runtime) -> None:
    gov = runtime.app
    code = next(e.code for e in gov.assess("FY2027").entries
                if gov.initiative(gov.initiative_id("FY2027", e.code)).pnl == "RB")
    initiative_id = gov.initiative_id("FY2027", code)
    before = gov.initiative(initiative_id).cost
    gov.revise_initiative(RB_OWNER, initiative_id=initiative_id,
                          changes={"cost": Decimal("2000000"), "title": "Dispute intake, lean"},
                          reason="cheaper")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get(f"/dashboard/initiatives/{initiative_id}").text
        was = f"${before / Decimal(1_000_000):,.1f}M"
        assert f'<li data-change="cost">Cost: {was} → $2.0M</li>' in page
        assert 'data-change="title">Title: ' in page and "→ Dispute intake, lean</li>" in page
        desk = client.get(f"/dashboard/desk?revise={initiative_id}").text
        assert f'<h2 id="form-h">Revise {code} · Dispute intake, lean</h2>' in desk
        assert str(initiative_id)[:8] not in desk.split('id="form-h"', 1)[1].split("</h2>")[0]


def test_an_owner_withdraws_on_the_initiative_page(runtime: Runtime) -> None:
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.web.session import COOKIE
    from governance.stores.sessions import Claims, sessions_of
    from tests.api.test_re_decisions_dashboard import csrf_of

    gov = runtime.app
    code = next(e.code for e in gov.assess("FY2027").entries
                if gov.initiative(gov.initiative_id("FY2027", e.code)).pnl == "RB")
    initiative_id = gov.initiative_id("FY2027", code)
    page = f"/dashboard/initiatives/{initiative_id}"
    with signed_in(runtime, "cx.deputy", "cx_exec") as exec_client:
        shown = exec_client.get(page).text
        assert 'id="withdraw-form"' not in shown  # not theirs: RB's
        refused = exec_client.post(f"{page}/withdraw", data={"csrf": csrf_of(shown)},
                                   follow_redirects=True).text
        assert 'id="withdraw-error" role="alert">withdrawing an initiative is for the owners' \
            in refused and 'aria-invalid="true" aria-describedby="withdraw-error" autofocus' \
            in refused
        assert gov.initiative(initiative_id).status == "submitted"
    session = sessions_of(runtime).start(Claims("rob", "rob", ("pnl_owner",), ("RB",), "cxgov"),
                                         idle=timedelta(minutes=5),
                                         lifetime=timedelta(minutes=5))
    with TestClient(create_app(runtime), raise_server_exceptions=False,
                    cookies={COOKIE: session}) as client:
        html = client.get(page).text
        assert f'<h2 id="withdraw-h">Withdraw {code}</h2>' in html
        done = client.post(f"{page}/withdraw", data={"csrf": csrf_of(html),
                                                     "reason": "merged into another"},
                           follow_redirects=True)
        assert done.status_code == 200 and "Recorded — withdrawn." in done.text
        assert gov.initiative(initiative_id).status == "withdrawn"
        after = client.get(page).text
        assert 'id="withdraw-form"' not in after and "Withdrawn</strong>" in after
        home = client.get("/dashboard?period=FY2027").text
        assert f'<tr data-code="{code}">' in home.split('id="decided-list"', 1)[1]
