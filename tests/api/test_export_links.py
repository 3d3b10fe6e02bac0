"""Every page's download links carry the page's own view (issue 17, decision 260): the
ranking's filters and sort, the decided list's view, the signals' `show`, the plans compared,
the audit timeline's filters, and the as-of position on all of them; pages with no view of
their own (ledger, scorecard, fair shares) carry the period and the as-of."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from governance.bootstrap import Runtime
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import CX_CHIEF, M

PERIOD = "FY2027"


def links(html: str, name: str) -> dict[str, dict[str, list[str]]]:
    """The query of the page's CSV and JSON download links called `name`."""
    found = re.findall(rf'<a href="(/dashboard/export/{name}\.(csv|json)[^"]*)"', html)
    return {fmt: parse_qs(urlsplit(unescape(href)).query) for href, fmt in found}


def test_every_page_s_download_links_carry_its_view_and_position(runtime: Runtime) -> None:
    gov = runtime.app
    bottom = gov.assess(PERIOD).entries[-1].code
    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id(PERIOD, bottom), outcome="reject",
               rationale="Out of scope.")
    gov.save_plan(CX_CHIEF, period=PERIOD, name="Lean", budget=60 * M)
    gov.save_plan(CX_CHIEF, period=PERIOD, name="Full", budget=120 * M)
    point = gov.position()
    at = f"period={PERIOD}&as_of={point}"
    pages = {  # page address -> (download name, the view it must carry)
        f"/dashboard?{at}&sort=cost&dir=reverse&q=a": ("ranking", {"sort": ["cost"],
                                                                   "dir": ["reverse"],
                                                                   "q": ["a"]}),
        f"/dashboard?{at}&status=rejected": ("decided", {"status": ["rejected"]}),
        f"/dashboard/signals?{at}&show=all": ("signals", {"show": ["all"]}),
        f"/dashboard/plans?{at}&name=Lean&name=Full": ("plans", {"name": ["Lean", "Full"]}),
        f"/dashboard/ledger?{at}": ("ledger", {}),
        f"/dashboard/scorecard?{at}": ("scorecard", {}),
        f"/dashboard/fair-shares?{at}": ("fair-shares", {}),
        f"/dashboard/audit?{at}&show=all&family=Initiative&actor=chris": (
            "audit", {"show": ["all"], "family": ["Initiative"], "actor": ["chris"]}),
    }
    with signed_in(runtime, "cx.chief", "cx_exec") as client:
        for page, (name, view) in pages.items():
            html = client.get(page).text
            found = links(html, name)
            assert set(found) == {"csv", "json"}, page
            for query in found.values():
                assert query == {"period": [PERIOD], "as_of": [str(point)], **view}, page
