"""Long lists one screen at a time (issue 19, decision 130): the home page's ranking and decided
list in pages whose links keep the view in the URL, and the recommendation's unfunded list in
pages whose extra budgets equal the whole list's."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.web import pages
from governance.bootstrap import Runtime
from tests.api.conftest import Mint
from tests.api.test_ranking_view import codes
from tests.api.test_re_decisions_dashboard import signed_in


def test_the_ranking_comes_in_pages_that_keep_the_view(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        whole = codes(client.get("/dashboard?period=FY2027").text)
        by_cost = codes(client.get("/dashboard?period=FY2027&sort=cost").text)
        assert 'id="ranking-pages"' not in client.get("/dashboard?period=FY2027").text
        monkeypatch.setattr(pages, "RANKING_PAGE", 7)
        first = client.get("/dashboard?period=FY2027").text
        assert codes(first) == whole[:7]
        assert "Ranked initiatives: 1\u20137 of 30 (page 1 of 5)." in first
        assert 'id="ranking-prev"' not in first
        link = re.search(r'href="([^"]+)" rel="next" id="ranking-next"', first)
        assert link is not None
        second = client.get(link[1].replace("&amp;", "&")).text
        assert codes(second) == whole[7:14]
        assert '<span aria-current="page">2</span>' in second
        last = client.get("/dashboard?period=FY2027&page=5").text
        assert codes(last) == whole[28:]
        assert 'id="ranking-next"' not in last
        assert codes(client.get("/dashboard?period=FY2027&page=99").text) == whole[28:]

        # the view stays in the page links, and the pages walk the view's order
        viewed = client.get("/dashboard?period=FY2027&sort=cost").text
        assert codes(viewed) == by_cost[:7]
        following = re.search(r'href="([^"]+)" rel="next" id="ranking-next"', viewed)
        assert following is not None and "sort=cost" in following[1]
        assert codes(client.get(following[1].replace("&amp;", "&")).text) == by_cost[7:14]
        # the cut line is drawn on the page that holds it, and only there
        lines = [
            client.get(f"/dashboard?period=FY2027&page={n}").text.count('id="cut-line"')
            for n in range(1, 6)
        ]
        assert sum(lines) == 1
        assert client.get("/dashboard?period=FY2027&page=0").status_code == 422


def test_the_recommendation_lists_the_unfunded_one_page_at_a_time(
    client: TestClient, mint: Mint
) -> None:
    cx = mint("chris", "cx_exec")
    whole = client.get("/v1/periods/FY2027/recommendation", headers=cx).json()["item"]
    total = whole["unfunded_total"]
    assert total == len(whole["unfunded"]) > 3 and whole["unfunded_offset"] == 0
    figures = [(u["code"], u["extra_budget"]) for u in whole["unfunded"]]
    for offset in range(0, total, 2):
        page = client.get(
            f"/v1/periods/FY2027/recommendation?unfunded_offset={offset}&unfunded_limit=2",
            headers=cx,
        ).json()["item"]
        assert page["unfunded_total"] == total and page["unfunded_offset"] == offset
        assert [(u["code"], u["extra_budget"]) for u in page["unfunded"]] == figures[
            offset : offset + 2
        ]
        assert page["greedy"] == whole["greedy"] and page["frontier"] == whole["frontier"]
    none = client.get("/v1/periods/FY2027/recommendation?unfunded_limit=0", headers=cx)
    assert none.json()["item"]["unfunded"] == [] and none.json()["item"]["unfunded_total"] == total
    refused = client.get("/v1/periods/FY2027/recommendation?unfunded_limit=1001", headers=cx)
    assert refused.status_code == 422
