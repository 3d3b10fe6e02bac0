"""Guardrails judged alike wherever they are given (issue 16, decisions 147-149): the
comply-or-explain refusal says why a guardrail left out an initiative ranked above the cut
line; the policy preview refuses what adoption refuses (a P&L not in the register, a set that
cannot hold in an open period's pool), with the same problem and nothing written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from governance.principal import CX_EXEC
from tests.api.conftest import auth
from tests.api.test_guardrails_http import decide, get
from tests.api.test_loop_dashboard_forms import post
from tests.api.test_loop_http import cookie
from tests.api.test_money_over_time_http import refused
from tests.api.test_policy_dashboard import ROWS
from tests.api.test_re_decisions_dashboard import csrf_of

CX = auth("cx.chief", "cx_exec")
POLICY = "/v1/scoring-policy"
PREVIEW = f"{POLICY}/preview"
CROSS = {"dimension": "pnl", "value": "CX", "min_share": "0.6"}  # 72 M of the 120 M pool
CLASH = [
    {"dimension": "pnl", "value": "RB", "min_amount": "70000000"},
    {"dimension": "pnl", "value": "CX", "min_share": "0.5"},
]


def _weights(client: TestClient) -> dict[str, Any]:
    found: dict[str, Any] = get(client, POLICY)["item"]["terms"]["weights"]
    return found


def test_an_unknown_pnl_is_refused_by_adoption_and_preview_alike(
    client: TestClient, runtime: Runtime
) -> None:
    weights = _weights(client)
    unknown = [{"dimension": "pnl", "value": "ZZ", "max_share": "0.4"}]
    adopted = refused(
        client,
        runtime,
        ("PUT", POLICY),
        {"weights": weights, "guardrails": unknown, "rationale": "A cap."},
        CX,
    )
    previewed = refused(
        client,
        runtime,
        ("POST", PREVIEW),
        {"period": "FY2027", "weights": weights, "guardrails": unknown},
        CX,
    )
    for problem in (adopted, previewed):
        assert (problem["status"], problem["code"]) == (422, "policy.invalid")
        assert problem["detail"] == (
            "guardrail pnl ZZ: no P&L ZZ in the register (P&L CX is cross-P&L work)"
        )
        assert problem["details"]["guardrails"] == ["pnl ZZ"]
        assert problem["errors"][0]["field"] == "guardrails"
    assert get(client, POLICY)["item"]["version"] == 1
    for value in ("RB", "INS", "CX"):  # registered P&Ls and cross-P&L work are taken
        ok = client.post(
            PREVIEW,
            headers=CX,
            json={
                "period": "FY2027",
                "weights": weights,
                "guardrails": [{"dimension": "pnl", "value": value, "max_share": "0.9"}],
            },
        )
        assert ok.status_code == 200, (value, ok.text)


def test_the_preview_refuses_guardrails_that_cannot_hold_in_an_open_period(
    client: TestClient, runtime: Runtime
) -> None:
    weights = _weights(client)
    adopted = refused(
        client,
        runtime,
        ("PUT", POLICY),
        {"weights": weights, "guardrails": CLASH, "rationale": "Floors."},
        CX,
    )
    previewed = refused(
        client,
        runtime,
        ("POST", PREVIEW),
        {"period": "FY2027", "weights": weights, "guardrails": CLASH},
        CX,
    )
    for problem in (adopted, previewed):
        assert (problem["status"], problem["code"]) == (422, "policy.invalid")
        assert problem["detail"].startswith(
            "guardrails pnl RB, pnl CX in FY2027: minimums add up to 130,000,000.00"
        )
        assert problem["details"]["guardrails"] == ["pnl RB", "pnl CX"]
        assert problem["details"]["period"] == "FY2027"
    assert adopted["detail"] == previewed["detail"]
    feasible = client.post(
        PREVIEW, headers=CX, json={"period": "FY2027", "weights": weights, "guardrails": [CROSS]}
    )
    assert feasible.status_code == 200, feasible.text


def test_the_refusal_says_which_guardrail_left_out_work_ranked_above_the_cut_line(
    client: TestClient, runtime: Runtime
) -> None:
    weights = _weights(client)
    body = {"weights": weights, "guardrails": [CROSS], "rationale": "Seybold: a floor."}
    assert client.put(POLICY, headers=CX, json=body).status_code == 200
    rows = get(client, "/v1/periods/FY2027/ranking")["items"]
    cut = max(r["rank"] for r in rows if r["recommended"] or r["funded"])
    pushed = [r for r in rows if r["rank"] < cut and not r["recommended"] and not r["funded"]]
    below = [r for r in rows if r["rank"] > cut and not r["recommended"] and not r["funded"]]
    assert pushed and below, "the floor leaves out work ranked above the cut line"
    problem = refused(
        client,
        runtime,
        ("POST", decide(client, runtime, pushed[0]["code"])),
        {"outcome": "approve"},
        CX,
    )
    assert (problem["status"], problem["code"]) == (422, "decision.justification_required")
    assert problem["detail"].startswith(
        f"{pushed[0]['code']} is not in the recommendation though ranked above its cut line: "
        "the guardrail pnl CX (at least 60%) leaves no room ("
    )
    assert "below the recommendation's cut line" not in problem["detail"]
    assert problem["details"]["guardrails"] == ["pnl CX"]
    assert problem["details"]["reason"] == pushed[0]["reason_code"]
    problem = refused(
        client,
        runtime,
        ("POST", decide(client, runtime, below[-1]["code"])),
        {"outcome": "approve"},
        CX,
    )
    assert problem["detail"] == (
        f"{below[-1]['code']} is below the recommendation's cut "
        "line; to approve it, write a justification"
    )
    assert "guardrails" not in problem["details"]


def test_the_policy_page_refuses_an_unknown_pnl_by_its_row(
    client: TestClient, runtime: Runtime
) -> None:
    cx = cookie(runtime, CX_EXEC)
    start = runtime.app.position()
    page = client.get("/dashboard/policy?period=FY2027", headers=cx)
    rows = {**ROWS, "value": ["ZZ", "", ""]}
    status, shown = post(
        client,
        "/dashboard/policy/guardrails",
        cx,
        {"csrf": csrf_of(page.text), "rationale": "a floor", "period": "FY2027", **rows},
    )
    assert status == 422
    assert "guardrail pnl ZZ: no P&amp;L ZZ in the register" in shown
    assert 'value="ZZ"' in shown  # the input is kept
    assert runtime.app.position() == start
