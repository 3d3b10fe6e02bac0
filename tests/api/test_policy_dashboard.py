"""The scoring policy on the dashboard (issue 16): weights and guardrails as of any position,
where the period stands against each guardrail, and the form with which a CX executive sets
guardrails (without JavaScript, every input labelled; a refusal comes back by its row with the
input kept and nothing written)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, FINANCE
from tests.api.conftest import auth
from tests.api.test_loop_dashboard_forms import post
from tests.api.test_loop_http import cookie
from tests.api.test_re_decisions_dashboard import csrf_of

ROWS: dict[str, Any] = {"dimension": ["pnl", "kind", "pnl"], "value": ["CX", "", ""],
        "minimum": ["60", "", ""], "minimum_unit": ["share", "share", "share"],
        "maximum": ["", "", ""], "maximum_unit": ["share", "share", "share"]}


def _labelled(page: str) -> None:
    """Every input, select and textarea of the page has a label naming its id."""
    ids = re.findall(r'<(?:input|select|textarea) id="([^"]+)"', page)
    assert ids
    for found in ids:
        assert f'<label for="{found}"' in page, found


def test_guardrails_are_set_refused_and_shown_on_the_policy_page(
        client: TestClient, runtime: Runtime) -> None:
    cx = cookie(runtime, CX_EXEC)
    start = runtime.app.position()
    page = client.get("/dashboard/policy?period=FY2027", headers=cx)
    assert page.status_code == 200
    assert "Version 1" in page.text and 'id="no-guardrails"' in page.text
    assert 'id="guardrails-form"' in page.text and "Adopt version 2" in page.text
    _labelled(page.text)
    token = csrf_of(page.text)

    # refused: a minimum no pool holds, then a percentage that is not one; nothing written
    clash = {**ROWS, "value": ["RB", "", "CX"], "minimum": ["70M", "", "50"],
             "minimum_unit": ["amount", "share", "share"]}
    status, shown = post(client, "/dashboard/policy/guardrails", cx,
                         {"csrf": token, "rationale": "floors", "period": "FY2027", **clash})
    assert status == 422
    assert 'id="guardrails-error" role="alert">guardrails pnl RB, pnl CX in FY2027: minimums ' \
        'add up to 130,000,000.00' in shown
    assert 'value="70M"' in shown and "floors</textarea>" in shown  # the input is kept
    bad = {**ROWS, "minimum": ["lots", "", ""]}
    status, shown = post(client, "/dashboard/policy/guardrails", cx,
                         {"csrf": token, "rationale": "floors", "period": "FY2027", **bad})
    assert status == 422
    assert 'id="g0-error" role="alert">guardrail 1: the minimum &#39;lots&#39; is not a ' \
        'percentage' in shown
    assert re.search(r'id="g0-value"[^>]*aria-invalid="true"', shown)
    assert runtime.app.position() == start

    # finance reads the page but has no form; its post is refused
    finance = cookie(runtime, FINANCE)
    theirs = client.get("/dashboard/policy?period=FY2027", headers=finance)
    assert theirs.status_code == 200 and 'id="guardrails-form"' not in theirs.text
    status, _ = post(client, "/dashboard/policy/guardrails", finance,
                     {"csrf": csrf_of(theirs.text), "rationale": "x", **ROWS})
    assert status == 403 and runtime.app.position() == start

    # adopted: at least 60 % of the pool for cross-P&L work
    status, shown = post(client, "/dashboard/policy/guardrails", cx,
                         {"csrf": token, "rationale": "Seybold: a floor", "period": "FY2027",
                          **ROWS})
    assert status == 200, shown
    assert "Recorded — new policy version adopted." in shown and "Version 2" in shown
    table = shown[shown.index('id="guardrail-table"'):]
    assert "P&amp;L (CX: cross-P&amp;L work) CX</th>" in table
    assert "60.0% of the pool" in table and "<td>yes</td>" in table  # met by the cut line
    assert 'id="g0-value" name="value" maxlength="80" value="CX"' in shown  # form prefilled
    policy = client.get("/v1/scoring-policy", headers=auth("cx.chief", CX_EXEC))
    assert policy.status_code == 200
    assert policy.json()["item"]["terms"]["guardrails"][0]["min_share"] == "0.6"

    # as of before: version 1, no guardrails, no form
    then = client.get(f"/dashboard/policy?period=FY2027&as_of={start}", headers=cx).text
    assert "Version 1" in then and 'id="no-guardrails"' in then
    assert 'id="guardrails-form"' not in then
