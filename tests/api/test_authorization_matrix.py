"""Every route x every role x own/other P&L, generated from one declarative table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from governance.bootstrap import Runtime
from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER, ROLES
from tests.api.conftest import auth, harborview_runtime

ALL, OWN = "all", "own"
DENY, HIDDEN = 403, 404
PERIOD, WRITE_ON, READ_ON = "FY2027", "I01", "I03"  # both initiatives belong to P&L RB
EVERYONE = {role: ALL for role in ROLES}


@dataclass(frozen=True)
class Route:
    """One row: a request, who may send it (ALL, or OWN P&L only), and how others are refused."""

    method: str
    path: str
    allow: dict[str, str]
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    refused: int = DENY


def initiative_body(**changes: Any) -> dict[str, Any]:
    """A valid submission to P&L RB."""
    return {"period": PERIOD, "kind": "pnl", "pnl": "RB", "title": "Matrix probe",
            "scenario": "S1", "cost": "100000", "confidence": "0.8",
            "expected_impacts": [{"metric": "M1", "expected_value": "100", "reach": "0.1"}],
            **changes}


TABLE = [
    Route("POST", "/v1/periods", {FINANCE: ALL},
          {"code": "FY2031", "currency": "USD", "opex_total": "1000000"}),
    Route("POST", "/v1/periods/{period}/restatements", {FINANCE: ALL},
          {"opex_total": "1200000000", "reason": "forecast"}),
    Route("POST", "/v1/periods/{period}/close", {FINANCE: ALL}, {"reason": "year end"}),
    Route("GET", "/v1/periods/{period}", EVERYONE),
    Route("GET", "/v1/periods/{period}/ledger", EVERYONE),
    Route("GET", "/v1/periods/{period}/ranking", EVERYONE),
    Route("GET", "/v1/periods/{period}/recommendation", EVERYONE),
    Route("GET", "/v1/scorecard?period={period}", EVERYONE),
    Route("POST", "/v1/pnls", {FINANCE: ALL}, {"code": "CC", "name": "Cards"}),
    Route("GET", "/v1/pnls", EVERYONE),
    Route("POST", "/v1/scenarios", {CX_EXEC: ALL}, {"code": "S99", "name": "Lose a card"}),
    Route("GET", "/v1/scenarios", EVERYONE),
    Route("POST", "/v1/metrics", {CX_EXEC: ALL}, {
        "code": "M99", "customer_phrasing": "Fast", "operational_metric": "Days",
        "unit": "days", "direction": "decrease", "baseline": "6", "target": "2"}),
    Route("GET", "/v1/metrics", EVERYONE),
    Route("GET", "/v1/metrics/M1", EVERYONE),
    Route("POST", "/v1/metrics/M1/observations", {INGEST: ALL, CX_EXEC: ALL}, {
        "batch_key": "b1", "source": "crm",
        "readings": [{"value": "70", "observed_at": "2027-03-31T00:00:00Z"}]}),
    Route("POST", "/v1/observations", {INGEST: ALL, CX_EXEC: ALL}, {"batches": [
        {"metric": "M1", "batch_key": "bulk1", "source": "crm",
         "readings": [{"value": "70", "observed_at": "2027-03-31T00:00:00Z"}]}]}),
    Route("PUT", "/v1/scoring-policy", {CX_EXEC: ALL}, {"weights": "{weights}",
                                                         "rationale": "unchanged"}),
    Route("GET", "/v1/scoring-policy", EVERYONE),
    Route("POST", "/v1/scoring-policy/preview", {CX_EXEC: ALL},
          {"period": PERIOD, "weights": "{weights}"}),
    Route("POST", "/v1/initiatives", {PNL_OWNER: OWN}, initiative_body()),
    Route("POST", "/v1/initiatives", {CX_EXEC: ALL},
          initiative_body(kind="cx_process", pnl=None)),
    Route("GET", "/v1/initiatives", EVERYONE),
    Route("GET", "/v1/initiatives/{read}", {FINANCE: ALL, CX_EXEC: ALL, AUDITOR: ALL,
                                            PNL_OWNER: OWN}, refused=HIDDEN),
    Route("PATCH", "/v1/initiatives/{write}", {PNL_OWNER: OWN}, {"title": "Renamed"},
          headers={"If-Match": "{version}"}),
    Route("POST", "/v1/initiatives/{write}/withdraw", {PNL_OWNER: OWN}, {"reason": "moot"}),
    Route("POST", "/v1/initiatives/{write}/decisions", {CX_EXEC: ALL},
          {"outcome": "defer", "rationale": "next quarter"}),
    Route("POST", "/v1/initiatives/{write}/delivery", {PNL_OWNER: OWN},
          {"delivered_on": "2027-06-30"}),
    Route("POST", "/v1/initiatives/{write}/outcomes", {PNL_OWNER: OWN},
          {"metric": "M1", "observed_value": "60", "observed_at": "2027-09-30T00:00:00Z"}),
    Route("POST", "/v1/initiatives/{write}/cancel", {CX_EXEC: ALL}, {"reason": "moot"}),
    Route("GET", "/v1/audit/events", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/decisions/00000000-0000-4000-8000-000000000000",
          {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/departures/{period}", {AUDITOR: ALL, CX_EXEC: ALL}),
]
CELLS = [(route, role, scope) for route in TABLE for role in ROLES for scope in (OWN, "other")]


def expected(route: Route, role: str, scope: str) -> str:
    """'allow', or the status of a refusal, for one cell of the matrix."""
    grant = route.allow.get(role)
    return "allow" if grant == ALL or (grant == OWN and scope == OWN) else str(route.refused)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[TestClient, Runtime]]:
    """One Harborview world for the whole matrix (refusals never depend on state)."""
    runtime = harborview_runtime()
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, runtime
    runtime.close()


def send(client: TestClient, runtime: Runtime, route: Route, role: str,
         scope: str) -> tuple[int, dict[str, Any]]:
    """Send one cell's request as a principal holding `role` and P&L RB (own) or WM."""
    gov = runtime.app
    write_id = gov.initiative_id(PERIOD, WRITE_ON)
    values = {"period": PERIOD, "write": str(write_id),
              "read": str(gov.initiative_id(PERIOD, READ_ON)),
              "version": f'"{gov.initiative(write_id).version}"'}
    path = route.path.format(**values)
    body = dict(route.body) if route.body is not None else None
    if body and body.get("weights") == "{weights}":
        body["weights"] = dict(gov.policy_terms()[1].weights)
    headers = {k: v.format(**values) for k, v in route.headers.items()}
    pnls = ("RB",) if scope == OWN else ("WM",)
    headers.update(auth(f"{role}.{scope}", role, pnls=pnls))
    response = client.request(route.method, path, json=body, headers=headers)
    return response.status_code, response.json()


def test_the_table_covers_every_v1_route() -> None:
    runtime = harborview_runtime()
    app = create_app(runtime)
    served = {(method.upper(), path) for path, ops in app.openapi()["paths"].items()
              if path.startswith("/v1") for method in ops}
    placeholders = {"{period}": "{code}", "{write}": "{initiative_id}",
                    "{read}": "{initiative_id}", "M1": "{code}",
                    "00000000-0000-4000-8000-000000000000": "{decision_id}"}
    table = set()
    for route in TABLE:
        path = route.path.split("?")[0]
        for mine, theirs in placeholders.items():
            path = path.replace(mine, theirs)
        table.add((route.method, path))
    runtime.close()
    assert served == table


@pytest.mark.parametrize(("route", "role", "scope"), CELLS, ids=[
    f"{r.method} {r.path} {role} {scope}" for r, role, scope in CELLS])
def test_each_cell_is_allowed_or_refused_as_the_table_says(
        world: tuple[TestClient, Runtime], route: Route, role: str, scope: str) -> None:
    status, body = send(*world, route, role, scope)
    want = expected(route, role, scope)
    if want == "allow":
        assert status not in {401, 403}, body
        assert body.get("code") != "validation.request", body  # it reached the rules
        if route.method == "GET" and not route.path.startswith("/v1/audit/decisions"):
            assert status == 200, body
    else:
        assert status == int(want), body  # an unexpected allow fails here


def test_no_v1_route_answers_without_a_token(world: tuple[TestClient, Runtime]) -> None:
    client, _ = world
    statuses = {(route.method, route.path): client.request(
        route.method, route.path.format(period=PERIOD, write="x", read="x", version="1"),
        json=route.body).status_code for route in TABLE}
    assert set(statuses.values()) == {401}
