"""/metrics, request ids and JSON access logs, and /readyz against projection lag."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.observability import iter_lines
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.settings import Settings
from governance.stores.projectors import run_projectors
from tests.api.conftest import SECRET, auth, harborview_runtime, memory_settings

INGEST = auth("ingest.bot", "ingest")
BATCH = {"batch_key": "2027-03-crm", "source": "crm", "readings": [
    {"value": "71.5", "observed_at": "2026-03-31T00:00:00Z", "sample_size": 1200},
    {"value": "70.0", "observed_at": "2026-04-30T00:00:00Z", "sample_size": 900}]}


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The API over the in-memory Harborview world."""
    runtime = harborview_runtime()
    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c
    runtime.close()


def series(client: TestClient) -> dict[str, float]:
    """The /metrics exposition as {series: value}."""
    text = client.get("/metrics").text
    pairs = (line.rsplit(" ", 1) for line in iter_lines(text))
    return {name: float(value) for name, value in pairs}


def test_metrics_count_commands_by_outcome_and_time_requests_by_route_template(
        client: TestClient) -> None:
    ok = client.post("/v1/metrics/M1/observations", headers=INGEST, json=BATCH)
    again = client.post("/v1/metrics/M1/observations", headers=INGEST, json=BATCH)
    client.get("/v1/metrics/M1", headers=INGEST)
    found = series(client)
    assert ok.status_code == 201
    assert again.status_code == 409
    assert found['cxgov_commands_total{command="record_observations",outcome="ok"}'] == 1
    conflict = again.json()["code"]
    assert found['cxgov_commands_total{command="record_observations",'
                 f'outcome="{conflict}"}}'] == 1
    assert found['cxgov_http_request_duration_seconds_count{method="GET",'
                 'route="/v1/metrics/{code}",status="200"}'] == 1


def test_metrics_expose_projection_lag_and_pool_utilisation(client: TestClient) -> None:
    found = series(client)
    assert found['cxgov_projection_lag_events{projection="portfolio"}'] == 0
    assert found['cxgov_projection_lag_seconds{projection="auditlog"}'] == 0
    assert 0 <= found['cxgov_pool_utilisation_ratio{period="FY2027"}'] <= 1


def test_each_request_logs_one_json_line_with_its_id_actor_command_and_position(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    access = logging.getLogger("cxgov.access")
    access.addHandler(caplog.handler)
    try:
        response = client.post("/v1/metrics/M2/observations", json=BATCH,
                               headers={**INGEST, "X-Request-ID": "req-42"})
    finally:
        access.removeHandler(caplog.handler)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cxgov.access"]
    assert response.headers["x-request-id"] == "req-42"
    assert lines[-1]["request_id"] == "req-42"
    assert lines[-1]["actor"] == "cxgov|ingest.bot"
    assert lines[-1]["command"] == "record_observations"
    assert lines[-1]["position"] == response.json()["position"]
    assert lines[-1]["latency_ms"] >= 0


def test_a_request_without_an_id_gets_a_fresh_one(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first != second


@pytest.fixture
def pg_runtime(pg_env: dict[str, str], pg_url: str) -> Iterator[Runtime]:
    """A runtime on the emptied test database, ready at most 5 events behind."""
    settings = Settings(store="postgres", database_url=SecretStr(pg_url),
                        jwt_secret=SecretStr(SECRET), db_pool_size=1, db_max_overflow=4,
                        ready_max_lag_events=5, ready_max_lag_seconds=0)
    runtime = bootstrap(settings)
    yield runtime
    runtime.close()


def test_readyz_is_503_while_the_projector_lags_and_200_once_it_caught_up(
        pg_runtime: Runtime, pg_env: dict[str, str]) -> None:
    app = create_app(pg_runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        report = import_company(pg_runtime.app, bundled_company())
        lagging = client.get("/readyz")
        stop = threading.Event()
        projector = threading.Thread(target=run_projectors, args=(pg_env,),
                                     kwargs={"stop": stop}, daemon=True)
        projector.start()
        try:
            app.state.services.models.wait(report.last_position, timeout=60)
            ready = client.get("/readyz")
        finally:
            stop.set()
            projector.join(timeout=30)
    assert (lagging.status_code, lagging.json()["code"]) == (503, "service.not_ready")
    assert lagging.headers["content-type"] == "application/problem+json"
    assert lagging.json()["details"]["projections"]["portfolio"]["lag_events"] > 5
    assert ready.status_code == 200
    assert ready.json()["projections"]["portfolio"]["lag_events"] == 0


def test_readyz_is_503_when_the_schema_is_not_at_head(
        pg_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.routes.health.is_at_head", lambda url: False)
    with TestClient(create_app(pg_runtime), raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    assert (response.status_code, response.json()["details"]["check"]) == (503, "schema")


def test_a_request_past_the_timeout_is_answered_503_while_its_work_finishes() -> None:
    runtime = bootstrap(memory_settings(request_timeout_seconds=0.2))
    app = create_app(runtime)
    gate, finished = threading.Event(), threading.Event()

    def stuck() -> dict[str, str]:
        gate.wait(30)
        finished.set()
        return {"status": "late"}

    app.add_api_route("/stuck", stuck)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/stuck")
        gate.set()
        assert finished.wait(30)
    runtime.close()
    assert (response.status_code, response.json()["code"]) == (503, "request.timeout")
    assert response.headers["content-type"] == "application/problem+json"
