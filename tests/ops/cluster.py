"""Driving `ops/cluster` from tests: start, stop, pids, a load of observation batches."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from domain.metric import ObservationBatch
from governance.app import Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import CompanyFile
from tests.api.conftest import SECRET, auth
from tests.api.test_pg_http import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "ops" / "cluster"
INGEST = auth("ingest.bot", "ingest")


@dataclass
class Cluster:
    """A cluster started by ops/cluster with its own run folder and ports."""

    env: dict[str, str]
    ports: list[int]
    run: Path

    @classmethod
    def create(cls, tmp: Path, database_url: str | None = None) -> Cluster:
        """Environment for a cluster in tmp (external database when a URL is given)."""
        ports = [free_port(), free_port()]
        env = {**os.environ, "CXGOV_DATA_DIR": str(tmp / "data"), "CXGOV_RUN_DIR": str(tmp / "run"),
               "CXGOV_JWT_SECRET": SECRET, "CXGOV_DB_POOL_SIZE": "1",
               "CXGOV_DB_MAX_OVERFLOW": "4", "CXGOV_DB_CONNECT_TIMEOUT": "2",
               "CXGOV_CLUSTER_PORTS": ",".join(map(str, ports))}
        env.pop("CXGOV_DATABASE_URL", None)
        if database_url:
            env["CXGOV_DATABASE_URL"] = database_url
        return cls(env, ports, tmp / "run")

    def __call__(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run `ops/cluster <command>`."""
        return subprocess.run([str(SCRIPT), command], env=self.env, capture_output=True,
                              text=True, timeout=120, check=False)

    def pids(self) -> dict[str, int]:
        """Recorded pids by process name."""
        return {p.stem: int(p.read_text()) for p in self.run.glob("*.pid")}

    def base(self, n: int) -> str:
        """Base URL of API process n (0 or 1)."""
        return f"http://127.0.0.1:{self.ports[n]}"


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def batch(key: str) -> dict[str, object]:
    """One observation batch with a unique key."""
    return {"batch_key": key, "source": "load", "readings": [
        {"value": "50", "observed_at": "2026-02-01T00:00:00Z", "sample_size": 40}]}


@dataclass
class Load:
    """Observation batches posted by a thread pool; acknowledged ones are remembered."""

    bases: Callable[[int], str]
    acked: dict[str, int] = field(default_factory=dict)
    statuses: list[tuple[int, int | None, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, n: int, key: str, timeout: float = 15.0) -> None:
        """Post one batch to the server chosen for n; record what came back."""
        target = n % 2
        try:
            with httpx.Client(base_url=self.bases(target), timeout=timeout) as client:
                response = client.post("/v1/metrics/M1/observations", headers=INGEST,
                                       json=batch(key))
        except httpx.HTTPError:
            with self.lock:
                self.statuses.append((target, None, None))
            return
        code = response.json().get("code") if response.status_code >= 400 else None
        with self.lock:
            self.statuses.append((target, response.status_code, code))
            if response.status_code == 201:
                self.acked[key] = response.json()["position"]

    def run(self, keys: list[str], workers: int = 6) -> None:
        """Post every key (round robin over the two servers)."""
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(self.post, range(len(keys)), keys))


def lost_writes(gov: Governance, acked: dict[str, int]) -> list[str]:
    """Acknowledged batch keys that the event store does not hold."""
    missing = []
    for key in acked:
        try:
            gov.repository.get(ObservationBatch.create_id("M1", key))
        except Exception:
            missing.append(key)
    return missing


def register_only() -> CompanyFile:
    """Harborview's period, register and policy without initiatives (quick to load)."""
    return bundled_company().model_copy(update={"initiatives": [], "observations": []})
