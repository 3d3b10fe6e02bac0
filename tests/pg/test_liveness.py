"""Write deadlines and readiness (cxgov issue 12, the liveness class).

A write that cannot get the event store's lock within its deadline fails with a 503
`store.busy` problem instead of waiting (or retrying) on; /readyz says not ready while a
writer could not get the lock, and ready again once it can; a session left idle holding the
lock is ended by the server, so the lock is not held for ever.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.settings import Settings
from governance.stores.database import connect
from tests.api.conftest import SECRET, auth
from tests.conftest import truncate_all_tables

pytestmark = pytest.mark.pg

INGEST = auth("bot", "ingest")
URL = "/v1/observations"


def one_batch(key: str) -> dict[str, Any]:
    """A one-reading bulk request."""
    return {"batches": [{"metric": "M1", "batch_key": key, "source": "crm", "readings": [
        {"value": "50", "observed_at": "2026-01-01T00:00:00Z", "sample_size": 100}]}]}


def runtime_on(url: str, **settings: Any) -> Runtime:
    """Harborview on the (emptied) test database, with the given settings; lag and projector
    checks off (no projector runs)."""
    truncate_all_tables(url)
    runtime = bootstrap(Settings(store="postgres", database_url=SecretStr(url),
                                 jwt_secret=SecretStr(SECRET), ready_max_lag_events=0,
                                 ready_max_lag_seconds=0, ready_projector_timeout_seconds=0,
                                 **settings))
    import_company(runtime.app, bundled_company())
    return runtime


@pytest.fixture
def held_lock(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session that takes the events table lock (EXCLUSIVE, as writers do) when
    `LOCK` is executed on it, and rolls back (releasing it) at the end."""
    conn = connect(pg_url, autocommit=False)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


LOCK = "LOCK TABLE cxgov_events IN EXCLUSIVE MODE"


@pytest.mark.timeout(120)
def test_a_write_fails_within_its_lock_deadline_and_readiness_follows_the_lock(
        pg_url: str, held_lock: psycopg.Connection[Any]) -> None:
    runtime = runtime_on(pg_url, db_lock_timeout=1, ready_lock_timeout_ms=300)
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
            assert client.get("/readyz").status_code == 200
            before = runtime.app.position()
            held_lock.execute(LOCK)

            started = time.monotonic()
            refused = client.post(URL, json=one_batch("busy"), headers=INGEST)
            took = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "store.busy"
            assert refused.headers["Retry-After"] == "1"
            assert 1.0 <= took < 5.0  # the 1 s deadline, not ten retries of it
            assert runtime.app.position() == before

            started = time.monotonic()
            not_ready = client.get("/readyz")
            assert time.monotonic() - started < 3.0
            assert not_ready.status_code == 503, not_ready.text
            problem = not_ready.json()
            assert problem["code"] == "service.not_ready"
            assert problem["details"] == {"check": "event_store_lock", "timeout_ms": 300}

            held_lock.rollback()  # the other session lets go
            assert client.get("/readyz").status_code == 200
            assert client.post(URL, json=one_batch("busy"), headers=INGEST).status_code == 201
    finally:
        runtime.close()


@pytest.mark.timeout(120)
def test_a_statement_past_its_timeout_is_cancelled_and_refused_as_busy(
        pg_url: str, held_lock: psycopg.Connection[Any]) -> None:
    # No lock deadline at all: only the statement timeout can end the wait.
    runtime = runtime_on(pg_url, db_lock_timeout=0, db_statement_timeout=1,
                         ready_lock_timeout_ms=0)
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
            held_lock.execute(LOCK)
            started = time.monotonic()
            refused = client.post(URL, json=one_batch("slow"), headers=INGEST)
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "store.busy"
            assert 1.0 <= time.monotonic() - started < 5.0
            assert client.get("/readyz").status_code == 200  # the check is off (0)
    finally:
        runtime.close()


@pytest.mark.timeout(120)
def test_a_session_left_idle_holding_the_lock_is_ended_by_the_server(pg_url: str) -> None:
    runtime = runtime_on(pg_url, db_lock_timeout=20, db_idle_in_transaction_timeout=1)
    recorder: Any = runtime.app.recorder
    try:
        # A request stuck in Python between two statements of its write transaction, on one
        # of the application's own connections: the server ends that session.
        with (TestClient(create_app(runtime), raise_server_exceptions=False) as client,
              pytest.raises(psycopg.Error),
              recorder.datastore.pool.connection() as stuck, stuck.transaction()):
            stuck.execute("SELECT cxgov_lock_events()")
            started = time.monotonic()
            written = client.post(URL, json=one_batch("after-idle"), headers=INGEST)
            took = time.monotonic() - started
            assert written.status_code == 201, written.text
            assert took < 4.0  # the server ended the idle session after ~1 s (default: 5)
            stuck.execute("SELECT 1")  # that session is gone
    finally:
        runtime.close()
