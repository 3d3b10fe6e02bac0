"""A scripted walk-through over HTTP with minted tokens, on the in-memory store."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.api.conftest import auth

FINANCE = auth("fiona", "finance")
OWNER = auth("rb.lead", "pnl_owner", pnls=("RB",))
CX = auth("cx.chief", "cx_exec")
AUDITOR = auth("alex", "auditor")


def initiative(title: str, cost: str, value: str) -> dict[str, Any]:
    """A P&L RB initiative in FY2028 expecting metric M1 (hours, baseline 120) at `value`."""
    return {"period": "FY2028", "kind": "pnl", "pnl": "RB", "title": title,
            "problem": "Customers wait", "scenario": "S1", "touchpoints": ["Branch"],
            "functional_areas": ["Cards ops"], "cost": cost, "confidence": "0.8",
            "expected_impacts": [{"metric": "M1", "expected_value": value, "reach": "0.5"}]}


def walk_through(client: httpx.Client) -> dict[str, Any]:
    """Finance opens, an owner submits, a CX exec approves a departure, an auditor reads it."""
    opened = client.post("/v1/periods", headers=FINANCE, json={
        "code": "FY2028", "currency": "USD", "opex_total": "100000000", "cap_percent": "5"})
    assert opened.status_code == 201, opened.text
    assert opened.headers["Location"] == "/v1/periods/FY2028"
    assert opened.json()["receipt"]["position"] == opened.json()["position"]

    strong = client.post("/v1/initiatives", headers=OWNER,
                         json=initiative("Instant card issuing", "4000000", "30"))
    weak = client.post("/v1/initiatives", headers=OWNER,
                       json=initiative("Branch queue screens", "3500000", "110"))
    assert (strong.status_code, weak.status_code) == (201, 201), weak.text
    weak_id = weak.json()["id"]

    cheaper = client.patch(f"/v1/initiatives/{weak_id}", headers={
        **OWNER, "If-Match": weak.headers["ETag"]}, json={"cost": "3000000",
                                                          "reason": "vendor quote"})
    assert cheaper.status_code == 200, cheaper.text
    stale = client.patch(f"/v1/initiatives/{weak_id}", headers={
        **OWNER, "If-Match": weak.headers["ETag"]}, json={"cost": "2900000"})
    assert stale.status_code == 412
    assert stale.json()["code"] == "concurrency.stale_version"

    ranking = client.get("/v1/periods/FY2028/ranking", headers=OWNER,
                         params={"min_position": cheaper.json()["position"]})
    below = {row["code"]: row["recommended"] for row in ranking.json()["items"]}
    unexplained = client.post(f"/v1/initiatives/{weak_id}/decisions", headers=CX,
                              json={"outcome": "approve"})
    approved = client.post(f"/v1/initiatives/{weak_id}/decisions", headers=CX, json={
        "outcome": "approve", "rationale": "Regulator deadline: fund despite the low score"})
    assert approved.status_code == 201, approved.text

    read = client.get(approved.headers["Location"], headers=AUDITOR,
                      params={"min_position": approved.json()["position"]})
    assert read.status_code == 200, read.text
    pool = client.get("/v1/periods/FY2028", headers=AUDITOR,
                      params={"min_position": approved.json()["position"]})
    return {"recommended": below, "unexplained": unexplained.json(),
            "approved": approved.json(), "read": read.json()["item"],
            "pool": pool.json()["item"]}


def test_finance_opens_an_owner_submits_a_cx_exec_departs_and_an_auditor_reads_it(
        client: TestClient) -> None:
    seen = walk_through(client)

    assert sorted(seen["recommended"].values()) == [False, True]
    assert seen["unexplained"]["code"] == "decision.justification_required"
    assert seen["unexplained"]["errors"][0]["field"] == "rationale"
    assert seen["approved"]["status"] == "approved"
    assert seen["approved"]["decision"]["departure"] is True
    read = seen["read"]
    assert read["rationale"] == "Regulator deadline: fund despite the low score"
    assert read["departure"] is True
    assert read["actor"].endswith("|cx.chief")
    assert seen["pool"]["amount"].startswith("5000000")
    assert seen["pool"]["committed"].startswith("3000000")
