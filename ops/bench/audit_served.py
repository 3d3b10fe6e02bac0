"""The Merkle log as an auditor sees it (issue 18 acceptance rows, on PostgreSQL):
`python -m ops.bench.audit --database [--events N]`.

A scratch database (ops/bench/infra.py) is filled with N chained events by `COPY` (the bench's
own history generator, ops.bench.audit.rows: real entry hashes, no seals; the per-row chain
trigger is skipped with `session_replication_role = replica` to fill 1M rows in seconds, the
chain is still a valid one), then an API process (`uvicorn api.app:serve`) is started on it and
measured from outside:

- served_first_request: the first `GET /v1/audit/checkpoint` after start, which reads the N
  entry hashes and builds the tree (wall time), and the process's resident memory before and
  after it (the tree's memory);
- served_inclusion / served_consistency: `GET /v1/audit/proofs/inclusion?position=P` at random
  positions and `/proofs/consistency?old=M` from random sizes, median and worst of `samples`
  (wall time of the HTTP round trip on 127.0.0.1, so an upper bound of the server's time);
- inproc_inclusion / inproc_consistency: the same calls to governance/stores/merkle_log.py in
  this process (its tree built once first), timed with the CPU clock of this process and the
  wall clock: the server's own work without HTTP, JSON and authentication;
- cli_prove: `cxgov audit prove --position P` once (a fresh process: it reads the whole chain).

The ceilings are the issue's (10 ms for an inclusion proof, 50 ms for a consistency proof).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from auditverify.merkle import verify_consistency, verify_inclusion
from auditverify.note import verify_note
from governance.identity import mint_token
from governance.stores import merkle_log
from ops.bench.audit import rows
from ops.bench.infra import JWT_SECRET, ROOT, ApiServer, scratch_database

INCLUSION_CEILING_MS, CONSISTENCY_CEILING_MS = 10.0, 50.0


def fill(url: str, n: int) -> float:
    """Write n chained events (and their chain entries) by COPY; the seconds it took."""
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.cursor().copy("COPY cxgov_events (originator_id, originator_version, topic, "
                                "state, notification_id) FROM STDIN") as copy:
            for row, _ in rows(n, seal=False):
                event = row.event
                assert event is not None
                copy.write_row((event.originator_id, event.originator_version, event.topic,
                                event.state, row.position))
        with conn.cursor().copy("COPY cxgov_chain (position, prev_position, prev_hash, "
                                "entry_hash, recorded_at) FROM STDIN") as copy:
            for row, _ in rows(n, seal=False):
                chain = row.chain
                assert chain is not None
                copy.write_row((row.position, chain.prev_position, chain.prev_hash,
                                chain.entry_hash,
                                datetime.fromtimestamp(chain.recorded_at_us / 1e6, UTC)))
        conn.execute("SELECT setval('cxgov_events_notification_id_seq', %s)", (n,))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE cxgov_chain")
    return time.perf_counter() - start


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _stats(name: str, n: int, times: list[float], ceiling_ms: float,
           **extra: Any) -> dict[str, Any]:
    median = statistics.median(times) * 1e3
    return {"row": name, "tree_size": n, "median_ms": round(median, 3),
            "worst_ms": round(max(times) * 1e3, 3), "samples": len(times),
            "ceiling_ms": ceiling_ms, "ratio": round(ceiling_ms / max(median, 1e-9), 1),
            **extra}


def served_rows(n: int, admin_url: str, samples: int = 200,
                cli: bool = True) -> list[dict[str, Any]]:
    """Fill a scratch database with n events, then measure the served proofs (module doc)."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    public = {"cxgov": key.public_key()}
    auth = {"Authorization": "Bearer " + mint_token(JWT_SECRET, sub="bench.auditor",
                                                    roles=["auditor"])}
    out: list[dict[str, Any]] = []
    rnd = random.Random(11)
    served: list[dict[str, Any]] = []
    with scratch_database(admin_url, "cxgov_bench_merkle") as url, \
            tempfile.TemporaryDirectory(prefix="cxgov-bench-merkle-") as data:
        fill_s = fill(url, n)
        out.append({"row": "served_fill", "events": n, "fill_s": round(fill_s, 1)})
        server = ApiServer(url, Path(data), extra_env={"CXGOV_AUDIT_SIGNING_KEY": seed}).start()
        try:
            assert server.process is not None
            rss_before = _rss_kb(server.process.pid)
            with httpx.Client(base_url=server.base, headers=auth, timeout=600) as client:
                start = time.perf_counter()
                first = client.get("/v1/audit/checkpoint")
                first_s = time.perf_counter() - start
                assert first.status_code == 200, first.text[:500]
                head, signed = verify_note(first.text, public)
                assert head.size == n and signed == {"cxgov"}
                rss_after = _rss_kb(server.process.pid)
                out.append({"row": "served_first_request", "tree_size": n,
                            "first_s": round(first_s, 2),
                            "rss_before_mb": round(rss_before / 1024, 1),
                            "rss_after_mb": round(rss_after / 1024, 1),
                            "tree_bytes_per_entry": round((rss_after - rss_before) * 1024 / n)})

                def inclusion() -> Callable[[], None]:
                    position = rnd.randint(1, n)

                    def call() -> None:
                        got = client.get("/v1/audit/proofs/inclusion",
                                         params={"position": position})
                        assert got.status_code == 200, got.text[:300]
                        calls.append(got.json())
                    return call

                def consistency() -> Callable[[], None]:
                    old = rnd.randint(1, n - 1)

                    def call() -> None:
                        got = client.get("/v1/audit/proofs/consistency", params={"old": old})
                        assert got.status_code == 200, got.text[:300]
                        calls.append(got.json())
                    return call

                for name, make, ceiling in (("served_inclusion", inclusion,
                                             INCLUSION_CEILING_MS),
                                            ("served_consistency", consistency,
                                             CONSISTENCY_CEILING_MS)):
                    times: list[float] = []
                    calls: list[dict[str, Any]] = []
                    for _ in range(samples):
                        call = make()
                        start = time.perf_counter()
                        call()
                        times.append(time.perf_counter() - start)
                    _check(calls, head.root, n)
                    served.extend(calls)
                    out.append(_stats(name, n, times, ceiling, clock="wall, HTTP round trip"))
        finally:
            server.stop()
        rows_in_process, view = _in_process(url, key, n, samples, rnd)
        for answer in served:  # each consistency proof served, against the tree's old root
            if answer["kind"] == "consistency":
                import base64

                assert verify_consistency(answer["old_size"], n, view.root(answer["old_size"]),
                                          head.root,
                                          [base64.b64decode(p) for p in answer["proof"]])
        out.extend(rows_in_process)
        if cli:
            out.append(_cli_prove(url, seed, data, rnd.randint(1, n)))
    return out


def _check(answers: list[dict[str, Any]], root: bytes, n: int) -> None:
    """Every inclusion proof served checks against the first checkpoint's root (same size n);
    the consistency proofs are checked once this process has the tree (their old roots)."""
    import base64

    for answer in answers:
        proof = [base64.b64decode(p) for p in answer["proof"]]
        if answer["kind"] == "inclusion":
            assert verify_inclusion(bytes.fromhex(answer["entry_hash"]), answer["index"], n,
                                    proof, root)
        else:
            assert answer["kind"] == "consistency"


def _in_process(url: str, key: Ed25519PrivateKey, n: int, samples: int,
                rnd: random.Random) -> tuple[list[dict[str, Any]], merkle_log.LogView]:
    merkle_log.forget(url)
    start, cpu = time.perf_counter(), time.process_time()
    view = merkle_log.current(url)
    build = (time.perf_counter() - start, time.process_time() - cpu)
    out: list[dict[str, Any]] = [{"row": "inproc_first_build", "tree_size": view.size,
                                  "wall_s": round(build[0], 2), "cpu_s": round(build[1], 2)}]
    root = view.root(n)
    for name, ceiling in (("inproc_inclusion", INCLUSION_CEILING_MS),
                          ("inproc_consistency", CONSISTENCY_CEILING_MS)):
        wall: list[float] = []
        cpus: list[float] = []
        for _ in range(samples):
            start, cpu = time.perf_counter(), time.process_time()
            if name == "inproc_inclusion":
                merkle_log.inclusion(url, key, rnd.randint(1, n))
            else:
                old = rnd.randint(1, n - 1)
                answer = merkle_log.consistency(url, key, old)
            wall.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
            if name == "inproc_consistency":
                import base64

                assert verify_consistency(old, n, view.root(old), root,
                                          [base64.b64decode(p) for p in answer["proof"]])
        out.append(_stats(name, n, wall, ceiling, clock="wall",
                          cpu_median_ms=round(statistics.median(cpus) * 1e3, 3),
                          cpu_worst_ms=round(max(cpus) * 1e3, 3)))
    merkle_log.forget(url)
    return out, view


def _cli_prove(url: str, seed: str, data: str, position: int) -> dict[str, Any]:
    env = {**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_STORE": "postgres",
           "CXGOV_DATA_DIR": data, "CXGOV_AUDIT_SIGNING_KEY": seed}
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "cxgov"), "audit", "prove",
                           "--position", str(position)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    return {"row": "cli_prove", "position": position, "wall_s": round(took, 2)}
