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
