"""Benchmarks, each against its ceiling on the same PostgreSQL: `python -m ops.bench [--quick]`.

Runs on CXGOV_DATABASE_URL's server (scratch databases, dropped at the end), else on an
embedded server in a temporary folder. Every row prints absolute figures, the ceiling measured
in the same run and the ratio; see docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.optimize import frontier, optimal
from governance.app import Governance
from governance.entrypoints.company import load_company_file
from governance.entrypoints.csv_import import write_csv_company
from governance.identity import mint_token
from governance.stores.readside import rebuild, served_read_models
from ops.bench import commands, decisions, guardrails, optimizer, pages
from ops.bench.ceiling import Bare, decode_rate, save_rate, single_save
from ops.bench.history import Generator, setup_world
from ops.bench.infra import (
    JWT_SECRET,
    ROOT,
    ApiServer,
    env_for,
    machine_facts,
    scratch_database,
    scratch_server,
)
from ops.bench.load import (
    Answer,
    Client,
    Throughput,
    closed_loop,
    combined,
    open_loop,
    percentile,
)
from projections.projection import state_at as replay_state_at

QUICK = {"events": 5_000, "commands": 16, "latency_s": 0.3, "observations": 100,
         "initiatives": optimizer.QUICK_N, "tail": 200,
         "guardrails": list(guardrails.QUICK_N), "guardrails_limit_s": guardrails.QUICK_LIMIT_S}
FULL = {"events": 1_000_000, "commands": 200, "latency_s": 5.0, "observations": 20_000,
        "initiatives": 10_000, "tail": 1_000,
        "guardrails": list(guardrails.FULL_N), "guardrails_limit_s": guardrails.FULL_LIMIT_S}
THREADS = 4
ASOF_POSITIONS = 20
GROUPS = ("recommendation", "guardrails", "pages", "http", "decisions", "bulk", "history")
DATABASE_GROUPS = {"http", "decisions", "bulk", "history"}
ROUND = 20  # undecided initiatives at a time in the commands/s row
SERVERS = 2


def row(name: str, figure: str, *, ceiling: str = "--", ratio: float | None = None,
        target: str) -> None:
    """Print one result row (the quick test parses these)."""
    shown = "--" if ratio is None else f"{ratio:.3f}"
    print(f"row | {name} | {figure} | ceiling {ceiling} | ratio {shown} | target {target}",
          flush=True)


def around(before: float, after: float) -> str:
    """How the ceiling moved while the row ran (it is measured before and after, averaged)."""
    return f" (mean of {before:.0f} before and {after:.0f} after)"


def headers(sub: str, roles: list[str], pnls: Sequence[str] = ()) -> dict[str, str]:
    """Bearer token headers for a persona of the benchmark."""
    token = mint_token(JWT_SECRET, sub=sub, roles=roles, pnls=pnls)
    return {"Authorization": f"Bearer {token}"}


OWNER = headers("bench.owner", ["pnl_owner"], ["RB"])
CX = headers("bench.approver", ["cx_exec"])
INGEST = headers("bench.ingest", ["ingest"])


def submit_body(code: str) -> dict[str, Any]:
    """A valid initiative submission."""
    return {"period": "FY2027", "kind": "pnl", "pnl": "RB", "code": code, "title": f"Bench {code}",
            "problem": "Customers wait", "scenario": "S1", "touchpoints": ["Web"],
            "functional_areas": ["IT"], "cost": "1000000", "confidence": "0.8",
            "expected_impacts": [{"metric": "M1", "expected_value": "40", "reach": "0.5"}]}


def submit_call(code: str) -> Callable[[Client], Answer]:
    """POST /v1/initiatives with an Idempotency-Key."""
    return lambda c: c.post("/v1/initiatives", json=submit_body(code),
                            headers={**OWNER, "Idempotency-Key": f"k-{code}"})


def http_rows(sizes: dict[str, Any], bases: list[str], gov: Governance, lib: Bare) -> None:
    """Commands/s and latency over HTTP against single-event save() on the same server."""
    n = int(sizes["commands"])
    before = save_rate(lib, saves=max(n, 200), threads=THREADS)

    def approve(i: str) -> Callable[[Client], Answer]:
        return lambda c: c.post(f"/v1/initiatives/{i}/decisions", headers={
            **CX, "Idempotency-Key": f"a-{i}"}, json={"outcome": "approve", "rationale": "bench"})

    # Rounds of ROUND submissions then their approvals: an approval's cost grows with the
    # number of undecided initiatives (the recommendation), so keep that number realistic.
    submit_runs: list[Throughput] = []
    approve_runs: list[Throughput] = []
    for first in range(0, n, ROUND):
        codes = [f"H{k:05d}" for k in range(first, min(n, first + ROUND))]
        submit_runs.append(closed_loop(bases, [submit_call(c) for c in codes], threads=THREADS))
        ids = [str(gov.initiative_id("FY2027", c)) for c in codes]
        approve_runs.append(closed_loop(bases, [approve(i) for i in ids], threads=THREADS))
    submits, approvals = combined(submit_runs), combined(approve_runs)
    after = save_rate(lib, saves=max(n, 200), threads=THREADS)
    ceiling = (before + after) / 2
    for name, result in (("submit", submits), ("approve", approvals)):
        row(f"HTTP {name} commands/s ({THREADS} clients, {SERVERS} servers, {n} commands "
            f"in rounds of {ROUND}, "
            f"{result.failures} failed {sorted(set(result.refused))})", f"{result.rate:.1f}/s",
            ceiling=f"{ceiling:.1f} single-event saves/s{around(before, after)}",
            ratio=result.rate / ceiling,
            target=">= 0.8")
    inproc_submit, inproc_approve = commands.rates(gov, period="INPROC", commands=n,
                                                   threads=THREADS, round_size=ROUND)
    for name, rate in (("submit", inproc_submit), ("approve", inproc_approve)):
        row(f"diagnostic: in-process {name} commands/s ({THREADS} threads, {n} commands, "
            "no HTTP)", f"{rate:.1f}/s", ceiling=f"{ceiling:.1f} single-event saves/s",
            ratio=rate / ceiling, target="--")
    count = int(100 * float(sizes["latency_s"]))
    clients = [Client(bases[k % len(bases)], timeout=60) for k in range(32)]
    try:
        def post(k: int) -> object:
            return submit_call(f"L{k:05d}")(clients[k % len(clients)])

        http = open_loop(post, rate=100, count=count)
    finally:
        for client in clients:
            client.close()
    save = single_save(lib)
    bare = open_loop(lambda _: save(), rate=100, count=count)
    p50, p99 = percentile(http, 50), percentile(http, 99)
    b50, b99 = percentile(bare, 50), percentile(bare, 99)
    row(f"submit latency at 100 req/s ({count} requests)",
        f"p50 {p50 * 1000:.1f} ms p99 {p99 * 1000:.1f} ms",
        ceiling=f"save() p50 {b50 * 1000:.1f} ms p99 {b99 * 1000:.1f} ms", ratio=p99 / b99,
        target="p99 < 50 ms")


def company_file(path: Path, batches: int) -> None:
    """A company file with the benchmark world and `batches` one-reading observation batches
    (the metric carries its policy weight too, so the file converts to CSV)."""
    day = datetime(2024, 1, 1, tzinfo=UTC)
    metric = {"customer_phrasing": "One contact fixes it", "operational_metric": "FCR",
              "unit": "%", "direction": "increase", "baseline": "68", "target": "85",
              "weight": 100}
    path.write_text(json.dumps({
        "company": "Bench", "currency": "USD", "period": {"code": "FY2027", "opex_total": "1e9"},
        "pnls": [{"code": "RB", "name": "Retail", "owners": ["rb.owner"]}],
        "metrics": [{"code": "M1", **metric}], "policy": {"weights": {"M1": 100}},
        "observations": [{"metric": "M1", "batch_key": f"b{k}", "readings": [
            {"value": str(60 + k % 40), "observed_at": (day + timedelta(hours=k)).isoformat(),
             "sample_size": 250}]} for k in range(batches)]}))


def bulk_rows(sizes: dict[str, Any], bases: list[str], lib: Bare, admin: str) -> None:
    """Observation batches via `POST /v1/observations` (100 per request) and `cxgov import`
    (100 per save) against the library's batched saves (100 aggregates per save)."""
    n = int(sizes["observations"])
    per_request = 100

    def measure() -> float:
        return save_rate(lib, saves=max(n // 100, 10), per_save=100)

    before = measure()
    day = datetime(2024, 1, 1, tzinfo=UTC).isoformat()

    def post(first: int) -> Callable[[Client], Answer]:
        body = {"batches": [
            {"metric": "M2", "batch_key": f"api{k}", "source": "bench",
             "readings": [{"value": "70", "observed_at": day, "sample_size": 250}]}
            for k in range(first, min(n, first + per_request))]}
        return lambda c: c.post("/v1/observations", json=body,
                                headers={**INGEST, "Idempotency-Key": f"obs-{first}"})

    api = closed_loop(bases, [post(k) for k in range(0, n, per_request)], threads=THREADS)
    middle = measure()
    ceiling = (before + middle) / 2
    events = (api.count - api.failures) * per_request
    rate = events / api.seconds
    row(f"bulk observations via API ({n} batches, {per_request} per request, {THREADS} "
        f"clients, {SERVERS} servers, {api.failures} requests failed)",
        f"{rate:.1f} events/s",
        ceiling=f"{ceiling:.1f} events/s batched (100/save){around(before, middle)}",
        ratio=rate / ceiling, target=">= 0.5")
    with scratch_database(admin, "cxgov_bench_import") as url, \
            tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "company.json"
        company_file(path, n)
        csv_folder = Path(folder) / "company-csv"
        write_csv_company(load_company_file(path), csv_folder)
        env = {**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_DATA_DIR": folder,
               "CXGOV_DB_POOL_SIZE": "1"}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "governance.entrypoints.cli", "import",
                               str(csv_folder)], env=env, cwd=ROOT, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        wall = time.perf_counter() - start
    # The CLI's own summary: "... log positions a..b, N events in S s" (the import's work).
    found = re.search(r"(\d+) events in ([0-9.]+) s", done.stdout)
    if found is None:
        raise RuntimeError(f"unexpected `cxgov import` output: {done.stdout!r}")
    written, seconds = int(found[1]), float(found[2])
    own = written / seconds
    after = measure()
    ceiling = (middle + after) / 2
    row(f"bulk observations via `cxgov import` ({n} batches, 100 per save, CSV folder; "
        f"ratio on the import's own time {seconds:.2f} s as the CLI prints it; with process "
        f"start {wall:.2f} s = {written / wall:.1f} events/s)",
        f"{own:.1f} events/s", ceiling=f"{ceiling:.1f} events/s batched (100/save)"
        f"{around(middle, after)}", ratio=own / ceiling, target=">= 0.5")


def history_rows(sizes: dict[str, Any], gov: Governance, env: dict[str, str], url: str,
                 data_dir: Path) -> None:
    """Rebuild, as-of and projector memory on the generated history."""
    events = int(sizes["events"])
    start = time.perf_counter()
    generator = Generator(gov, seed=7)
    generator.write(events - gov.position())
    took = time.perf_counter() - start
    print(f"history: {gov.position()} events in {took:.1f} s ({gov.position() / took:.0f}/s), "
          f"seed 7, {json.dumps(generator.counts, sort_keys=True)}", flush=True)
    count, decode = decode_rate(gov)
    start = time.perf_counter()
    rebuild(gov, env)
    rate = count / (time.perf_counter() - start)
    row(f"full rebuild of both projections ({count} events)", f"{rate:.0f} events/s",
        ceiling=f"{decode:.0f} events/s raw decode", ratio=rate / decode, target=">= 0.5")
    models = served_read_models(gov, env)
    # as a served process stands: its fold cache holds the live state at the log's end, so an
    # as-of read is of the past (projections/fold_cache.py), never folded forward from it
    models.ranking("FY2027")
    rng = random.Random(3)
    asof: list[float] = []
    replays: list[float] = []
    for _ in range(ASOF_POSITIONS):
        position = rng.randint(1, count)
        start = time.perf_counter()
        models.ranking("FY2027", as_of=position)
        asof.append(time.perf_counter() - start)
        start = time.perf_counter()
        # the ceiling: the period replayed from the nearest fold snapshot, past any cache
        # (ReadModels.state_at would hand back the state the ranking just kept)
        replay_state_at(models.log, models.portfolio, position, {"FY2027"})
        replays.append(time.perf_counter() - start)
    worst, replay = max(asof), max(replays)
    row(f"as-of ranking at {ASOF_POSITIONS} random positions (worst; median "
        f"{statistics.median(asof) * 1000:.0f} ms)", f"{worst * 1000:.0f} ms",
        ceiling=f"{replay * 1000:.0f} ms replay of that period from the nearest fold snapshot",
        ratio=worst / replay, target="< 500 ms")
    projector_row(gov, url, data_dir, models, generator, tail=int(sizes["tail"]))


def projector_row(gov: Governance, url: str, data_dir: Path, models: Any,
                  generator: Generator, *, tail: int) -> None:
    """Peak resident memory of `cxgov project` restoring the whole history and following it."""
    env = {**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_DATA_DIR": str(data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "governance.entrypoints.cli", "project"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        start = time.perf_counter()
        generator.write(tail)
        models.wait(gov.position(), timeout=600)
        caught_up = time.perf_counter() - start
        status = Path(f"/proc/{process.pid}/status").read_text()
        peak = next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmHWM:"))
    finally:
        process.kill()
        process.wait()
    row(f"projector peak RSS at {gov.position()} events (started, restored and caught up "
        f"{tail} new events in {caught_up:.1f} s)", f"{peak / 1024:.0f} MB", target="< 300 MB")


def recommendation_row(sizes: dict[str, Any]) -> None:
    """Exact optimum plus the 20-point frontier (ops/bench/optimizer.py's instance)."""
    n = int(sizes["initiatives"])
    items, budget = optimizer.instance(n, 1)
    start = time.perf_counter()
    optimal(items, budget)
    frontier(items, points=20)
    seconds = time.perf_counter() - start
    row(f"recommendation (exact + 20-point frontier) for {n} initiatives",
        f"{seconds * 1000:.0f} ms", target="< 1 s")


def guardrails_rows(sizes: dict[str, Any]) -> None:
    """The exact optimum under three guardrails, not binding and binding, against HiGHS on the
    same instance in the same run (ops/bench/guardrails.py; each solve stopped at the limit)."""
    limit = float(sizes["guardrails_limit_s"])
    for r in guardrails.rows([int(n) for n in sizes["guardrails"]], limit_s=limit):
        agree = ("equal optimum" if r.equal else
                 "optimum not compared" if None in (r.ours_value, r.highs_value) else
                 "DIFFERENT optimum")
        row(f"exact optimum, three guardrails {r.shape}, {r.n} initiatives ({agree})",
            guardrails.seconds(r.ours_s, limit),
            ceiling=f"HiGHS {guardrails.seconds(r.highs_s, limit)}", ratio=r.ratio,
            target="faster than HiGHS; < 2 s at 10,000")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every row; exit 0 when all rows printed (targets are reported, not enforced)."""
    parser = argparse.ArgumentParser(prog="ops/bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--events", type=int, help="history length (default 1,000,000)")
    parser.add_argument("--only", action="append", choices=GROUPS,
                        help="run only these groups of rows (repeatable)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up scratch state
    sizes: dict[str, Any] = dict(QUICK if args.quick else FULL)
    if args.events:
        sizes["events"] = args.events
    print(f"sizes: {json.dumps(sizes)}", flush=True)
    groups = set(args.only or GROUPS)
    if "recommendation" in groups:
        recommendation_row(sizes)
    if "guardrails" in groups:
        guardrails_rows(sizes)
    if "pages" in groups:  # in-process on the in-memory store (ops/bench/pages.py)
        pages.run(quick=args.quick)
    if not groups & DATABASE_GROUPS:
        return 0
    with ExitStack() as stack:
        admin = stack.enter_context(scratch_server())
        print(machine_facts(admin), flush=True)
        app_url = stack.enter_context(scratch_database(admin, "cxgov_bench"))
        lib_url = stack.enter_context(scratch_database(admin, "cxgov_bench_lib"))
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = env_for(app_url, pool_size=2, overflow=8)
        gov = Governance(env=env)
        stack.callback(gov.close)
        lib = Bare(env=env_for(lib_url, pool_size=THREADS, overflow=4))
        stack.callback(lib.close)
        setup_world(gov, four_eyes_m="1000")
        needs_api = bool(groups & {"http", "bulk"})
        servers = [ApiServer(app_url, data_dir) for _ in range(SERVERS if needs_api else 0)]
        for server in servers:
            stack.callback(server.stop)
            server.start()
        bases = [s.base for s in servers]
        if "http" in groups:
            http_rows(sizes, bases, gov, lib)
        if "decisions" in groups:  # approvals at 50 and 5,000 initiatives (issue 19)
            decisions.run(gov, quick=args.quick)
        if "bulk" in groups:
            bulk_rows(sizes, bases, lib, admin)
        for server in servers:
            server.stop()
        if "history" in groups:
            history_rows(sizes, gov, env, app_url, data_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
