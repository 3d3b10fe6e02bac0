"""Reads from a hot standby (issue 19, part 4): ops/cluster pg-start, read your writes on the
standby or the primary, the replay lag in /metrics, and the quick replica drill."""

from __future__ import annotations

import contextvars
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from api.observability import ReplicaCollector, iter_lines
from governance.app import Governance
from governance.stores.database import connect, migrate
from governance.stores.readside import in_process_postgres, served_read_models
from governance.stores.replica import PRIMARY, STANDBY, ReplicatedReadModels, reading_from
from ops.bench.history import proposal, setup_world
from ops.bench.infra import env_for
from ops.reliability.common import OWNER
from ops.reliability.replica import PERIOD, Pair, free_port, replica_drill
from tests.api.conftest import SECRET, auth

pytestmark = pytest.mark.pg

#: Generous bounds for the standby to replay (a loaded CI box); never asserted as durations.
REPLAY_S = 120.0
STARTUP_S = 120.0


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A folder outside pytest's temporary root: as root the servers run as another user, and
    a concurrent pytest run resets that root to mode 0700."""
    with tempfile.TemporaryDirectory(prefix="cxgov-replica-") as found:
        yield Path(found)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A scratch folder for one test."""
    with scratch_folder() as found:
        yield found


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A primary and a synchronous hot standby, migrated, with the bench world on them."""
    with scratch_folder() as found:
        started = Pair(found)
        started.start()
        try:
            migrate(started.urls["CXGOV_DATABASE_URL"])
            gov = Governance(env=env_for(started.urls["CXGOV_DATABASE_URL"]))
            setup_world(gov, period=PERIOD)
            gov.close()
            yield started
        finally:
            started("pg-stop")


@contextmanager
def replay_paused(url: str) -> Iterator[None]:
    """The standby stops replaying WAL (it still receives it) until the block ends."""
    with connect(url) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        with connect(url) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def fresh(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """Run a read as a request does (its own context); what it returned and where it read."""

    def read() -> tuple[Any, str]:
        found = call(*args, **kwargs)
        return found, reading_from()

    return contextvars.copy_context().run(read)


def test_reads_go_to_the_standby_and_fall_back_to_the_primary_for_unreplayed_writes(
    pair: Pair,
) -> None:
    primary, standby = pair.urls["CXGOV_DATABASE_URL"], pair.urls["CXGOV_READ_DATABASE_URL"]
    env = env_for(primary)
    gov = Governance(env=env)
    projector = in_process_postgres(gov, env)  # writes the views on the primary
    projector.refresh()
    models = served_read_models(gov, env, read_env=env_for(standby), standby_wait=0.3)
    assert isinstance(models, ReplicatedReadModels)
    first = gov.position()
    for view in models._standby:  # wait for replay (generous bound) before the first read
        view.wait("cxgov", first, timeout=REPLAY_S)
    on_standby, where = fresh(models.snapshot, min_position=first)
    assert (where, on_standby.position >= first) == (STANDBY, True)
    status = pair("pg-status")
    assert "primary" in status.splitlines()[0] and status.splitlines()[1].endswith("standby")

    with replay_paused(standby):
        written = gov.submit_initiative(
            OWNER,
            period=PERIOD,
            kind="pnl",
            pnl="RB",
            proposal=proposal(random.Random(1), "Mine"),
            code="RY1",
        )
        projector.refresh()
        mine = written.position
        read_back, where_mine = fresh(models.snapshot, min_position=mine)
        stale, where_stale = fresh(models.snapshot)
        metrics = {
            m.name: m
            for m in ReplicaCollector(
                SimpleNamespace(  # type: ignore[arg-type]
                    state=SimpleNamespace(services=SimpleNamespace(models=models))
                )
            ).collect()
        }
    assert where_mine == PRIMARY and read_back.position >= mine
    assert where_stale == STANDBY and stale.position < mine  # replay is paused
    assert reading_from() == STANDBY  # the fallback stayed in its request's context
    behind = metrics["cxgov_read_replica_lag_bytes"].samples[0].value
    assert behind > 0
    assert metrics["cxgov_read_replica_in_recovery"].samples[0].value == 1
    served = {
        s.labels["database"]: s.value
        for s in metrics["cxgov_read_queries"].samples
        if s.name.endswith("_total")
    }
    assert served == {STANDBY: 2, PRIMARY: 1}

    for view in models._standby:
        view.wait("cxgov", mine, timeout=REPLAY_S)
    again, where_again = fresh(models.snapshot, min_position=mine)
    assert where_again == STANDBY and again.position >= mine
    models.close()
    gov.close()


def wait_started(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    """Poll /healthz until the API answers (a condition, bounded at STARTUP_S)."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "the API process exited"
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the API did not answer within {STARTUP_S:g} s")


def test_an_api_process_reads_the_standby_and_a_fresh_write_from_the_primary(
    pair: Pair, folder: Path
) -> None:
    primary, standby = pair.urls["CXGOV_DATABASE_URL"], pair.urls["CXGOV_READ_DATABASE_URL"]
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:serve",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={
            **os.environ,
            "CXGOV_DATABASE_URL": primary,
            "CXGOV_READ_DATABASE_URL": standby,
            "CXGOV_READ_REPLICA_WAIT_SECONDS": "0.2",
            "CXGOV_STORE": "postgres",
            "CXGOV_DATA_DIR": str(folder),
            "CXGOV_JWT_SECRET": SECRET,
            "CXGOV_DB_POOL_SIZE": "1",
            "CXGOV_DB_MAX_OVERFLOW": "4",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gov = Governance(env=env_for(primary))
    projector = in_process_postgres(gov, env_for(primary))
    ingest = auth("ingest.bot", "ingest")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_started(client, server)
            with replay_paused(standby):
                written = client.post(
                    "/v1/metrics/M1/observations",
                    headers=ingest,
                    json={
                        "batch_key": "replica-http",
                        "source": "test",
                        "readings": [
                            {
                                "value": "50",
                                "observed_at": "2026-02-01T00:00:00Z",
                                "sample_size": 40,
                            }
                        ],
                    },
                )
                projector.refresh()
                mine = written.json()["position"]
                read = client.get("/v1/metrics/M1", params={"min_position": mine}, headers=ingest)
                text = client.get("/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=60)
        gov.close()
    assert written.status_code == 201
    assert read.status_code == 200 and read.json()["position"] >= mine
    samples = dict(line.rsplit(" ", 1) for line in iter_lines(text))
    assert float(samples['cxgov_read_queries_total{database="primary"}']) >= 1
    assert float(samples["cxgov_read_replica_lag_bytes"]) > 0
    assert samples["cxgov_read_replica_in_recovery"] == "1.0"


def test_the_quick_replica_drill_loses_no_acknowledged_write(folder: Path) -> None:
    report = replica_drill(folder, writers=3, before=12, after=6)
    assert report.violations == []
    assert report.lost_writes == 0
    assert report.operations >= 18
    assert "0 acknowledged writes lost" in report.line()
