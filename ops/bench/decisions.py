"""Approvals at 50 and at 5,000 initiatives in the period, in process, in the same run (issue
19): `python -m ops.bench.decisions [--quick]`, or the "decisions" group of `python -m
ops.bench`.

Each size gets a period of its own with that many submitted initiatives (saved directly, in
batches, as ops/bench/history.py does) and a pool large enough that the recommendation funds
them all; one approval in each warms the process (its aggregate cache and the period's book,
governance/stores/period_book.py), then approvals of initiatives drawn at random are timed one
at a time on one thread, in turns between the two periods (a loaded machine slows both
alike), as `Governance.decide` runs them (no HTTP); the row also gives the process's CPU time
per approval (PostgreSQL's own work is not in it). The row's ratio is
the rate at 5,000 over the rate at 50 (target >= 0.7): a decision's cost should not grow with
its period. Without PostgreSQL (`--memory`) the in-memory store replays the pool's whole
stream on every read, which grows with the period whatever a decision does.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from contextlib import ExitStack
from decimal import Decimal
from uuid import UUID

from domain.initiative import Initiative
from domain.pool import FundingPool
from governance.app import Governance
from governance.principal import CX_EXEC, Principal
from ops.bench.history import FINANCE_LEAD, OWNER_ACTOR, M, proposal, setup_world
from ops.bench.infra import env_for, machine_facts, scratch_database, scratch_server

APPROVER = Principal(subject="decisions.approver", roles=frozenset({CX_EXEC}), issuer="bench")
SIZES = (50, 5_000)
QUICK = {"approvals": 20}
FULL = {"approvals": 49}  # at most SIZES[0] - 1
BATCH = 250  # initiatives per save while the period is built


def period_of(gov: Governance, size: int, *, seed: int = 19) -> list[UUID]:
    """Open a period with `size` submitted initiatives; their ids."""
    period = f"AP{size}"
    gov.open_period(
        FINANCE_LEAD,
        code=period,
        currency="USD",
        opex_total=Decimal(10) ** 6 * M,
        cap_percent=Decimal(10),
    )
    pool: FundingPool = gov.repository.get(FundingPool.create_id(period))
    rng = random.Random(seed)
    ids: list[UUID] = []
    batch: list[Initiative] = []
    for k in range(size):
        code = f"A{k:05d}"
        initiative = Initiative.submit(
            period=period,
            code=code,
            kind="pnl",
            pnl="RB",
            proposal=proposal(rng, f"Initiative {code}"),
            actor=OWNER_ACTOR,
        )
        pool.enlist(initiative_id=initiative.id, code=code, actor=OWNER_ACTOR)
        batch.append(initiative)
        ids.append(initiative.id)
        if len(batch) == BATCH or k == size - 1:
            gov.save(pool, *batch)
            batch = []
    return ids


def timed(gov: Governance, approvals: int) -> dict[int, tuple[float, float]]:
    """(wall seconds, process CPU seconds) of `approvals` approvals at each size, taken in
    turns (50, 5,000, 50, ...) so that a loaded machine slows both sizes alike; one warm-up
    approval per period, not timed."""
    chosen = {
        size: random.Random(size).sample(period_of(gov, size), approvals + 1) for size in SIZES
    }
    for size in SIZES:
        gov.decide(APPROVER, initiative_id=chosen[size][0], outcome="approve")
    spent = {size: [0.0, 0.0] for size in SIZES}
    for k in range(1, approvals + 1):
        for size in SIZES:
            wall, cpu = time.perf_counter(), time.process_time()
            gov.decide(APPROVER, initiative_id=chosen[size][k], outcome="approve")
            spent[size][0] += time.perf_counter() - wall
            spent[size][1] += time.process_time() - cpu
    return {size: (w, c) for size, (w, c) in spent.items()}


def run(gov: Governance, *, quick: bool) -> float:
    """Print the row (ops.bench's format); return the ratio."""
    approvals = int((QUICK if quick else FULL)["approvals"])
    spent = timed(gov, approvals)
    (small_s, small_cpu), (large_s, large_cpu) = (spent[n] for n in SIZES)
    small, large = approvals / small_s, approvals / large_s
    ratio = large / small
    print(
        f"row | approvals/s at {SIZES[1]:,} initiatives in the period, in process "
        f"({approvals} approvals per size in turns, 1 thread; CPU "
        f"{large_cpu / approvals * 1000:.2f} ms per approval) | {large:.1f}/s | ceiling "
        f"{small:.1f}/s at {SIZES[0]} initiatives (CPU {small_cpu / approvals * 1000:.2f} "
        f"ms) | ratio {ratio:.2f} | target >= 0.7",
        flush=True,
    )
    print(
        f"decisions: {gov.books.hits} brought forward, {gov.books.rereads} re-read the period",
        flush=True,
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    """Run the row on a scratch PostgreSQL database (or in memory with --memory)."""
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench.decisions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="20 approvals per size, not 49")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="the in-memory store instead of PostgreSQL (see above)",
    )
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        if args.memory:
            gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        else:
            admin = stack.enter_context(scratch_server())
            print(machine_facts(admin), flush=True)
            url = stack.enter_context(scratch_database(admin, "cxgov_bench_decisions"))
            gov = Governance(env=env_for(url))
        stack.callback(gov.close)
        setup_world(gov, four_eyes_m="1000")
        run(gov, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
