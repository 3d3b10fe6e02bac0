"""ops/cluster: two API processes, the projector, stop; killing an API loses no write."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from governance.app import Governance
from governance.entrypoints.company import import_company
from tests.ops.cluster import INGEST, Cluster, Load, alive, batch, lost_writes, register_only

pytestmark = pytest.mark.pg


@pytest.fixture
def cluster(pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Harborview in the emptied test database, served by a started cluster."""
    gov = Governance(env=pg_env)
    import_company(gov, register_only())
    gov.close()
    found = Cluster.create(tmp_path, pg_url)
    started = found("start")
    assert started.returncode == 0, started.stderr + started.stdout
    try:
        yield found
    finally:
        found("stop")


def test_a_write_through_one_api_is_read_through_the_other_and_stop_leaves_nothing(
        cluster: Cluster) -> None:
    pids = cluster.pids()
    with httpx.Client(timeout=30) as client:
        written = client.post(f"{cluster.base(0)}/v1/metrics/M1/observations", headers=INGEST,
                              json=batch("via-api-1"))
        position = written.json()["position"]
        read = client.get(f"{cluster.base(1)}/v1/metrics/M1",
                          params={"min_position": position}, headers=INGEST)
        ready = [client.get(f"{cluster.base(n)}/readyz").status_code for n in (0, 1)]
    status = cluster("status")
    stopped = cluster("stop")
    assert written.status_code == 201
    assert read.status_code == 200
    assert read.json()["position"] >= position
    assert ready == [200, 200]
    assert sorted(pids) == ["api1", "api2", "projector"]
    assert status.returncode == 0 and status.stdout.count("running") == 3
    assert stopped.returncode == 0
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert cluster.pids() == {}


def test_killing_one_api_during_a_load_loses_no_acknowledged_write(
        cluster: Cluster, pg_env: dict[str, str]) -> None:
    victim = cluster.pids()["api1"]
    load = Load(cluster.base)
    killed_at: list[int] = []
    enough = threading.Event()

    def post(n: int, key: str, timeout: float = 15.0) -> None:
        Load.post(load, n, key, timeout)
        if len(load.acked) >= 20 and not enough.is_set():
            enough.set()
            os.kill(victim, signal.SIGKILL)
            killed_at.append(len(load.statuses))

    load.post = post  # type: ignore[method-assign]
    load.run([f"k{n:04d}" for n in range(100)])
    gov = Governance(env=pg_env)
    missing = lost_writes(gov, load.acked)
    gov.close()
    after = load.statuses[killed_at[0] + 6:]  # requests started once the victim was dead
    assert killed_at, "the load never reached 20 acknowledged writes"
    assert missing == []
    assert {s for target, s, _ in after if target == 1} == {201}
    assert {s for target, s, _ in after if target == 0} <= {None, 201}
    assert len(load.acked) >= 50
