"""Verifying a bundle as an auditor does (issue 18; decision 289):
`python -m ops.bench.audit --only bundle [--events N] [--initiatives I] [--decisions D]`.

The bundle holds one period's history (ops/bench/audit_decisions.py: a metric, a policy, a
pool, I initiatives and D decisions taken against the ranking then, so every decision
re-derives cleanly) spread evenly among customer feedback events (which no decision replay
folds) to N rows in all, chained, sealed every 2 rows (a write transaction's seal) with a
write epoch's key disclosed every 10,000 rows, as ops/bench/audit.py's rows are. It is
written to a temporary file, untimed. Timed: `auditverify.bundle.verify_bundle` on it, the
whole of `python -m auditverify --bundle FILE`'s work (reading and parsing every line, the
chain, seals and anchors, and every decision re-derived: the ranking then, the rules, the
lifecycle), wall and this process's CPU (the helper's is not in it): row `verify_bundle`
with one process, `verify_bundle_2proc` with `workers=2` (`--workers 2`: a forked helper
reads and checks the file's second half, decision 290). The ceiling, measured in the same
run: SHA-256 of the same framed entry bytes with hashlib (as the verify row's); ratio =
ceiling / verify.
The report must be clean with all D decisions checked, or the row fails.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditverify.bundle import verify_bundle, write_bundle
from auditverify.model import EventRow, Report, Row
from ops.bench.audit import KEY, disclosures, loop_name, rows
from ops.bench.audit_decisions import history

FEEDBACK = "cxgov.FeedbackBatch.Recorded"


def period_events(n: int, initiatives: int, decisions: int) -> tuple[list[EventRow], int]:
    """n events: the period's history (its order kept) spread evenly among feedback
    batches; every decision's ranking position moved to where its event now sits. Returns
    the events and the decisions among them."""
    period, made = history(initiatives, decisions)
    if len(period) > n:
        raise ValueError(f"{len(period)} events of the period do not fit in {n}")
    rnd = random.Random(289)
    # the period's k-th event lands at slot k * n // len(period): evenly spread, in order
    slots = {k * n // len(period): k for k in range(len(period))}
    moved = {k + 1: slot + 1 for slot, k in slots.items()}  # old position -> new position
    versions: dict[str, int] = {}
    out: list[EventRow] = []
    for slot in range(n):
        k = slots.get(slot)
        if k is None:
            originator = f"00000000-0000-0000-0001-{rnd.randrange(200):012d}"
            topic, state = FEEDBACK, json.dumps(
                {"metric": "M1", "responses": rnd.randrange(1, 1000), "actor": "ops",
                 "mean": {"_type_": "decimal_str", "_data_": str(rnd.randrange(100))}},
                separators=(",", ":")).encode()
        else:
            event = period[k].event
            assert event is not None
            originator, topic, state = event.originator_id, event.topic, event.state
            data = json.loads(state)
            if isinstance(data.get("decision"), dict):
                record = data["decision"]
                record["ranking_position"] = moved[record["ranking_position"]]
                state = json.dumps(data).encode()
        version = versions[originator] = versions.get(originator, 0) + 1
        out.append(EventRow(originator, version, topic, state))
    return out, made


def bench_bundle(n: int, *, initiatives: int = 3_000, decisions: int = 2_500,
                 ) -> list[dict[str, Any]]:
    """Write the bundle (untimed), verify it with one process and with `workers=2` (timed),
    hash its framed bytes (the ceiling)."""
    events, made = period_events(n, initiatives, decisions)
    framed: list[bytes] = []

    def chained() -> Iterator[Row]:
        for row, data in rows(n, events=events):
            framed.append(data)
            yield row

    timed: list[tuple[int, float, float, Report]] = []
    with tempfile.TemporaryDirectory(prefix="cxgov-bench-bundle-") as tmp:
        path = Path(tmp) / "bundle.jsonl"
        write_bundle(path, rows=chained(), checkpoints=[], source="bench",
                     disclosures=disclosures(n, events=events))
        size = path.stat().st_size
        for workers in (1, 2):
            start, cpu = time.perf_counter(), time.process_time()
            report = verify_bundle(path, public_keys=[KEY.public_key()], workers=workers)
            timed.append((workers, time.perf_counter() - start, time.process_time() - cpu,
                          report))
    start = time.perf_counter()
    for data in framed:
        hashlib.sha256(data).digest()
    hash_s = time.perf_counter() - start
    out = []
    for workers, verify_s, verify_cpu, report in timed:
        if not report.ok or report.decisions_checked != made:
            raise AssertionError(f"the bench's bundle did not verify cleanly: "
                                 f"{report.decisions_checked} of {made} decisions, "
                                 f"{report.errors[:3]}")
        out.append({"row": "verify_bundle" if workers == 1 else f"verify_bundle_{workers}proc",
                    "loop": loop_name(), "events": n, "decisions": made,
                    "bundle_mb": round(size / 2**20, 1),
                    "verify_s": round(verify_s, 3),
                    "events_per_s": round(n / max(verify_s, 1e-9)),
                    "ceiling_sha256_s": round(hash_s, 4),
                    "ratio": round(hash_s / max(verify_s, 1e-9), 4),
                    "cpu_verify_s": round(verify_cpu, 3),
                    "seals_by_mac": report.seals_by_mac,
                    "seals_by_signature": report.seals_by_signature})
    return out
