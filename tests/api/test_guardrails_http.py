"""Guardrails over HTTP (issue 16): a CX executive adopts a policy with a minimum share for
cross-P&L work, the ranking and the recommendation show the guarded cut line, decisions are
judged against it (comply or explain), infeasible guardrails are refused naming the conflict,
and the policy's guardrails read as of any position and in the audit log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth
from tests.api.test_money_over_time_http import refused

CX = auth("cx.chief", "cx_exec")
DEPUTY = auth("cx.deputy", "cx_exec")
FINANCE = auth("fiona", "finance")
POLICY = "/v1/scoring-policy"
CROSS = {"dimension": "pnl", "value": "CX", "min_share": "0.6"}  # 72 M of the 120 M pool


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, headers=CX, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def decide(client: TestClient, runtime: Runtime, code: str) -> str:
    return f"/v1/initiatives/{runtime.app.initiative_id('FY2027', code)}/decisions"


def recommended(client: TestClient, **params: Any) -> set[str]:
    rows = get(client, "/v1/periods/FY2027/ranking", **params)["items"]
    return {r["code"] for r in rows if r["recommended"]}


def test_a_guardrail_adopted_over_http_moves_the_cut_line_decisions_follow(
        client: TestClient, runtime: Runtime) -> None:
    start = runtime.app.position()
    weights = get(client, POLICY)["item"]["terms"]["weights"]
    plain = recommended(client)
    assert "I23" not in plain  # an 18 M cross-P&L platform, below the value cut line

    # finance may not set guardrails; conflicting ones are refused, naming the conflict
    body = {"weights": weights, "guardrails": [CROSS], "rationale": "Seybold: a floor."}
    assert refused(client, runtime, ("PUT", POLICY), body, FINANCE)["status"] == 403
    clash = refused(client, runtime, ("PUT", POLICY), {**body, "guardrails": [
        {"dimension": "pnl", "value": "RB", "min_amount": "70000000"},
        {"dimension": "pnl", "value": "CX", "min_share": "0.5"}]}, CX)
    assert (clash["status"], clash["code"]) == (422, "policy.invalid")
    assert "guardrails pnl RB, pnl CX in FY2027: minimums add up to 130,000,000.00" \
        in clash["detail"]
    assert clash["details"]["guardrails"] == ["pnl RB", "pnl CX"]
    both = refused(client, runtime, ("PUT", POLICY), {**body, "guardrails": [
        {**CROSS, "min_amount": "1000"}]}, CX)
    assert "its minimum is a share or an amount, not both" in both["detail"]
    malformed = refused(client, runtime, ("PUT", POLICY), {**body, "guardrails": [
        {"dimension": "colour", "value": "red", "min_share": "0.1"}]}, CX)
    assert malformed["status"] == 422
    four = refused(client, runtime, ("PUT", POLICY), {**body, "guardrails": [
        {"dimension": "touchpoint", "value": f"T{n}", "max_share": "0.5"} for n in range(4)]},
        CX)
    assert four["status"] == 422

    # the what-if preview shows the guarded cut line before anything is adopted
    preview = client.post(f"{POLICY}/preview", headers=CX, json={
        "period": "FY2027", "weights": weights, "guardrails": [CROSS]})
    assert preview.status_code == 200, preview.text
    previewed = {r["code"] for r in preview.json()["items"] if r["recommended"]}
    assert "I23" in previewed and previewed != plain

    adopted = client.put(POLICY, headers={**CX, "Idempotency-Key": "guard-1"}, json=body)
    assert adopted.status_code == 200, adopted.text
    again = client.put(POLICY, headers={**CX, "Idempotency-Key": "guard-1"}, json=body)
    assert again.json()["position"] == adopted.json()["position"]  # applied once
    policy = get(client, POLICY)["item"]
    assert policy["version"] == 2
    assert policy["terms"]["guardrails"] == [{
        "dimension": "pnl", "value": "CX", "min_share": "0.6", "max_share": None,
        "min_amount": None, "max_amount": None}]

    # the ranking and the recommendation agree on the guarded cut line
    guarded = recommended(client)
    assert guarded == previewed
    rec = get(client, "/v1/periods/FY2027/recommendation")["item"]
    assert set(rec["greedy"]["keys"]) == guarded
    (status,) = rec["guardrails"]
    assert status["name"] == "pnl CX" and status["greedy_met"]
    assert Decimal(status["min_amount"]) == Decimal(72_000_000)
    squeezed = sorted(plain - guarded)
    assert squeezed, "the floor pushes some P&L work out"

    # comply or explain against the guarded recommendation
    i23 = decide(client, runtime, "I23")
    bare = refused(client, runtime, ("POST", i23), {"outcome": "reject"}, CX)
    assert (bare["status"], bare["code"]) == (422, "decision.justification_required")
    complied = client.post(i23, headers=CX, json={"outcome": "approve"})
    assert complied.status_code == 201, complied.text
    assert complied.json()["decision"]["recommended"]
    assert not complied.json()["decision"]["departure"]
    out = decide(client, runtime, squeezed[0])
    bare = refused(client, runtime, ("POST", out), {"outcome": "approve"}, CX)
    assert (bare["status"], bare["code"]) == (422, "decision.justification_required")
    explained = client.post(out, headers=CX, json={
        "outcome": "approve", "rationale": "Regulator deadline; the floor can wait a quarter."})
    assert explained.status_code == 201, explained.text
    assert explained.json()["decision"]["departure"]
    end = runtime.app.position()

    # versioned with the policy: as of any position; named in the audit log
    audit = get(client, "/v1/audit/events", after=str(start), limit="50")["items"]
    (adoption,) = [e for e in audit if e["topic"] == "cxgov.ScoringPolicy.Adopted"]
    assert "policy_version=2" in adoption["summary"]
    assert "guardrails=pnl CX at least 60%" in adoption["summary"]
    after_adoption = adoption["position"]
    for position in range(start, end + 1):
        item = get(client, POLICY, as_of=str(position))["item"]
        assert len(item["terms"]["guardrails"]) == (position >= after_adoption), position
    assert recommended(client, as_of=str(start)) == plain
    assert recommended(client, as_of=str(after_adoption)) == guarded
