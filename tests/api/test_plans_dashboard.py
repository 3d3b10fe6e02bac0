"""The funding plans page (issue 16): plans side by side, the plan of record, every plan and
the adoptions; as of a position before the adoption; refused to P&L owners."""

from __future__ import annotations

from decimal import Decimal

from domain.plans import Forced
from governance.bootstrap import Runtime
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import CX_CHIEF, FINANCE_LEAD


def test_the_plans_page_side_by_side_and_as_of(runtime: Runtime) -> None:
    gov = runtime.app
    gov.save_plan(FINANCE_LEAD, period="FY2027", name="Value first",
                  budget=Decimal(120_000_000))
    gov.save_plan(CX_CHIEF, period="FY2027", name="Cross-P&L first",
                  budget=Decimal(120_000_000), forced_in=[Forced("I23", "platform")],
                  forced_out=[Forced("I07", "overlap")])
    before = gov.position()
    gov.adopt_plan(CX_CHIEF, period="FY2027", name="Cross-P&L first", rationale="the board")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get("/dashboard/plans?period=FY2027")
        assert page.status_code == 200, page.text
        html = page.text
        assert 'id="plans-side"' in html and "of record</span>" in html
        assert "Plan of record: <strong>Cross-P&amp;L first</strong>" in html
        assert "<strong>I07</strong>: funded by Value first; not by Cross-P&amp;L first" in html
        assert "replacing" not in html and "the board" in html
        then = client.get(f"/dashboard/plans?period=FY2027&as_of={before}").text
        assert "No plan of record" in then and "of record</span>" not in then
        one = client.get("/dashboard/plans?period=FY2027&name=value+first&name=Nope").text
        assert "No plan named Nope" in one and html.count("<th scope=\"col\"") > one.count(
            "<th scope=\"col\"")
    with signed_in(runtime, "fiona", "finance") as client:
        assert client.get("/dashboard/plans").status_code == 200
    with signed_in(runtime, "rob", "pnl_owner") as client:
        assert client.get("/dashboard/plans").status_code == 403
