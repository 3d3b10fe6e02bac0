"""Funding plans over HTTP (issue 16 acceptance): two plans saved, compared side by side, one
adopted as the plan of record, a decision against it needs a justification, and the whole
story replays as of every position of the log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth
from tests.api.test_money_over_time_http import refused
from tests.api.test_re_decisions_dashboard import signed_in

CX = auth("cx.chief", "cx_exec")
DEPUTY = auth("cx.deputy", "cx_exec")
FINANCE = auth("fiona", "finance")
OWNER = auth("rob", "pnl_owner", pnls=("RB",))
PLANS = "/v1/periods/FY2027/plans"
VALUE = {"name": "Value first", "budget": "120000000"}
CROSS = {"name": "Cross-P&L first", "budget": "120000000", "policy_version": 1,
         "description": "Seybold: cross-P&L work gets done no other way.",
         "forced_in": [{"code": "I23", "reason": "Journey data platform: nobody else funds it"}],
         "forced_out": [{"code": "I07", "reason": "Overlaps the vendor's own release"}]}


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, headers=CX, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def initiative_url(runtime: Runtime, code: str) -> str:
    return f"/v1/initiatives/{runtime.app.initiative_id('FY2027', code)}"


def test_two_plans_compared_one_adopted_and_decisions_judged_against_it(
        client: TestClient, runtime: Runtime) -> None:
    start = runtime.app.position()
    assert get(client, PLANS)["item"] == {"period": "FY2027", "plans": [],
                                          "plan_of_record": None, "adoptions": []}
    # saved by finance, retried with the same key: one plan, the first answer replayed
    first = client.post(PLANS, headers={**FINANCE, "Idempotency-Key": "plan-1"}, json=VALUE)
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"{PLANS}/value%20first"
    again = client.post(PLANS, headers={**FINANCE, "Idempotency-Key": "plan-1"}, json=VALUE)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    after_value = runtime.app.position()
    duplicate = refused(client, runtime, ("POST", PLANS), {**VALUE, "name": "VALUE FIRST"}, CX)
    assert (duplicate["status"], duplicate["code"]) == (409, "resource.already_exists")
    owner = refused(client, runtime, ("POST", PLANS), CROSS, OWNER)
    assert owner["status"] == 403
    infeasible = refused(client, runtime, ("POST", PLANS), {
        **CROSS, "budget": "10000000"}, CX)
    assert (infeasible["status"], infeasible["code"]) == (422, "validation.plan_infeasible")
    saved = client.post(PLANS, headers=CX, json=CROSS)
    assert saved.status_code == 201, saved.text
    after_cross = runtime.app.position()

    # side by side
    side = get(client, f"{PLANS}/compare", names=["Value first", "cross-p&l first"])["item"]
    value, cross = side["plans"]
    assert (value["name"], cross["name"]) == ("Value first", "Cross-P&L first")
    value_codes = {i["code"] for i in value["items"]}
    cross_codes = {i["code"] for i in cross["items"]}
    assert "I07" in value_codes and "I07" not in cross_codes
    assert "I23" in cross_codes and "I23" not in value_codes
    assert next(i for i in cross["items"] if i["code"] == "I23")["forced"]
    for plan in (value, cross):
        assert Decimal(plan["cost"]) <= Decimal(plan["budget"])
        assert Decimal(plan["cost"]) == sum(Decimal(i["cost"]) for i in plan["items"])
        assert sum(Decimal(s["cost"]) for s in plan["by_pnl"]) == Decimal(plan["cost"])
        assert sum(Decimal(s["cost"]) for s in plan["by_kind"]) == Decimal(plan["cost"])
        assert plan["metrics_moved"] and not plan["adopted"]
    cross_infra = sum(Decimal(s["cost"]) for s in cross["by_kind"] if s["key"] != "pnl")
    value_infra = sum(Decimal(s["cost"]) for s in value["by_kind"] if s["key"] != "pnl")
    assert cross_infra > value_infra
    differing = {d["code"]: d["funded_by"] for d in side["differences"]}
    assert differing["I07"] == ["Value first"] and differing["I23"] == ["Cross-P&L first"]
    assert set(side["in_all"]) == value_codes & cross_codes
    assert {s["setting"] for s in side["settings"]} == {"forced_in", "forced_out"}
    unknown = client.get(f"{PLANS}/compare", headers=CX, params={"names": ["Nope"]})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "plan.not_found")
    five = client.get(f"{PLANS}/compare", headers=CX, params={"names": list("abcde")})
    assert five.status_code == 422

    # adopted by a CX executive (finance may not), with a rationale
    url = f"{PLANS}/cross-p%26l%20first/adopt"
    assert refused(client, runtime, ("POST", url), {"rationale": "x"}, FINANCE)["status"] == 403
    adopted = client.post(url, headers=CX, json={"rationale": "The board asked for it."})
    assert adopted.status_code == 200, adopted.text
    listed = get(client, PLANS)["item"]
    assert listed["plan_of_record"] == "Cross-P&L first"
    assert [(p["name"], p["adopted"]) for p in listed["plans"]] == [
        ("Value first", False), ("Cross-P&L first", True)]
    assert [(a["name"], a["actor"]) for a in listed["adoptions"]] == [
        ("Cross-P&L first", "cxgov|cx.chief")]

    # I07: above the cut line, outside the plan: approving it needs a justification
    i07 = initiative_url(runtime, "I07")
    bare = refused(client, runtime, ("POST", f"{i07}/decisions"), {"outcome": "approve"}, CX)
    assert (bare["status"], bare["code"]) == (422, "decision.justification_required")
    assert "outside the plan of record 'Cross-P&L first'" in bare["detail"]
    explained = client.post(f"{i07}/decisions", headers=CX, json={
        "outcome": "approve", "rationale": "The vendor's release slipped a year."})
    assert explained.status_code == 201, explained.text
    decision = explained.json()["decision"]
    assert (decision["departure"], decision["recommended"], decision["plan"]) == (
        True, False, "Cross-P&L first")
    # I23: below the cut line, in the plan: complies without a word (a first approval: 18 M)
    i23 = initiative_url(runtime, "I23")
    complied = client.post(f"{i23}/decisions", headers=DEPUTY, json={"outcome": "approve"})
    assert complied.status_code == 201, complied.text
    assert not complied.json()["decision"]["departure"]
    # I11: in both, rejecting it departs from the plan
    i11 = initiative_url(runtime, "I11")
    rejected = refused(client, runtime, ("POST", f"{i11}/decisions"), {"outcome": "reject"}, CX)
    assert "in the plan of record" in rejected["detail"]
    end = runtime.app.position()
    departures = get(client, "/v1/audit/departures/FY2027")["item"]["departures"]
    assert [d["code"] for d in departures] == ["I07"]
    audit = get(client, "/v1/audit/events", after=str(start), limit="100")["items"]
    summaries = [e["summary"] for e in audit]
    assert sum(s.startswith("FundingPlan.Saved:") for s in summaries) == 2
    assert any(s.startswith("PlanOfRecord.Adopted: name=Cross-P&L first") for s in summaries)
    assert any("departure plan=Cross-P&L first" in s for s in summaries)
    # the auditor's decision timeline lists the adoption among the decisions
    with signed_in(runtime, "audit.one", "auditor") as auditor:
        timeline = auditor.get("/dashboard/audit").text
    assert timeline.count("PlanOfRecord.Adopted</strong>") == 1

    # the whole story, as of every position: plans, the plan of record, the decisions
    at = {e["topic"]: [] for e in audit}
    for e in audit:
        at[e["topic"]].append(e["position"])
    saved_at, adopted_at = at["cxgov.FundingPlan.Saved"], at["cxgov.PlanOfRecord.Adopted"]
    approved_at = next(e["position"] for e in audit if e["topic"] == "cxgov.Initiative.Approved")
    assert len(saved_at) == 2 and len(adopted_at) == 1
    for position in range(start, end + 1):
        item = get(client, PLANS, as_of=str(position))["item"]
        names = [p["name"] for p in item["plans"]]
        assert names == ["Value first", "Cross-P&L first"][:sum(
            position >= p for p in saved_at)], position
        record = "Cross-P&L first" if position >= adopted_at[0] else None
        assert item["plan_of_record"] == record, position
        assert [p["adopted"] for p in item["plans"]] == [
            p["name"] == record for p in item["plans"]], position
        card = get(client, i07, as_of=str(position))["item"]
        assert card["status"] == ("approved" if position >= approved_at else "submitted")
    then = get(client, f"{PLANS}/compare", names=["Value first", "Cross-P&L first"],
               as_of=str(after_cross))
    assert then["position"] == after_cross and then["item"]["plan_of_record"] is None
    assert then["item"]["plans"][1]["items"] == cross["items"]
    live = get(client, f"{PLANS}/compare", names=["Value first", "Cross-P&L first"])
    newest = get(client, f"{PLANS}/compare", names=["Value first", "Cross-P&L first"],
                 as_of=str(end))
    assert live == newest
    early = client.get(f"{PLANS}/compare", headers=CX,
                       params={"names": ["Cross-P&L first"], "as_of": str(after_value)})
    assert early.status_code == 404
    one = get(client, f"{PLANS}/VALUE%20FIRST", as_of=str(after_value))["item"]
    assert one["name"] == "Value first" and one["saved_by"] == "cxgov|fiona"
