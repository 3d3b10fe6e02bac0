"""The latency row with a per-request timeline: what the slow submissions have in common.

    python -m ops.bench.timeline [--before 200] [--count 500] [--rate 100] [--json out.json]

Like `ops/bench/run --only http`: a scratch database, the bench's world, two API processes,
`--before` submissions and their approvals in rounds of 20 (the state the latency row meets),
then `--count` submissions started on a fixed schedule of `--rate` per second from 32 client
threads. The API processes run with `CXGOV_TIMELINE` (api/timeline.py), each request carries
an `X-Request-ID`, and the client notes its own slot, send and answer on the same monotonic
clock, so each request splits into phases:

- `client`: from its slot to the send (no free client thread: the load generator's queue);
- `accept`: from the send to the server's ASGI app seeing it (socket, event loop, parsing);
- `to thread`: to the command starting in a worker thread (middleware, validation,
  dependencies, the threadpool);
- `turn`: waiting for the pool's turn (the process's lock, then the advisory lock);
- `command`: the rest of the command (reads, build, save);
- `save`: the write transaction, commit included (part of `command`);
- `respond`: from the command's end to the response's last byte handed to the server;
- `answer`: from there until the client has read it.

It prints the latency percentiles, the mean of each phase for all requests and for the
slowest 2%, and the collections (`gc`) that overlapped slow requests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from governance.app import Governance
from ops.bench.__main__ import CX, OWNER, ROUND, SERVERS, THREADS, submit_body, submit_call
from ops.bench.history import setup_world
from ops.bench.infra import ApiServer, env_for, scratch_database, scratch_server
from ops.bench.load import Answer, Client, closed_loop

PHASES = ("client", "accept", "to thread", "turn", "command", "save", "respond", "answer")
CLIENTS = 32


def timed_open_loop(bases: list[str], *, rate: float, count: int, prefix: str = "L"
                    ) -> list[dict[str, Any]]:
    """Submissions on a fixed schedule; per request: id, slot, sent, done, status."""
    clients = [Client(bases[k % len(bases)], timeout=60) for k in range(CLIENTS)]
    lock = threading.Lock()
    free = list(range(CLIENTS))
    rows: list[dict[str, Any]] = []
    start = time.monotonic() + 0.05

    def run(n: int) -> None:
        slot = start + n / rate
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with lock:
            k = free.pop()
        code = f"{prefix}{n:05d}"
        try:
            sent = time.monotonic()
            answer = clients[k].post("/v1/initiatives", json=submit_body(code), headers={
                **OWNER, "Idempotency-Key": f"k-{code}", "X-Request-ID": f"tl-{code}"})
            done = time.monotonic()
        finally:
            with lock:
                free.append(k)
        with lock:
            rows.append({"id": f"tl-{code}", "slot": slot, "sent": sent, "done": done,
                         "status": answer.status_code, "server": k % len(bases)})

    pool = ThreadPoolExecutor(CLIENTS)
    try:
        list(pool.map(run, range(count)))
    finally:
        pool.shutdown(cancel_futures=True)
        for client in clients:
            client.close()
    return rows


def read_server(folder: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The server lines by request id, and every collection, from every process's file."""
    requests: dict[str, dict[str, Any]] = {}
    collections: list[dict[str, Any]] = []
    for path in folder.glob("timeline-*.jsonl"):
        pid = int(path.stem.split("-")[1])
        for line in path.read_text().splitlines():
            item = json.loads(line)
            item["pid"] = pid
            if "gc" in item:
                collections.append(item)
            elif item.get("id"):
                requests[item["id"]] = item
    return requests, collections


def phases(client: dict[str, Any], server: dict[str, Any]) -> dict[str, float]:
    """Milliseconds in each phase of one request (0 for a mark the request lacks)."""
    marks: dict[str, float] = {}
    for name, t in server["marks"]:
        marks.setdefault(name, t)  # the first of each (a retried attempt marks again)
    last = {name: t for name, t in server["marks"]}
    recv, sent = marks["recv"], last.get("sent", client["done"])
    handler = marks.get("handler", recv)
    handled = last.get("handled", handler)
    turn = (marks["turn.got"] - marks["turn.wait"]) if "turn.got" in marks else 0.0
    save = (last["saved"] - marks["save"]) if "saved" in last and "save" in marks else 0.0
    spans = {"client": client["sent"] - client["slot"], "accept": recv - client["sent"],
             "to thread": handler - recv, "turn": turn,
             "command": handled - handler - turn, "save": save, "respond": sent - handled,
             "answer": client["done"] - sent}
    return {k: v * 1000 for k, v in spans.items()}


def overlapping(start: float, stop: float, collections: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Collections of any API process that overlap [start, stop] (a process that collects
    while it holds the pool's turn stalls the other process's writers too)."""
    return [c for c in collections if c["stop"] > start and c["start"] < stop]


def holds(server: dict[str, Any]) -> tuple[float, float] | None:
    """When a request held the pool's turn (from taking the advisory lock to giving it back)."""
    found = {name: t for name, t in server["marks"]}
    if "turn.got" not in found or "turn.done" not in found:
        return None
    return found["turn.got"], found["turn.done"]


def report(rows: list[dict[str, Any]], server: dict[str, dict[str, Any]],
           collections: list[dict[str, Any]], out: Callable[[str], None] = print
           ) -> dict[str, Any]:
    """Print the summary; return it as data."""
    joined = [(r, server[r["id"]]) for r in rows if r["id"] in server]
    latency = sorted((r["done"] - r["slot"]) * 1000 for r in rows)
    p = statistics.quantiles(latency, n=100, method="inclusive")
    out(f"{len(rows)} requests ({len(joined)} with a server timeline), latency from the slot: "
        f"p50 {p[49]:.1f} ms, p90 {p[89]:.1f}, p99 {p[98]:.1f}, max {latency[-1]:.1f}; "
        f"{sum(1 for v in latency if v > 50)} over 50 ms")
    measured = [(r, s, phases(r, s)) for r, s in joined]
    measured.sort(key=lambda m: m[0]["done"] - m[0]["slot"])
    slow = measured[-max(1, len(measured) // 50):]

    def means(group: list[tuple[dict[str, Any], dict[str, Any], dict[str, float]]]
              ) -> dict[str, float]:
        return {k: statistics.fmean(m[2][k] for m in group) for k in PHASES}

    every, worst = means(measured), means(slow)
    out("mean ms per phase:  " + "  ".join(f"{k:>9}" for k in PHASES))
    out("  all requests      " + "  ".join(f"{every[k]:9.2f}" for k in PHASES))
    out(f"  slowest {len(slow):3d}       " + "  ".join(f"{worst[k]:9.2f}" for k in PHASES))
    spans = [(h, r["id"], s) for r, s, _ in measured if (h := holds(s)) is not None]
    out("slowest requests (ms); the longest turn held while they waited, and gc in any "
        "process during them:")
    stalled = 0
    for r, s, ph in slow[::-1][:15]:
        first, last = s["marks"][0][1], s["marks"][-1][1]
        hits = overlapping(first, last, collections)
        stalled += bool(hits)
        spent = ", ".join(f"{k} {v:.1f}" for k, v in ph.items() if v >= 1.0)
        gcs = ", ".join(f"gen{c['gc']} {1000 * (c['stop'] - c['start']):.1f} "
                        f"({'own' if c['pid'] == s['pid'] else 'other'})" for c in hits)
        marks = {name: t for name, t in s["marks"]}
        holder = ""
        if "turn.wait" in marks and "turn.got" in marks:
            during = [(h[1] - h[0], rid, srv) for h, rid, srv in spans
                      if rid != r["id"] and h[1] > marks["turn.wait"] and h[0] < marks["turn.got"]]
            if during:
                held, rid, srv = max(during, key=lambda d: d[0])
                own = phases({"slot": 0, "sent": 0, "done": 0}, srv)
                holder = (f"; longest holder {rid} {1000 * held:.1f} (its save "
                          f"{own['save']:.1f})")
        started = r["slot"] - rows[0]["slot"]
        out(f"  {r['id']} at {started:5.2f} s: {1000 * (r['done'] - r['slot']):6.1f} = {spent}"
            + holder + (f"; gc: {gcs}" if gcs else ""))
    gc_summary(collections, out)
    return {"p50": p[49], "p99": p[98], "all": every, "slowest": worst,
            "slow_with_gc": stalled}


def gc_summary(collections: list[dict[str, Any]], out: Callable[[str], None] = print) -> None:
    """Collections by generation: how many, mean and longest wall time."""
    by_gen: dict[int, list[float]] = {}
    for c in collections:
        by_gen.setdefault(c["gc"], []).append(1000 * (c["stop"] - c["start"]))
    for gen, times in sorted(by_gen.items()):
        out(f"  gc gen{gen}: {len(times)} collections, mean {statistics.fmean(times):.2f} ms, "
            f"max {max(times):.1f} ms" + (" (each: " + ", ".join(f"{t:.1f}" for t in times)
                                          + ")" if gen == 2 else ""))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the latency row with the timeline on and summarise it."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.timeline", description=__doc__)
    parser.add_argument("--before", type=int, default=200, help="submit+approve first")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    args = parser.parse_args(argv)
    with scratch_server() as admin, scratch_database(admin, "cxgov_bench_tl") as url, \
            tempfile.TemporaryDirectory() as folder:
        marks = Path(folder) / "timeline"
        gov = Governance(env=env_for(url, pool_size=2, overflow=8))
        setup_world(gov, four_eyes_m="1000")
        servers = [ApiServer(url, Path(folder), extra_env={"CXGOV_TIMELINE": str(marks)})
                   .start() for _ in range(SERVERS)]
        try:
            bases = [s.base for s in servers]
            for first in range(0, args.before, ROUND):
                codes = [f"H{k:05d}" for k in range(first, min(args.before, first + ROUND))]
                closed_loop(bases, [submit_call(c) for c in codes], threads=THREADS)
                ids = [str(gov.initiative_id("FY2027", c)) for c in codes]
                closed_loop(bases, [approve_call(i) for i in ids], threads=THREADS)
            time.sleep(0.2)
            _, warming = read_server(marks)
            for path in marks.glob("*.jsonl"):
                path.unlink()  # keep only the latency row's requests
            rows = timed_open_loop(bases, rate=args.rate, count=args.count)
            time.sleep(0.2)
            server, collections = read_server(marks)
        finally:
            for s in servers:
                s.stop()
            gov.close()
    print("during the warm-up (setup excluded):")
    gc_summary(warming)
    print("during the latency row:")
    summary = report(rows, server, collections)
    if args.json:
        args.json.write_text(json.dumps({"client": rows, "server": server,
                                         "gc": collections, "summary": summary}))
    return 0


def approve_call(initiative: str) -> Callable[[Client], Answer]:
    """POST an approval with an Idempotency-Key, as the bench's approvals."""
    return lambda c: c.post(f"/v1/initiatives/{initiative}/decisions", headers={
        **CX, "Idempotency-Key": f"a-{initiative}"}, json={"outcome": "approve",
                                                            "rationale": "bench"})


if __name__ == "__main__":
    raise SystemExit(main())
