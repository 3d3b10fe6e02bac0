"""Tranches over HTTP: an approval names a first tranche and gates; POST
/v1/initiatives/{id}/tranche-releases releases a gate's tranche as a decision (201, Location
the decision); refusals are problem+json with stable codes and write nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth
from tests.api.test_money_over_time_http import refused

CX = auth("cx.chief", "cx_exec")
DEPUTY = auth("cx.deputy", "cx_exec")


def top(client: TestClient) -> dict[str, Any]:
    rows = client.get("/v1/periods/FY2027/ranking", headers=CX).json()["items"]
    return dict(next(r for r in rows if r["recommended"] and Decimal(r["cost"]) <= 10_000_000))


def test_approve_in_tranches_then_release_a_gate(client: TestClient, runtime: Runtime) -> None:
    row = top(client)
    url = f"/v1/initiatives/{row['id']}"
    cost = Decimal(row["cost"])
    first, gate = cost / 4, cost - cost / 4
    bad = refused(client, runtime, ("POST", f"{url}/decisions"), {
        "outcome": "approve", "first_tranche": str(first),
        "gates": [{"name": "pilot", "amount": str(gate - 1)}]}, CX)
    assert (bad["status"], bad["code"]) == (422, "validation.tranches_do_not_add_up")
    approved = client.post(f"{url}/decisions", headers=CX, json={
        "outcome": "approve", "first_tranche": str(first),
        "gates": [{"name": "pilot", "amount": str(gate)}]})
    assert approved.status_code == 201, approved.text
    card = client.get(url, headers=CX).json()["item"]
    assert Decimal(card["committed"]) == first
    assert [(g["name"], Decimal(g["amount"]), g["released"]) for g in card["gates"]] == [
        ("pilot", gate, False)]
    ledger = client.get("/v1/periods/FY2027/ledger", headers=CX).json()["item"]
    assert Decimal(ledger["gated"]) == gate

    unknown = refused(client, runtime, ("POST", f"{url}/tranche-releases"),
                      {"gate": "rollout"}, DEPUTY)
    assert (unknown["status"], unknown["code"]) == (422, "validation.invalid")
    assert [e["field"] for e in unknown["errors"]] == ["gate"]
    released = client.post(f"{url}/tranche-releases", headers=DEPUTY,
                           json={"gate": "pilot", "rationale": "the pilot worked"})
    assert released.status_code == 201, released.text
    assert released.json()["decision"]["approvals"] == ["cxgov|cx.deputy"]
    assert released.headers["Location"].startswith("/v1/audit/decisions/")
    card = client.get(url, headers=CX).json()["item"]
    assert Decimal(card["committed"]) == cost and card["gates"][0]["released"]
    again = refused(client, runtime, ("POST", f"{url}/tranche-releases"),
                    {"gate": "pilot", "rationale": "again"}, DEPUTY)
    assert (again["status"], again["code"]) == (409, "state.invalid_transition")
    finance = refused(client, runtime, ("POST", f"{url}/tranche-releases"),
                      {"gate": "pilot"}, auth("fiona", "finance"))
    assert (finance["status"], finance["code"]) == (403, "auth.forbidden")
