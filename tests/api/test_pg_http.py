"""Over HTTP on PostgreSQL: two uvicorn server processes racing for the last funds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from governance.app import Governance
from tests.api.conftest import SECRET, auth
from tests.builders import M, World

pytestmark = pytest.mark.pg

#: The acceptance criterion: 200 racers over 200 undecided initiatives (CXGOV_API_RACERS
#: overrides it for quicker local runs).
RACERS = int(os.environ.get("CXGOV_API_RACERS", "200"))
ROOM = 7  # the pool funds exactly K = 7 of the identical initiatives
SERVERS = 2
CX = auth("cx.racer", "cx_exec")
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`uvicorn api.app:serve --factory` in a subprocess, on the test database."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_STORE": "postgres",
               "CXGOV_DATA_DIR": str(data_dir), "CXGOV_JWT_SECRET": SECRET,
               "CXGOV_DB_POOL_SIZE": "5", "CXGOV_DB_MAX_OVERFLOW": "30"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:serve", "--factory", "--host",
             "127.0.0.1", "--port", str(self.port), "--log-level", "info"],
            env=env, stderr=subprocess.PIPE, text=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_started(self) -> None:
        """Block until uvicorn reports startup (reading its log, no polling)."""
        assert self.process.stderr is not None
        seen: list[str] = []
        timer = threading.Timer(STARTUP_TIMEOUT_S, self.process.kill)
        timer.start()
        try:
            for line in self.process.stderr:
                seen.append(line)
                if "Application startup complete" in line:
                    threading.Thread(target=self._drain, daemon=True).start()
                    return
        finally:
            timer.cancel()
        raise AssertionError("server did not start:\n" + "".join(seen[-30:]))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def stop(self) -> None:
        """Terminate this server process."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers(pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Two API server processes on the (emptied) test database."""
    started = [Server(pg_url, tmp_path) for _ in range(SERVERS)]
    try:
        for server in started:
            server.wait_started()
        yield started
    finally:
        for server in started:
            server.stop()


def test_racing_approvals_over_http_commit_exactly_the_k_that_fit(
        pg_env: dict[str, str], servers: list[Server]) -> None:
    gov = Governance(env=pg_env)
    world = World(gov, opex_m=str(ROOM * 10), four_eyes_m="100")
    ids = [str(world.submit(f"R{n:03d}", cost_m="1")) for n in range(RACERS)]
    barrier = threading.Barrier(RACERS)

    def approve(n: int) -> httpx.Response:
        server = servers[n % SERVERS]
        with httpx.Client(base_url=server.base, timeout=120) as client:
            barrier.wait()
            return client.post(f"/v1/initiatives/{ids[n]}/decisions", headers=CX, json={
                "outcome": "approve", "rationale": "race: funding whatever fits"})

    with ThreadPoolExecutor(RACERS) as pool:
        responses = list(pool.map(approve, range(RACERS)))

    statuses = [r.status_code for r in responses]
    refused = [r for r in responses if r.status_code != 201]
    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(201) == ROOM
    assert {r.headers["content-type"] for r in refused} == {"application/problem+json"}
    assert {(r.status_code, r.json()["code"]) for r in refused} == {
        (409, "pool.insufficient_funds")}
    pool_state = gov.pool("FY2027")
    assert pool_state.net_committed == ROOM * M == pool_state.amount
    gov.close()


def test_the_walk_through_runs_over_http_on_postgresql(
        pg_env: dict[str, str], servers: list[Server]) -> None:
    from governance.entrypoints.cli import bundled_company
    from governance.entrypoints.company import import_company
    from governance.stores.projectors import run_projectors
    from tests.api.test_walkthrough import walk_through

    gov = Governance(env=pg_env)
    import_company(gov, bundled_company())
    stop = threading.Event()
    projector = threading.Thread(target=run_projectors, args=(pg_env,),
                                 kwargs={"stop": stop}, daemon=True)
    projector.start()
    try:
        with httpx.Client(base_url=servers[0].base, timeout=30) as client:
            seen = walk_through(client)
    finally:
        stop.set()
        projector.join(timeout=30)
        gov.close()
    assert seen["approved"]["decision"]["departure"] is True
    assert seen["read"]["rationale"] == "Regulator deadline: fund despite the low score"
    assert seen["pool"]["committed"].startswith("3000000")
