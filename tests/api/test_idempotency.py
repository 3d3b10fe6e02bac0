"""Idempotency-Key over HTTP: concurrent duplicates have one effect; reuse is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth

FINANCE = auth("fiona", "finance")
BODY = {"code": "FY2029", "currency": "USD", "opex_total": "500000000", "cap_percent": "8"}


def test_twenty_concurrent_identical_requests_have_one_effect_and_identical_responses(
        client: TestClient, runtime: Runtime) -> None:
    before = runtime.app.position()
    headers = {**FINANCE, "Idempotency-Key": "open-fy2029"}
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(
            lambda _: client.post("/v1/periods", headers=headers, json=BODY), range(20)))

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert runtime.app.position() == before + 2  # the pool's event and the key's
    assert runtime.app.pool("FY2029").amount == 40_000_000


def test_a_retry_after_success_replays_the_same_bytes(client: TestClient) -> None:
    headers = {**FINANCE, "Idempotency-Key": "k-1"}
    first = client.post("/v1/periods", headers=headers, json=BODY)
    again = client.post("/v1/periods", headers=headers, json=BODY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.content == again.content
    assert first.headers["Location"] == again.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_key_reused_with_another_body_is_422_and_writes_nothing(
        client: TestClient, runtime: Runtime) -> None:
    headers = {**FINANCE, "Idempotency-Key": "k-2"}
    assert client.post("/v1/periods", headers=headers, json=BODY).status_code == 201
    before = runtime.app.position()
    reused = client.post("/v1/periods", headers=headers, json={**BODY, "cap_percent": "9"})
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency.key_reused"
    assert runtime.app.position() == before


def test_keys_are_scoped_to_the_caller(client: TestClient) -> None:
    key = {"Idempotency-Key": "shared-key"}
    first = client.post("/v1/periods", headers={**FINANCE, **key}, json=BODY)
    other = client.post("/v1/periods", headers={**auth("frank", "finance"), **key}, json=BODY)
    assert first.status_code == 201
    assert other.status_code == 409
    assert other.json()["code"] == "resource.already_exists"
