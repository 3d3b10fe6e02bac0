"""Audit benchmarks (issue 18): `python -m ops.bench.audit [--events N] [--json]`.

Rows, each with its absolute figures and, where there is one, the ceiling measured in the same
run and the ratio:

- verify: auditverify's Verifier (Verifier.feed_many, then finish) over N chained rows already
  in memory as Row objects: each entry hash recomputed from the stored fields and compared,
  each link to the previous entry, each aggregate's version, a write seal every 2 rows (a
  real log's density: the service seals each write transaction, mostly 1-2 events; the
  seal's authentication, the entry it signs, the entries it covers), then the end-of-history
  checks (no checkpoints or receipts are given, so none are checked; no decision rules, no
  bundle parsing). Against SHA-256 of the same framed bytes with hashlib in the same run
  (ratio = hashing time / verifying time; the issue's target is >= 0.5). `--seal-every K`
  seals every K rows instead (100 was this row's default before decision 287); `cpu_*` are
  this process's CPU seconds
  (time.process_time: the steadier figure on a loaded box; the helper's are not in them).
  Each seal also carries its write epoch and MAC, and the service's key disclosures end an
  epoch every `--disclose-every D` rows (default 10,000, as a checkpoint every few minutes
  would): a seal of a disclosed epoch is authenticated by its MAC (a hash), the newest
  epoch's by signature (decision 287). `--disclose-every 0`: no disclosures, every seal by
  its signature (the row before decision 287). `loop` says which of feed_many's loops ran: C
  (auditverify/_chainloop.c, decision 291) or Python (`--python-loop`, AUDITVERIFY_PURE=1,
  or where the C loop was not built);
- verify_2proc: the same with Verifier(workers=2): per 50,000-row chunk a forked helper
  process checks the chunk's second half entirely, as a clean history's continuation, while
  this process checks the first half; this process then takes the helper's state if its own
  at the boundary is what the helper assumed (decisions 213, 288; a bundle with `--workers
  2` is split once instead, the helper reading its half of the file itself: decision 290,
  row `verify_bundle_2proc` of `--only bundle`);
- merkle_build: the RFC 9162 tree over N entry hashes (every level kept);
- merkle_append: the same tree grown one entry at a time, as the service keeps it between
  requests (governance/stores/merkle_log.py; the proofs below are timed on it);
- inclusion_proof / consistency_proof: generating and checking one proof at size N (median
  and worst of 200), against the issue's ceilings (10 ms, 50 ms). Each sample is timed with
  Python's cyclic collector off (collected before it), as `timeit` does: a full collection
  that happens to start inside a sample traverses every list in the process (the tree's
  levels: 67-68 ms at 1,000,000 on the 2026-12-07 box) and is the heap's cost, not the
  proof's.

In memory (no database): what is measured is the verifier's and the tree's own work. Rows are
generated 50,000 at a time (a 1M-row history does not fit comfortably in a test box's memory
as objects), and only the verifying and the hashing of each batch are timed.

`--only bundle`: a bundle of `--events` rows (default 100,000) holding one period's
`--initiatives` and `--decisions`, verified as an auditor does, every decision re-derived
(ops/bench/audit_bundle.py).

`--database [ADMIN_URL]`: instead, the proofs as served on PostgreSQL at N events (an API
process on a scratch database; ops/bench/audit_served.py). `--only decisions`: re-deriving
every decision of one period of `--initiatives` with `--decisions` decisions, the walk kept
between decisions against from scratch (CPU time; ops/bench/audit_decisions.py).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify import verifier as verifier_module
from auditverify.encoding import CHAIN_TAG, GENESIS, epoch_key, frame, int64, seal_mac
from auditverify.keys import key_id
from auditverify.merkle import MerkleTree, verify_consistency, verify_inclusion
from auditverify.model import ChainRow, Disclosure, EventRow, Row, SealRow
from auditverify.verifier import Verifier

T0 = 1_800_000_000_000_000
SEAL_EVERY = 2  # a real log's density: a seal per write transaction of 1-2 events
DISCLOSE_EVERY = 10_000
KEY = Ed25519PrivateKey.generate()


def _framed(position: int, prev_position: int, prev_hash: bytes, event: EventRow) -> bytes:
    return frame(CHAIN_TAG, prev_hash, int64(prev_position), int64(position),
                 event.originator_id.encode(), int64(event.originator_version),
                 event.topic.encode(), event.state, int64(T0 + position))


def _event(position: int, version: int) -> EventRow:
    aggregate = position % 1000
    return EventRow(f"00000000-0000-0000-0000-{aggregate:012d}", version,
                    "cxgov.Initiative.Revised",
                    b'{"changes":{"cost":{"_type_":"decimal_str","_data_":"%d"}},'
                    b'"reason":"bench","actor":"rob"}' % position)


def _chain(n: int, events: Sequence[EventRow] | None = None,
           ) -> Iterator[tuple[int, EventRow, int, bytes, bytes, bytes]]:
    """(position, event, prev_position, prev_hash, framed bytes, entry hash) of n rows over
    1,000 aggregates, or of `events` (n of them) as given."""
    versions: dict[int, int] = {}
    prev_position, prev_hash = 0, GENESIS
    for position in range(1, n + 1):
        if events is None:
            aggregate = position % 1000
            version = versions[aggregate] = versions.get(aggregate, 0) + 1
            event = _event(position, version)
        else:
            event = events[position - 1]
        framed = _framed(position, prev_position, prev_hash, event)
        digest = hashlib.sha256(framed).digest()
        yield position, event, prev_position, prev_hash, framed, digest
        prev_position, prev_hash = position, digest


def _disclosed_at(n: int, seal_every: int, disclose_every: int) -> list[int]:
    """Where epochs end: every `disclose_every` rows, at the end of a write transaction."""
    if not disclose_every:
        return []
    step = max(seal_every, disclose_every - disclose_every % seal_every)
    return list(range(step, n + 1, step))


def disclosures(n: int, *, seal_every: int = SEAL_EVERY,
                disclose_every: int = DISCLOSE_EVERY,
                events: Sequence[EventRow] | None = None) -> list[Disclosure]:
    """The service's key disclosures over rows(n, ...): what the verifier is given first."""
    at = set(_disclosed_at(n, seal_every, disclose_every))
    secret, kid = KEY.private_bytes_raw(), key_id(KEY.public_key())
    out: list[Disclosure] = []
    for position, *_, digest in _chain(n, events):
        if position in at:
            d = Disclosure(len(out) + 1, position, position, digest,
                           epoch_key(secret, len(out) + 1), kid, b"")
            out.append(Disclosure(d.epoch, d.position, d.count, d.head, d.epoch_key, d.key_id,
                                  KEY.sign(d.payload())))
    return out


def rows(n: int, *, seal: bool = True, seal_every: int = SEAL_EVERY,
         disclose_every: int = DISCLOSE_EVERY,
         events: Sequence[EventRow] | None = None) -> Iterator[tuple[Row, bytes]]:
    """n chained rows over 1,000 aggregates (or of `events`), sealed every `seal_every`
    (each seal with its write epoch and MAC; an epoch ends every `disclose_every` rows),
    with their framed bytes."""
    tx_prev, tx_hash, tx_count = 0, GENESIS, 0
    kid = key_id(KEY.public_key())
    ends = iter(_disclosed_at(n, seal_every, disclose_every))
    secret, epoch, epoch_end = KEY.private_bytes_raw(), 1, next(ends, n + 1)
    mac_key = epoch_key(secret, epoch)
    for position, event, prev_position, prev_hash, framed, digest in _chain(n, events):
        tx_count += 1
        seal_row = None
        if seal and (position % seal_every == 0 or position == n):
            if position > epoch_end:
                epoch, epoch_end = epoch + 1, next(ends, n + 1)
                mac_key = epoch_key(secret, epoch)
            unsigned = SealRow(tx_prev, tx_hash, digest, tx_count, kid, b"")
            payload = unsigned.payload(position)
            seal_row = SealRow(tx_prev, tx_hash, digest, tx_count, kid, KEY.sign(payload),
                               epoch, seal_mac(mac_key, unsigned.mac_input(position)))
            tx_prev, tx_hash, tx_count = position, digest, 0
        yield (Row(position, event, ChainRow(prev_position, prev_hash, digest, T0 + position),
                   seal_row), framed)


def bench_verify(n: int, chunk: int = 50_000, workers: int = 1,
                 seal_every: int = SEAL_EVERY,
                 disclose_every: int = DISCLOSE_EVERY) -> dict[str, Any]:
    """Verify n rows; the ceiling is hashing their framed bytes. Rows are made a chunk at a
    time; only the verifier's work on each chunk, and hashlib's on the same bytes, are timed.
    workers=2: the verifier's forked helper checks the second half of each chunk (the fork
    is inside the timed part). The verifier is given the key disclosures (made
    untimed, as a bundle's are read before its rows)."""
    given = disclosures(n, seal_every=seal_every, disclose_every=disclose_every)
    start, cpu = time.perf_counter(), time.process_time()
    verifier = Verifier(public_keys=[KEY.public_key()], workers=workers, disclosures=given)
    verify_s, verify_cpu = time.perf_counter() - start, time.process_time() - cpu
    hash_s = hash_cpu = 0.0
    framed = 0
    made = rows(n, seal_every=seal_every, disclose_every=disclose_every)
    while batch := list(islice(made, chunk)):
        history = [row for row, _ in batch]
        start, cpu = time.perf_counter(), time.process_time()
        verifier.feed_many(history)
        verify_s += time.perf_counter() - start
        verify_cpu += time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        for _, data in batch:
            hashlib.sha256(data).digest()
        hash_s += time.perf_counter() - start
        hash_cpu += time.process_time() - cpu
        framed += sum(len(data) for _, data in batch)
    start, cpu = time.perf_counter(), time.process_time()
    report = verifier.finish()
    verify_s += time.perf_counter() - start
    verify_cpu += time.process_time() - cpu
    assert report.ok, report.errors[:3]
    return {"row": "verify" if workers == 1 else f"verify_{workers}proc", "loop": loop_name(),
            "events": n,
            "bytes": framed, "verify_s": round(verify_s, 3),
            "events_per_s": round(n / max(verify_s, 1e-9)),
            "ceiling_sha256_s": round(hash_s, 4), "ratio": round(hash_s / max(verify_s, 1e-9), 4),
            "target_ratio": 0.5, "seal_every": seal_every, "disclose_every": disclose_every,
            "seals_by_mac": report.seals_by_mac,
            "seals_by_signature": report.seals_by_signature,
            "cpu_verify_s": round(verify_cpu, 3),
            "cpu_sha256_s": round(hash_cpu, 4),
            "cpu_ratio": round(hash_cpu / max(verify_cpu, 1e-9), 4)}


def loop_name() -> str:
    """Which feed_many loop the verifier runs: "C" (auditverify/_chainloop.c, decision 291)
    or "Python" (not built, AUDITVERIFY_PURE=1 or --python-loop)."""
    return "C" if verifier_module.ACCELERATOR is not None else "Python"


def bench_merkle(n: int, samples: int = 200) -> list[dict[str, Any]]:
    """Build the tree over n leaves, then time proofs at size n."""
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
    start = time.perf_counter()
    tree = MerkleTree(leaves)
    build_s = time.perf_counter() - start
    root = tree.root()
    start = time.perf_counter()  # what the service does: append each entry as it is written
    grown = MerkleTree([])
    for leaf in leaves:
        grown.append(leaf)
    append_s = time.perf_counter() - start
    assert grown.root() == root
    tree = grown  # the proofs below are served from the appended tree
    rnd = random.Random(7)
    inclusion: list[float] = []
    consistency: list[float] = []
    try:  # each sample with the collector off, as timeit does (see the module docstring)
        for _ in range(samples):
            index = rnd.randrange(n)
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            proof = tree.inclusion_proof(index)
            assert verify_inclusion(leaves[index], index, n, proof, root)
            inclusion.append(time.perf_counter() - start)
            gc.enable()
        for _ in range(samples):
            old = rnd.randrange(1, n)
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            proof = tree.consistency_proof(old)
            assert verify_consistency(old, n, tree.root(old), root, proof)
            consistency.append(time.perf_counter() - start)
            gc.enable()
    finally:
        gc.enable()

    def row(name: str, times: list[float], ceiling_ms: float) -> dict[str, Any]:
        return {"row": name, "tree_size": n, "median_ms": round(statistics.median(times) * 1e3, 3),
                "worst_ms": round(max(times) * 1e3, 3), "ceiling_ms": ceiling_ms,
                "ratio": round(ceiling_ms / max(statistics.median(times) * 1e3, 1e-9), 1)}

    return [{"row": "merkle_build", "tree_size": n, "build_s": round(build_s, 3)},
            {"row": "merkle_append", "tree_size": n, "append_s": round(append_s, 3),
             "per_entry_us": round(append_s / max(n, 1) * 1e6, 3)},
            row("inclusion_proof", inclusion, 10.0),
            row("consistency_proof", consistency, 50.0)]


def main(argv: list[str] | None = None) -> int:
    """Print the rows."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.audit", description=__doc__)
    parser.add_argument("--events", type=int, default=None,
                        help="rows in the history (default 1,000,000; the bundle row "
                             "100,000)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=("verify", "merkle", "decisions", "bundle"),
                        help="run only the verify rows, only the Merkle rows, only the "
                             "decision replay row (ops/bench/audit_decisions.py), or only "
                             "the bundle row: a bundle verified as an auditor does, every "
                             "decision re-derived (ops/bench/audit_bundle.py)")
    parser.add_argument("--initiatives", type=int, default=1_000,
                        help="decisions and bundle rows: initiatives in the period "
                             "(default 1,000)")
    parser.add_argument("--decisions", type=int, default=1_000,
                        help="decisions and bundle rows: decisions in the period "
                             "(default 1,000)")
    parser.add_argument("--seal-every", type=int, default=SEAL_EVERY, metavar="K",
                        help=f"the verify rows' history is sealed every K rows (default "
                             f"{SEAL_EVERY}; 2 is a real log's density, a seal per write "
                             "transaction)")
    parser.add_argument("--disclose-every", type=int, default=DISCLOSE_EVERY, metavar="D",
                        help=f"the verify rows' write epochs end every D rows, their keys "
                             f"disclosed (default {DISCLOSE_EVERY}); 0: no disclosures, every "
                             "seal checked by its signature")
    parser.add_argument("--python-loop", action="store_true",
                        help="the verify and bundle rows run the verifier's loop in Python, "
                             "not in C (auditverify/_chainloop.c, decision 291), as where "
                             "the C loop is not built; the `loop` column says which ran")
    parser.add_argument("--database", metavar="ADMIN_URL", nargs="?", const="",
                        help="the served proofs on PostgreSQL instead (ops/bench/audit_served.py):"
                             " a scratch database on ADMIN_URL's server (default: "
                             "CXGOV_DATABASE_URL, else an embedded server)")
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = 100_000 if args.only == "bundle" else 1_000_000
    if args.events < 1:
        parser.error("--events must be at least 1")
    if args.database is not None:
        return _served(args.events, args.database, args.json)
    if args.python_loop:
        verifier_module.ACCELERATOR = None
    if args.seal_every < 1:
        parser.error("--seal-every must be at least 1")
    if args.disclose_every < 0:
        parser.error("--disclose-every cannot be negative")
    if args.only == "decisions":
        from ops.bench.audit_decisions import bench_decisions

        results = [bench_decisions(args.initiatives, args.decisions)]
    elif args.only == "bundle":
        from ops.bench.audit_bundle import bench_bundle

        try:
            results = bench_bundle(args.events, initiatives=args.initiatives,
                                   decisions=args.decisions)
        except ValueError as exc:
            parser.error(str(exc))
    else:
        results = [*([bench_verify(args.events, seal_every=args.seal_every,
                                   disclose_every=args.disclose_every),
                      bench_verify(args.events, workers=2, seal_every=args.seal_every,
                                   disclose_every=args.disclose_every)]
                     if args.only != "merkle" else []),
                   *(bench_merkle(args.events) if args.only != "verify" else [])]
    for result in results:
        print(json.dumps(result) if args.json else
              "  ".join(f"{k}={v}" for k, v in result.items()))
    return 0


def _served(events: int, admin_url: str, as_json: bool) -> int:
    from ops.bench.audit_served import served_rows
    from ops.bench.infra import scratch_server

    if admin_url:
        results = served_rows(events, admin_url)
    else:
        with scratch_server() as admin:
            results = served_rows(events, admin)
    for result in results:
        print(json.dumps(result) if as_json else
              "  ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
