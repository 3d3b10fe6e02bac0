"""/readyz tells a missing projector from an idle one (issue 17): 503 `no_projector` once
events have waited past the limit with no projector heartbeat; 200 while a projector runs,
even idle with nothing to do; 503 again once it stopped and new events wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.settings import Settings
from governance.stores.database import connect
from governance.stores.projectors import run_projectors
from tests.api.conftest import SECRET, auth

pytestmark = pytest.mark.pg

TIMEOUT_S = 1.0  # CXGOV_READY_PROJECTOR_TIMEOUT_SECONDS of this test
BEAT_S = 0.2  # the projector's heartbeat interval in this test (2 s in production)
FINANCE = auth("fiona", "finance")


@pytest.fixture
def runtime(pg_env: dict[str, str], pg_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A runtime on the emptied test database; only the projector check is on."""
    monkeypatch.setattr("governance.stores.projectors.HEARTBEAT_EVERY", BEAT_S)
    rt = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                            jwt_secret=SecretStr(SECRET), db_pool_size=1, db_max_overflow=4,
                            ready_max_lag_events=0, ready_max_lag_seconds=0,
                            ready_projector_timeout_seconds=TIMEOUT_S))
    yield rt
    rt.close()


def poll(client: TestClient, until: Callable[[httpx.Response], bool],
         timeout: float = 60) -> httpx.Response:
    """GET /readyz until a response satisfies `until` (or fail with the last one)."""
    deadline = time.monotonic() + timeout
    while True:
        response: httpx.Response = client.get("/readyz")
        if until(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def check(response: httpx.Response) -> Any:
    return response.json().get("details", {}).get("check")


def beats_since(url: str, at: Any) -> int:
    """How many projections recorded a heartbeat after the database time `at`."""
    with connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM rm_projector_heartbeats WHERE beat_at > %s",
                           (at,)).fetchone()
    assert row is not None
    return int(row[0])


def db_now(url: str) -> Any:
    with connect(url) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


@pytest.mark.timeout(180)
def test_readyz_says_when_no_projector_runs_and_counts_an_idle_one_as_running(
        runtime: Runtime, pg_url: str) -> None:
    assert runtime.database_url is not None
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        import_company(runtime.app, bundled_company())  # events wait; nothing projects them
        missing = poll(client, lambda r: r.status_code == 503)
        assert (missing.status_code, check(missing)) == (503, "no_projector"), missing.text
        assert missing.json()["details"]["projections"]["portfolio"]["lag_events"] > 0

        stop = threading.Event()
        projector = threading.Thread(target=run_projectors, args=(runtime.env,),
                                     kwargs={"stop": stop}, daemon=True)
        projector.start()
        try:
            models = client.app.state.services.models  # type: ignore[attr-defined]
            models.wait(runtime.app.position(), timeout=60)
            caught_up = db_now(pg_url)
            # Idle now: both projections still beat after the limit has passed.
            deadline = time.monotonic() + 60
            while beats_since(pg_url, caught_up + _seconds(2 * TIMEOUT_S)) < 2:
                assert time.monotonic() < deadline, "an idle projector stopped beating"
                time.sleep(0.1)
            idle = client.get("/readyz")
        finally:
            stop.set()
            projector.join(timeout=30)
        assert idle.status_code == 200, idle.text

        written = client.post("/v1/periods", headers=FINANCE, json={  # projector stopped
            "code": "FY2031", "currency": "USD", "opex_total": "1000000"})
        assert written.status_code == 201, written.text
        stopped = poll(client, lambda r: r.status_code == 503)
    assert (stopped.status_code, check(stopped)) == (503, "no_projector"), stopped.text
    assert stopped.json()["details"]["heartbeat_ages"]["portfolio"] > TIMEOUT_S


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
