"""POST /v1/observations: up to 1,000 batches in one transaction, all or nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from domain.metric import ObservationBatch
from governance.bootstrap import Runtime
from tests.api.conftest import auth

INGEST = auth("bot", "ingest")
URL = "/v1/observations"


def batch(key: str, *, metric: str = "M1", value: str = "50", day: int = 1,
          readings: int = 1) -> dict[str, Any]:
    """One batch of `readings` readings."""
    return {"metric": metric, "batch_key": key, "source": "crm", "readings": [
        {"value": value, "observed_at": f"2026-01-{day:02d}T{n % 24:02d}:00:00Z",
         "sample_size": 100} for n in range(readings)]}


def body(*keys: str, **fields: Any) -> dict[str, Any]:
    """A request with one batch per key."""
    return {"batches": [batch(k, **fields) for k in keys]}


def test_batches_are_recorded_with_one_receipt_and_read_back(client: TestClient) -> None:
    sent = {"batches": [batch("b1", value="60", day=1), batch("b2", value="52", day=2),
                        batch("b1", metric="M2", value="70")]}
    response = client.post(URL, json=sent, headers=INGEST)
    assert response.status_code == 201, response.text
    got = response.json()
    assert got["count"] == 3
    assert got["batches"] == [
        {"metric": m, "batch_key": k, "id": str(ObservationBatch.create_id(m, k))}
        for m, k in (("M1", "b1"), ("M1", "b2"), ("M2", "b1"))]
    assert got["receipt"]["position"] == got["position"]
    card = client.get(f"/v1/scorecard?period=FY2027&min_position={got['position']}",
                      headers=INGEST).json()
    m1 = next(c for c in card["items"] if c["metric"] == "M1")
    assert (m1["current"], m1["readings"]) == ("52", 2)


def test_a_batch_recorded_already_refuses_the_request_naming_it_and_writes_nothing(
        client: TestClient, runtime: Runtime) -> None:
    assert client.post(URL, json=body("b2", "b4"), headers=INGEST).status_code == 201
    before = runtime.app.position()
    response = client.post(URL, json=body("b1", "b2", "b3", "b4"), headers=INGEST)
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "resource.already_exists"
    assert problem["details"]["duplicates"] == [{"metric": "M1", "batch_key": "b2"},
                                                {"metric": "M1", "batch_key": "b4"}]
    assert "M1/b2, M1/b4" in problem["detail"]
    assert runtime.app.position() == before
    assert ObservationBatch.create_id("M1", "b1") not in runtime.app.repository


def test_the_single_batch_route_and_the_bulk_route_share_batch_keys(
        client: TestClient, runtime: Runtime) -> None:
    single = {"batch_key": "crm-1", "source": "crm",
              "readings": [{"value": "50", "observed_at": "2026-01-01T00:00:00Z"}]}
    assert client.post("/v1/metrics/M1/observations", json=single,
                       headers=INGEST).status_code == 201
    assert client.post(URL, json=body("crm-1"), headers=INGEST).status_code == 409


def test_bad_input_anywhere_writes_nothing(client: TestClient, runtime: Runtime) -> None:
    before = runtime.app.position()
    no_zone = body("a", "b")
    no_zone["batches"][1]["readings"][0]["observed_at"] = "2026-01-01T00:00:00"
    cases = [
        (no_zone, 422, "validation.request"),
        ({"batches": []}, 422, "validation.request"),
        (body(*(f"k{n}" for n in range(1001))), 422, "validation.request"),
        ({"batches": [{**batch("a"), "extra": 1}]}, 422, "validation.request"),
        (body("a", "b", "a"), 422, "validation.invalid"),
        ({"batches": [batch("a"), batch("b", metric="M99")]}, 404, "metric.not_found"),
        ({"batches": [batch(f"h{n}", readings=1000) for n in range(11)]}, 422,
         "validation.invalid"),  # 11,000 readings: more than one request may hold
    ]
    for sent, status, code in cases:
        response = client.post(URL, json=sent, headers=INGEST)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert runtime.app.position() == before


def test_a_repeated_batch_key_names_the_field(client: TestClient) -> None:
    problem = client.post(URL, json=body("a", "b", "a"), headers=INGEST).json()
    assert problem["errors"] == [{"field": "batches", "message": problem["detail"],
                                  "code": "validation.invalid"}]
    assert problem["details"]["repeated"] == [{"metric": "M1", "batch_key": "a"}]


def test_a_retry_with_the_same_key_replays_the_same_bytes_and_writes_nothing(
        client: TestClient, runtime: Runtime) -> None:
    headers = {**INGEST, "Idempotency-Key": "bulk-1"}
    first = client.post(URL, json=body("a", "b"), headers=headers)
    position = runtime.app.position()
    again = client.post(URL, json=body("a", "b"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.content == again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert runtime.app.position() == position
    reused = client.post(URL, json=body("c"), headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency.key_reused")
    assert runtime.app.position() == position


def test_concurrent_identical_keyed_requests_have_one_effect(
        client: TestClient, runtime: Runtime) -> None:
    before = runtime.app.position()
    headers = {**INGEST, "Idempotency-Key": "bulk-race"}
    sent = body(*(f"r{n}" for n in range(50)))
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: client.post(URL, json=sent, headers=headers),
                                  range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert runtime.app.position() == before + 51  # fifty batches and the key


def test_only_ingest_services_and_cx_executives_may_post(client: TestClient,
                                                          runtime: Runtime) -> None:
    before = runtime.app.position()
    for role in ("finance", "pnl_owner", "auditor"):
        response = client.post(URL, json=body("a"), headers=auth("x", role, pnls=("RB",)))
        assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden")
    assert client.post(URL, json=body("a")).status_code == 401
    assert runtime.app.position() == before
    assert client.post(URL, json=body("a"), headers=auth("c", "cx_exec")).status_code == 201
