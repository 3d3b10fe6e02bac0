"""What the dashboard pages' per-process caches leave to a cold read (issue 17, decisions
170-172): `python -m ops.bench.readcache [--n 1000 ...] [--writes 7]`.

The pages row of `ops.bench.pages` times each page after a warm-up request, so it shows the
cached figure. This prints, on the same generated company (one period of N undecided
initiatives, in-memory store, in-process), the reads a cache does not hide, each as process
CPU time (on a loaded machine wall time is mostly waiting for a core):

* the live fold after one write (a submission): the fold cache's copy of the state it handed
  out plus the new events, against a replay from the view's newest fold snapshot at the same
  position (what every request paid before), ratio in the same run;
* fair shares computed afresh (the memo's miss), against reading them again (its hit).

Not a row of `ops.bench` (its groups are fixed by tests/bench): figures for the performance
guide.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from domain.initiative import Initiative
from domain.pool import FundingPool
from ops.bench.history import OWNER_ACTOR, proposal
from ops.bench.pages import PERIOD, company
from projections.fairshare import compute_fair_shares, fair_shares
from projections.projection import state_at


def cpu(call: Callable[[], Any]) -> float:
    """Process CPU seconds of one call."""
    start = time.process_time()
    call()
    return time.process_time() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def measure(n: int, writes: int) -> None:
    """Print the cold reads at `n` initiatives."""
    runtime = company(n)
    try:
        gov, models = runtime.app, runtime.read_models()
        models.loop()  # the live fold, cached
        rng = random.Random(3)
        cached: list[float] = []
        replayed: list[float] = []
        for k in range(writes):
            pool: FundingPool = gov.repository.get(FundingPool.create_id(PERIOD))
            code = f"W{k:04d}"
            initiative = Initiative.submit(period=PERIOD, code=code, kind="pnl", pnl="RB",
                                           proposal=proposal(rng, f"Write {code}"),
                                           actor=OWNER_ACTOR)
            pool.enlist(initiative_id=initiative.id, code=code, actor=OWNER_ACTOR)
            gov.save(pool, initiative)
            position = models.position()
            cached.append(cpu(partial(models.state_at, position)))
            replayed.append(cpu(partial(state_at, models.log, models.portfolio, position)))
        ratio = statistics.median(cached) / statistics.median(replayed)
        print(f"{n} initiatives, live fold after one write ({writes} writes, CPU): cache "
              f"median {ms(statistics.median(cached))} max {ms(max(cached))}; replay from the "
              f"fold snapshot median {ms(statistics.median(replayed))} max {ms(max(replayed))};"
              f" ratio {ratio:.2f}", flush=True)
        snap = models.snapshot()
        inputs = (snap.ranking(PERIOD), snap.ledger(PERIOD), snap.pnls(),
                  snap.recommendation(PERIOD, unfunded_limit=0))
        rows, ledger, pnls, rec = inputs
        assert ledger is not None and rec is not None
        fresh = cpu(partial(compute_fair_shares, rows, ledger, pnls, rec))
        fair_shares(rows, ledger, pnls, rec)
        hit = cpu(partial(fair_shares, rows, ledger, pnls, rec))
        print(f"{n} initiatives, fair shares (CPU): computed afresh {ms(fresh)}; memo hit "
              f"{ms(hit)}", flush=True)
    finally:
        runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.readcache", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append",
                        help="initiatives in the period (repeatable; default 1,000)")
    parser.add_argument("--writes", type=int, default=7, help="writes timed (default 7)")
    args = parser.parse_args(argv)
    for n in args.n or [1_000]:
        measure(n, args.writes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
