"""The HTTP contract: problems, money as strings, pagination, as-of, ETag and probes."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import status_for
from governance.bootstrap import Runtime
from tests.api.conftest import auth

API = Path(__file__).resolve().parents[2] / "api"
FINANCE = auth("fiona", "finance")
OWNER = auth("rb.lead", "pnl_owner", pnls=("RB",))
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "instance"}


def test_routes_never_touch_the_store_directly() -> None:
    offenders = [f"{path.name}:{n}" for path in API.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), start=1)
                 if re.search(r"\.save\(|repository\.get\(|\.repository\b", line)]
    assert offenders == []


def test_error_codes_map_to_their_statuses() -> None:
    assert {code: status_for(code) for code in (
        "validation.invalid", "policy.invalid", "decision.self_approval",
        "idempotency.key_reused", "initiative.not_found", "resource.already_exists",
        "state.invalid_transition", "pool.insufficient_funds", "concurrency.conflict",
        "concurrency.stale_version", "auth.forbidden", "auth.unauthenticated",
        "read.not_caught_up", "something.new")} == {
        "validation.invalid": 422, "policy.invalid": 422, "decision.self_approval": 422,
        "idempotency.key_reused": 422, "initiative.not_found": 404,
        "resource.already_exists": 409, "state.invalid_transition": 409,
        "pool.insufficient_funds": 409, "concurrency.conflict": 409,
        "concurrency.stale_version": 412, "auth.forbidden": 403, "auth.unauthenticated": 401,
        "read.not_caught_up": 503, "something.new": 500}


def test_malformed_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post("/v1/periods", headers={**FINANCE, "Content-Type": "application/json"},
                           content=b'{"code": "FY2030",')
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.json()) >= PROBLEM_FIELDS


def test_wrong_types_and_server_owned_fields_are_named_in_errors(client: TestClient) -> None:
    response = client.post("/v1/periods", headers=FINANCE, json={
        "code": "FY2030", "currency": "USD", "opex_total": 1000.5, "status": "open"})
    fields = {e["field"] for e in response.json()["errors"]}
    assert response.status_code == 422
    assert {"opex_total", "status"} <= fields


def test_an_unexpected_error_is_a_500_problem_without_internals(runtime: Runtime) -> None:
    app = create_app(runtime)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "server.error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_money_is_a_decimal_string_in_responses(client: TestClient) -> None:
    pool = client.get("/v1/periods/FY2027", headers=OWNER).json()["item"]
    assert isinstance(pool["amount"], str)
    assert pool["amount"].startswith("120000000")


def test_lists_paginate_with_limit_and_offset(client: TestClient) -> None:
    first = client.get("/v1/initiatives", headers=FINANCE, params={"limit": 10}).json()
    last = client.get("/v1/initiatives", headers=FINANCE,
                      params={"limit": 10, "offset": 20}).json()
    assert (first["total"], len(first["items"]), first["next_offset"]) == (30, 10, 10)
    assert (len(last["items"]), last["next_offset"]) == (10, None)


def test_owners_see_other_pnls_initiatives_only_once_decided(client: TestClient) -> None:
    wm = auth("wm.lead", "pnl_owner", pnls=("WM",))
    seen = {r["pnl"] for r in client.get("/v1/initiatives", headers=wm).json()["items"]}
    assert seen <= {"WM", None}


def test_a_read_as_of_an_earlier_position_shows_the_earlier_state(client: TestClient) -> None:
    before = client.get("/v1/periods/FY2027", headers=FINANCE).json()
    restated = client.post("/v1/periods/FY2027/restatements", headers=FINANCE, json={
        "opex_total": "1000000000", "reason": "forecast"})
    now = client.get("/v1/periods/FY2027", headers=FINANCE,
                     params={"min_position": restated.json()["position"]}).json()
    then = client.get("/v1/periods/FY2027", headers=FINANCE,
                      params={"as_of": str(before["position"])}).json()
    assert now["item"]["amount"] != before["item"]["amount"]
    assert then["item"]["amount"] == before["item"]["amount"]


def test_a_position_beyond_the_log_is_refused_not_awaited(client: TestClient) -> None:
    response = client.get("/v1/pnls", headers=FINANCE, params={"min_position": 10**9})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "min_position"


def test_initiative_reads_carry_the_version_as_etag_and_patch_needs_if_match(
        client: TestClient, runtime: Runtime) -> None:
    initiative_id = runtime.app.initiative_id("FY2027", "I01")
    read = client.get(f"/v1/initiatives/{initiative_id}", headers=OWNER)
    missing = client.patch(f"/v1/initiatives/{initiative_id}", headers=OWNER,
                           json={"title": "Renamed"})
    stale = client.patch(f"/v1/initiatives/{initiative_id}",
                         headers={**OWNER, "If-Match": '"99"'}, json={"title": "Renamed"})
    assert read.headers["ETag"] == f'"{runtime.app.initiative(initiative_id).version}"'
    assert missing.status_code == 422
    assert (stale.status_code, stale.json()["code"]) == (412, "concurrency.stale_version")


def test_health_probes_answer_without_a_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "position": None}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["position"] > 0


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    wrong = client.delete("/v1/pnls", headers=FINANCE)
    assert (missing.status_code, missing.json()["code"]) == (404, "route.not_found")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, POST"
