"""Money over time over HTTP: spend (single and bulk), stop, descope; refusals are
problem+json with stable codes and write nothing; idempotency keys replay; the ledger reads
as of any position."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth

CX = auth("cx.chief", "cx_exec")
FINANCE = auth("fiona", "finance")
INGEST = auth("bot", "ingest")
OWNER = auth("rb.lead", "pnl_owner", pnls=("RB",))


@pytest.fixture
def approved(client: TestClient) -> dict[str, Any]:
    """The top-ranked Harborview initiative, approved."""
    rows = client.get("/v1/periods/FY2027/ranking", headers=CX).json()["items"]
    top = next(r for r in rows if r["recommended"] and Decimal(r["cost"]) <= 10_000_000)
    response = client.post(f"/v1/initiatives/{top['id']}/decisions", headers=CX,
                           json={"outcome": "approve"})
    assert response.status_code == 201, response.text
    return dict(top)


def refused(client: TestClient, runtime: Runtime, method_path: tuple[str, str],
            body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """Send a request that must be refused; the log must not move. Its problem."""
    before = runtime.app.position()
    response = client.request(method_path[0], method_path[1], json=body, headers=headers)
    assert response.status_code >= 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert runtime.app.position() == before, "a refused request wrote an event"
    problem: dict[str, Any] = response.json()
    problem["status"] = response.status_code
    return problem


def ledger(client: TestClient, **query: str) -> dict[str, Any]:
    response = client.get("/v1/periods/FY2027/ledger", headers=FINANCE, params=query)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["item"]
    return item


def test_spend_stop_and_the_ledger(client: TestClient, runtime: Runtime,
                                   approved: dict[str, Any]) -> None:
    url = f"/v1/initiatives/{approved['id']}"
    cost = Decimal(approved["cost"])
    first = client.post(f"{url}/spend", headers=FINANCE, json={
        "amount": "100000.50", "spent_on": "2026-03-31", "reference": "INV-1"})
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == url
    keyed = {**INGEST, "Idempotency-Key": "spend-42"}
    body = {"items": [{"initiative_id": approved["id"], "amount": "200000",
                       "spent_on": "2026-04-30", "note": "milestone 2"}]}
    bulk = client.post("/v1/spend", headers=keyed, json=body)
    assert bulk.status_code == 201, bulk.text
    assert bulk.json()["count"] == 1 and bulk.json()["initiatives"] == [approved["id"]]
    replay = client.post("/v1/spend", headers=keyed, json=body)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == bulk.json()
    spent = Decimal("300000.50")
    assert Decimal(ledger(client)["spent"]) == spent
    stopped = client.post(f"{url}/stop", headers=CX, json={"reason": "moved to FY2028"})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "cancelled"
    now = ledger(client)
    assert Decimal(now["released"]) == cost - spent
    assert Decimal(now["net_committed"]) == spent
    assert Decimal(ledger(client, as_of=str(first.json()["position"]))["released"]) == 0
    card = client.get(url, headers=CX).json()["item"]
    assert (Decimal(card["spent"]), Decimal(card["released"])) == (spent, cost - spent)
    assert [s["reference"] for s in card["spend"]] == ["INV-1", ""]


def test_descope_releases_the_difference(client: TestClient, approved: dict[str, Any]) -> None:
    url = f"/v1/initiatives/{approved['id']}"
    cost = Decimal(approved["cost"])
    response = client.post(f"{url}/descope", headers=CX, json={
        "new_cost": str(cost / 2), "reason": "phase 2 dropped"})
    assert response.status_code == 200, response.text
    assert Decimal(ledger(client)["released"]) == cost - cost / 2
    card = client.get(url, headers=CX).json()["item"]
    assert Decimal(card["committed"]) == cost / 2
    assert card["descopes"][0]["reason"] == "phase 2 dropped"


def test_refusals_are_problems_and_write_nothing(client: TestClient, runtime: Runtime,
                                                 approved: dict[str, Any]) -> None:
    url = f"/v1/initiatives/{approved['id']}"
    cost = Decimal(approved["cost"])
    rows = client.get("/v1/periods/FY2027/ranking", headers=CX).json()["items"]
    waiting = next(r for r in rows if r["status"] == "submitted")["id"]
    spend = {"amount": "1000", "spent_on": "2026-03-31"}
    cases: list[tuple[tuple[str, str], dict[str, Any], dict[str, str], int, str, str | None]] = [
        (("POST", f"{url}/spend"), spend, OWNER, 403, "auth.forbidden", None),
        (("POST", f"/v1/initiatives/{waiting}/spend"), spend, FINANCE, 409,
         "state.invalid_transition", None),
        (("POST", f"{url}/spend"), {**spend, "spent_on": "2999-01-01"}, FINANCE, 422,
         "validation.invalid", "spent_on"),
        (("POST", f"{url}/spend"), {**spend, "amount": "0"}, FINANCE, 422,
         "validation.invalid", "amount"),
        (("POST", f"{url}/descope"), {"new_cost": str(cost), "reason": "x"}, CX, 422,
         "validation.descope_out_of_range", "new_cost"),
        (("POST", f"{url}/descope"), {"new_cost": "1000"}, CX, 422, "validation.request",
         None),
        (("POST", f"{url}/descope"), {"new_cost": "1000", "reason": "x"}, FINANCE, 403,
         "auth.forbidden", None),
        (("POST", f"/v1/initiatives/{waiting}/stop"), {"reason": "x"}, CX, 409,
         "state.invalid_transition", None),
        (("POST", "/v1/spend"), {"items": [
            {"initiative_id": approved["id"], **spend},
            {"initiative_id": approved["id"], **spend, "spent_on": "1969-12-31"}]},
         FINANCE, 422, "validation.invalid", "items.1.spent_on"),
        (("POST", "/v1/spend"), {"items": [
            {"initiative_id": approved["id"], **spend},
            {"initiative_id": waiting, **spend}]},
         INGEST, 409, "state.invalid_transition", None),
        (("POST", "/v1/spend"), {"items": [{"initiative_id": approved["id"], **spend}] * 1001},
         FINANCE, 422, "validation.request", None),
    ]
    for where, body, headers, status, code, field in cases:
        problem = refused(client, runtime, where, body, headers)
        assert (problem["status"], problem["code"]) == (status, code), (where, problem)
        if field is not None:
            assert [e["field"] for e in problem["errors"]] == [field], problem
    assert Decimal(ledger(client)["spent"]) == 0
