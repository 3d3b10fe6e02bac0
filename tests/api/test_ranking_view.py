"""The ranking's view (issue 17): sort, filter and search in the URL, the decided list that
the pool card counts, as of a position; the cut line drawn in rank order only."""

from __future__ import annotations

import re

from governance.bootstrap import Runtime
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import CX_CHIEF

ROW = re.compile(r'<tr data-code="(I\d+)"')


def codes(html: str, table: str = "ranking") -> list[str]:
    """The codes of one table's rows, in order."""
    part = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return ROW.findall(part)


def test_sort_filter_and_search_are_in_the_url(runtime: Runtime) -> None:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        whole = client.get("/dashboard?period=FY2027").text
        ranked = codes(whole)
        assert len(ranked) == 30 and 'id="cut-line"' in whole
        assert 'id="view-summary"' not in whole  # the plain ranking says nothing extra

        by_cost = client.get("/dashboard?period=FY2027&sort=cost").text
        costs = re.findall(r'data-label="Cost" class="num">\$([\d.,]+)M', by_cost.split(
            'id="ranking"', 1)[1].split("</table>", 1)[0])
        assert [float(c) for c in costs] == sorted(float(c) for c in costs)
        assert 'id="cut-line"' not in by_cost and "the cut line is drawn in rank order only" \
            in by_cost and 'aria-sort="ascending"' in by_cost
        reverse = client.get("/dashboard?period=FY2027&sort=cost&dir=reverse").text
        assert codes(reverse) == codes(by_cost)[::-1]
        assert 'aria-sort="descending"' in reverse

        rb = client.get("/dashboard?period=FY2027&pnl=RB").text
        assert 0 < len(codes(rb)) < 30
        assert '<option value="RB" selected>' in rb and "Showing " in rb
        # the view's links keep it (shareable): the heading links carry the filter
        assert "pnl=RB" in rb.split('id="ranking"', 1)[1]
        assert codes(rb) == [c for c in ranked if c in codes(rb)]  # rank order kept

        first = ranked[0]
        found = client.get(f"/dashboard?period=FY2027&q={first.lower()}").text
        assert first in codes(found)
        none = client.get("/dashboard?period=FY2027&q=zzzz-no-such").text
        assert codes(none) == [] and "No ranked initiative matches this view" in none
        # an unknown sort is the rank order, not an error
        assert codes(client.get("/dashboard?period=FY2027&sort=nope").text) == ranked


def test_the_decided_list_shows_rejected_and_withdrawn_as_the_pool_card_counts(
        runtime: Runtime) -> None:
    from tests.builders import RB_OWNER

    gov = runtime.app
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        before = client.get("/dashboard?period=FY2027").text
        assert "every initiative of FY2027 is in the ranking" in before
    position = gov.position()
    entries = gov.assess("FY2027").entries
    withdrawn = next(e.code for e in entries
                     if gov.initiative(gov.initiative_id("FY2027", e.code)).pnl == "RB")
    gov.withdraw_initiative(RB_OWNER, initiative_id=gov.initiative_id("FY2027", withdrawn),
                            reason="merged")
    bottom = entries[-1].code
    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id("FY2027", bottom), outcome="reject",
               rationale="Below the line and overlapping other work.")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        html = client.get("/dashboard?period=FY2027").text
        decided = codes(html, "decided-list")
        assert sorted(decided) == sorted([withdrawn, bottom])
        assert withdrawn not in codes(html) and bottom not in codes(html)
        assert "by 28 ranked initiatives" in html
        assert 'data-figure="decided"><a href="#decided-h">2 rejected' in html
        assert "Below the line and overlapping other work." in html
        rejected = client.get("/dashboard?period=FY2027&status=rejected").text
        assert codes(rejected, "decided-list") == [bottom] and codes(rejected) == []
        then = client.get(f"/dashboard?period=FY2027&as_of={position}").text
        assert "every initiative of FY2027 is in the ranking" in then
        assert len(codes(then)) == 30


def test_the_view_downloads_as_csv_and_json_as_of_the_position_shown(runtime: Runtime) -> None:
    import csv
    import io
    import json

    gov = runtime.app
    position = gov.position()
    bottom = gov.assess("FY2027").entries[-1].code
    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id("FY2027", bottom), outcome="reject",
               rationale="Overlaps other work.")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get("/dashboard?period=FY2027&pnl=RB&sort=cost").text
        assert 'href="/dashboard/export/ranking.csv?period=FY2027&amp;sort=cost&amp;pnl=RB"' \
            in page
        shown = codes(page)
        got = client.get("/dashboard/export/ranking.csv?period=FY2027&sort=cost&pnl=RB")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(got.text)))
        assert [r["code"] for r in rows if r["section"] == "ranked"] == shown
        assert all(r["pnl"] == "RB" for r in rows)
        whole = client.get("/dashboard/export/ranking.json?period=FY2027").json()
        assert [r["code"] for r in whole["decided"]] == [bottom]
        assert whole["decided"][0]["reason"] == "Overlaps other work."
        assert whole["position"] == int(
            client.get("/dashboard/export/ranking.csv").headers["x-cxgov-position"])
        then = client.get(f"/dashboard/export/ranking.json?as_of={position}").json()
        assert then["position"] == position and then["as_of"] == str(position)
        assert then["decided"] == [] and len(then["ranking"]) == 30
        assert json.loads(json.dumps(then)) == then
    with signed_in(runtime, "bot", "ingest") as client:
        assert client.get("/dashboard/export/ranking.csv").status_code == 403
