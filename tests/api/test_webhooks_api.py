"""/v1/webhooks over HTTP (in memory): create with a secret, idempotent, as-of reads,
problems for hostile URLs, deliveries and the dead-letter list, replay."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from governance.principal import AUDITOR, CX_EXEC, FINANCE
from governance.webhooks import deliver_one, secrets_of, verify
from tests.api.conftest import auth

CX = auth("cx.chief", CX_EXEC)
HOOK = {"url": "https://hooks.example.com/cxgov", "kinds": ["cxgov.PnL.*"],
        "description": "finance channel"}


def test_create_shows_the_secret_once_per_key_and_reads_as_of(
        client: TestClient, runtime: Runtime) -> None:
    headers = {**CX, "Idempotency-Key": "hook-1"}
    first = client.post("/v1/webhooks", json=HOOK, headers=headers)
    again = client.post("/v1/webhooks", json=HOOK, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    created = first.json()
    assert created["secret"].startswith("whsec_") and again.json() == created
    assert first.headers["Location"] == f"/v1/webhooks/{created['id']}"
    paused = client.post(f"/v1/webhooks/{created['id']}/pause", json={"reason": "quiet"},
                         headers=CX)
    assert paused.status_code == 200, paused.text
    live = client.get("/v1/webhooks", headers=auth("alex", AUDITOR)).json()
    then = client.get(f"/v1/webhooks?as_of={created['position']}", headers=CX).json()
    assert [w["status"] for w in live["items"]] == ["paused"]
    assert [w["status"] for w in then["items"]] == ["active"]
    assert then["position"] == created["position"]
    assert client.get("/v1/webhooks", headers=auth("fiona", FINANCE)).status_code == 403
    events = client.get("/v1/audit/events?after=0&limit=500", headers=CX).json()["items"]
    topics = [e["topic"] for e in events]
    assert "cxgov.WebhookSubscription.Subscribed" in topics
    assert "cxgov.WebhookSubscription.Paused" in topics
    assert created["secret"] not in str(events)  # the secret is never in the log


def test_hostile_urls_are_problems_and_write_nothing(client: TestClient,
                                                     runtime: Runtime) -> None:
    before = runtime.app.position()
    for url in ("http://hooks.example.com/", "https://u:p@hooks.example.com/",
                "https://169.254.169.254/latest", "https://10.0.0.1/"):
        response = client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=CX)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "validation.invalid"
        assert problem["errors"][0]["field"] == "url"
    bad_kind = client.post("/v1/webhooks", json={**HOOK, "kinds": ["DROP TABLE"]}, headers=CX)
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "kinds"
    missing = client.post("/v1/webhooks/00000000-0000-4000-8000-0000000000aa/pause",
                          json={}, headers=CX)
    assert missing.status_code == 404 and missing.json()["code"] == "webhook.not_found"
    assert runtime.app.position() == before


def test_deliveries_dead_letters_and_replay(client: TestClient, runtime: Runtime) -> None:
    created = client.post("/v1/webhooks", json=HOOK, headers=CX).json()
    pnl = {"code": "CC", "name": "Cards"}
    assert client.post("/v1/pnls", json=pnl, headers=auth("fiona", FINANCE)).status_code == 201
    listed = client.get("/v1/webhook-deliveries?state=pending", headers=CX).json()
    assert [d["topic"] for d in listed["items"]] == ["cxgov.PnL.Registered"]
    outbox = client.app.state.outbox  # type: ignore[attr-defined]
    secret_of = secrets_of(runtime.settings)
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(410)

    from governance.webhooks import DeliveryConfig

    config = DeliveryConfig(max_attempts=1)
    with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
        assert deliver_one(outbox, http, secret_of, config,
                           resolve=lambda host, port: ["93.184.216.34"])
    assert verify(secret_of(created["id"]), seen[0].headers["Cxgov-Signature"],
                  seen[0].content)
    dead = client.get(f"/v1/webhook-deliveries?state=dead&subscription_id={created['id']}",
                      headers=auth("alex", AUDITOR)).json()["items"]
    assert len(dead) == 1 and dead[0]["last_status"] == 410
    replayed = client.post(f"/v1/webhooks/{created['id']}/replay",
                           json={"delivery_ids": [dead[0]["delivery_id"]]}, headers=CX)
    assert replayed.status_code == 200, replayed.text
    again = client.get("/v1/webhook-deliveries?state=pending", headers=CX).json()["items"]
    assert [d["delivery_id"] for d in again] == [dead[0]["delivery_id"]]
    assert again[0]["attempts"] == 0
    deleted = client.delete(f"/v1/webhooks/{created['id']}", headers=CX)
    assert deleted.status_code == 200, deleted.text
    cancelled = client.get("/v1/webhook-deliveries?state=cancelled", headers=CX).json()
    assert [d["delivery_id"] for d in cancelled["items"]] == [dead[0]["delivery_id"]]
    assert client.post(f"/v1/webhooks/{created['id']}/resume", json={},
                       headers=CX).status_code == 409


def test_metrics_show_the_outbox(client: TestClient) -> None:
    client.post("/v1/webhooks", json=HOOK, headers=CX)
    client.post("/v1/pnls", json={"code": "CD", "name": "Cards"}, headers=auth("f", FINANCE))
    client.get("/v1/webhook-deliveries", headers=CX)  # the in-memory outbox catches up
    lines = {line.split(" ")[0]: line.split(" ")[1] for line in client.get(
        "/metrics").text.splitlines() if line.startswith("cxgov_webhook")}
    assert float(lines["cxgov_webhook_outbox_depth"]) == 1.0
    assert float(lines["cxgov_webhook_dead_letters"]) == 0.0
    assert float(lines["cxgov_webhook_oldest_undelivered_seconds"]) >= 0.0


def test_local_targets_follow_the_runtime_setting() -> None:
    from api.app import create_app
    from governance.bootstrap import bootstrap
    from tests.api.conftest import memory_settings

    local = {**HOOK, "url": "http://127.0.0.1:9999/hook"}
    for allowed, status in ((False, 422), (True, 201)):
        runtime = bootstrap(memory_settings(webhook_allow_local_targets=allowed))
        try:
            with TestClient(create_app(runtime)) as client:
                assert client.post("/v1/webhooks", json=local, headers=CX).status_code == status
        finally:
            runtime.close()
