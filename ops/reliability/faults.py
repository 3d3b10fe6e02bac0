"""Randomised history with faults: API processes SIGKILLed, our own PostgreSQL restarted."""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from domain.idempotency import IdempotencyKey
from domain.lifecycle import FUNDED
from governance.app import Governance
from governance.settings import parse_database_url
from governance.stores.database import (
    create_database,
    embedded_start,
    embedded_stop,
    migrate,
    wait_for_database,
)
from ops.bench.history import setup_world
from ops.bench.infra import ApiServer, env_for
from ops.reliability.common import Report, bearer, ledger_violations

PERIOD = "FY2027"
OWNER_SUB, CX_SUB, INGEST_SUB = "fault.owner", "fault.cx", "fault.ingest"
HEADERS = {OWNER_SUB: bearer(OWNER_SUB, ["pnl_owner"], ("RB",)),
           CX_SUB: bearer(CX_SUB, ["cx_exec"]), INGEST_SUB: bearer(INGEST_SUB, ["ingest"])}
DBNAME = "cxgov_faults"
GIVE_UP_S = 120  # a write without a definite answer by then counts as a lost write


@dataclass(frozen=True)
class Outcome:
    """One write and its definite answer (retried under its Idempotency-Key until definite)."""

    kind: str
    actor: str
    key: str
    acknowledged: bool
    result_id: str | None
    status: int


class Cluster:
    """An embedded PostgreSQL we own, the drill's database and API processes on it."""

    def __init__(self, data_dir: Path, servers: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cxgov-faults-"))
        self.data_dir = data_dir
        admin = embedded_start(self.folder)
        wait_for_database(admin, timeout_s=60)
        self.url = create_database(admin, DBNAME)
        migrate(self.url)
        self.servers = [ApiServer(self.url, data_dir, pool_size=1, overflow=6).start()
                        for _ in range(servers)]

    def bases(self) -> list[str]:
        """The API base URLs right now."""
        return [s.base for s in self.servers]

    def kill_api(self, rng: random.Random) -> None:
        """SIGKILL one API process and start a replacement on the same port."""
        n = rng.randrange(len(self.servers))
        old = self.servers[n]
        old.kill()
        fresh = ApiServer(self.url, self.data_dir, pool_size=1, overflow=6)
        fresh.port, fresh.base = old.port, old.base
        self.servers[n] = fresh.start()

    def restart_postgres(self) -> None:
        """Stop (fast) and start the embedded server; restart the APIs if its URL moved."""
        embedded_stop(self.folder)
        admin = embedded_start(self.folder)
        wait_for_database(admin, timeout_s=60)
        url = parse_database_url(admin).with_dbname(DBNAME).to_url()
        if url != self.url:
            self.url = url
            for k, server in enumerate(self.servers):
                server.kill()
                self.servers[k] = ApiServer(url, self.data_dir, pool_size=1, overflow=6).start()

    def close(self) -> None:
        """Stop everything we started and delete the server's folder."""
        for server in self.servers:
            server.stop()
        embedded_stop(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)


class Client:
    """A client thread issuing a random mix of commands and reads."""

    def __init__(self, n: int, cluster: Cluster, seed: int) -> None:
        self.n = n
        self.cluster = cluster
        self.rng = random.Random(seed * 100 + n)
        self.outcomes: list[Outcome] = []
        self.reads = 0
        self.known: list[str] = []
        self.count = 0

    def send(self, actor: str, path: str, body: dict[str, Any], kind: str) -> Outcome:
        """POST under a fresh key, retried until a definite (< 500) answer."""
        self.count += 1
        key = f"c{self.n}-{self.count}"
        deadline = time.monotonic() + GIVE_UP_S
        status, payload = 599, {}
        while time.monotonic() < deadline:
            bases = self.cluster.bases()
            base = bases[self.rng.randrange(len(bases))]
            try:
                response = httpx.post(base + path, json=body, timeout=30, headers={
                    **HEADERS[actor], "Idempotency-Key": key})
                status = response.status_code
                if status < 500:
                    payload = response.json()
                    break
            except (httpx.TransportError, ValueError):
                status = 599
            time.sleep(0.2)
        outcome = Outcome(kind, f"cxgov|{actor}", key, status < 300,
                          payload.get("id") if status < 300 else None, status)
        self.outcomes.append(outcome)
        return outcome

    def run(self, until: float) -> None:
        """Issue operations until the deadline."""
        while time.monotonic() < until:
            roll = self.rng.random()
            if roll < 0.35 or not self.known:
                code = f"F{self.n}x{self.count}"
                done = self.send(OWNER_SUB, "/v1/initiatives", submit_body(code, self.rng),
                                 "submit")
                if done.acknowledged and done.result_id:
                    self.known.append(done.result_id)
            elif roll < 0.7:
                target = self.rng.choice(self.known)
                outcome = self.rng.choice(("approve", "approve", "approve", "reject", "defer"))
                self.send(CX_SUB, f"/v1/initiatives/{target}/decisions",
                          {"outcome": outcome, "rationale": "drill"}, outcome)
            elif roll < 0.9:
                self.send(INGEST_SUB, "/v1/metrics/M2/observations", {
                    "batch_key": f"c{self.n}b{self.count}", "source": "drill", "readings": [
                        {"value": "70", "observed_at": datetime.now(UTC).isoformat(),
                         "sample_size": 100}]}, "observations")
            else:
                self.read()

    def read(self) -> None:
        """A read; its answer is not checked (the projector is not running here)."""
        self.reads += 1
        bases = self.cluster.bases()
        with contextlib.suppress(httpx.TransportError):
            httpx.get(bases[self.rng.randrange(len(bases))] + f"/v1/periods/{PERIOD}",
                      headers=HEADERS[CX_SUB], timeout=10)


def submit_body(code: str, rng: random.Random) -> dict[str, Any]:
    """A submission costing 1-6 M (the 30 M pool runs out during the drill)."""
    return {"period": PERIOD, "kind": "pnl", "pnl": "RB", "code": code, "title": f"Drill {code}",
            "problem": "Customers wait", "scenario": "S1", "touchpoints": ["Web"],
            "functional_areas": ["IT"], "cost": str(rng.randint(1, 6) * 1_000_000),
            "confidence": "0.8",
            "expected_impacts": [{"metric": "M1", "expected_value": str(rng.randint(20, 90)),
                                  "reach": "0.5"}]}


def check(url: str, outcomes: list[Outcome]) -> tuple[list[str], int]:
    """(violations, lost writes): invariants, acknowledged writes present, refused absent."""
    gov = Governance(env=env_for(url, pool_size=1, overflow=1))
    try:
        found = ledger_violations(gov, PERIOD)
        lost = 0
        for o in outcomes:
            present = IdempotencyKey.create_id(o.actor, o.key) in gov.repository
            if o.acknowledged and not present:
                lost += 1
                found.append(f"acknowledged {o.kind} {o.key} is missing")
            elif not o.acknowledged and o.status < 500 and present:
                found.append(f"refused {o.kind} {o.key} ({o.status}) was written")
            elif not o.acknowledged and o.status >= 500:
                lost += 1
                found.append(f"{o.kind} {o.key} never got a definite answer")
            if o.acknowledged and o.kind == "approve":
                funded = gov.initiative(UUID(o.result_id or ""))
                if funded.status not in FUNDED and funded.status != "pending_second_approval":
                    found.append(f"acknowledged approval {o.key} shows {funded.status}")
        return found, lost
    finally:
        gov.close()


def faults_drill(data_dir: Path, *, seconds: float, clients: int = 3, servers: int = 2,
                 step_s: float = 4.0, seed: int = 5) -> Report:
    """Clients run while faults are injected between checker steps."""
    report = Report("randomised history with faults")
    rng = random.Random(seed)
    cluster = Cluster(data_dir, servers)
    try:
        gov = Governance(env=env_for(cluster.url, pool_size=1, overflow=1))
        setup_world(gov, opex_m="300", four_eyes_m="100")
        gov.close()
        workers = [Client(n, cluster, seed) for n in range(clients)]
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=w.run, args=(until,)) for w in workers]
        for thread in threads:
            thread.start()
        steps, restarts, kills = 0, 0, 0
        while time.monotonic() < until or steps < 2:  # at least one fault of each kind
            time.sleep(step_s)
            if steps % 2 == 0:
                cluster.restart_postgres()
                restarts += 1
            else:
                cluster.kill_api(rng)
                kills += 1
            steps += 1
            snapshot = [o for w in workers for o in list(w.outcomes)]
            found, _ = check(cluster.url, snapshot)
            report.violations += [f"step {steps}: {f}" for f in found]
        for thread in threads:
            thread.join()
        outcomes = [o for w in workers for o in w.outcomes]
        found, lost = check(cluster.url, outcomes)
        report.violations += [f"final: {f}" for f in found]
        report.lost_writes = lost
        report.operations = len(outcomes) + sum(w.reads for w in workers)
        report.faults = kills + restarts
        acked = sum(o.acknowledged for o in outcomes)
        report.notes.append(
            f"{seconds:g} s, {clients} clients, {servers} API processes; {len(outcomes)} writes "
            f"({acked} acknowledged, {len(outcomes) - acked} refused) and "
            f"{sum(w.reads for w in workers)} reads; {kills} API SIGKILLs, {restarts} "
            f"PostgreSQL restarts; checked after each of {steps} steps")
    finally:
        cluster.close()
    return report
