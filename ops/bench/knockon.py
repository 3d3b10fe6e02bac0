"""Knock-on effects and the what-if budget (issue 17) at 500 and 1,000 initiatives in one
period: `python -m ops.bench.knockon [--quick]` (200 initiatives with `--quick`).

Prints rows in `python -m ops.bench`'s format: the three knock-ons of one initiative (near
the top of the ranking, at the cut line's third, at the bottom) computed directly, and the
server time of the initiative page (as shown: with its knock-ons up to 500 ranked
initiatives, a link above; with them asked for, `knock_on=1`; as of a past position, none)
and of the what-if page, through the app in process on the in-memory store
(`ops.bench.pages`'s world). Each figure is the median and 95th percentile of CPU time
(`time.process_time`) and of wall time: on a loaded machine wall time waits for a core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from ops.bench.pages import PERIOD, company, ms, p95, row, session
from projections.knockon import knock_ons

REPEATS = 9


def measured(call: Callable[[], Any], repeats: int = REPEATS) -> str:
    """CPU and wall time of `call` after one warm-up call, for a row's figure."""
    call()
    cpu, wall = [], []
    for _ in range(repeats):
        start, started = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - started)
    return (f"CPU median {ms(statistics.median(cpu))} p95 {ms(p95(cpu))}; wall median "
            f"{ms(statistics.median(wall))} p95 {ms(p95(wall))}")


def run(n: int) -> None:
    """Every row for a period of `n` undecided initiatives."""
    runtime = company(n)
    try:
        snapshot = runtime.read_models().snapshot()
        rows, ledger = snapshot.ranking(PERIOD), snapshot.ledger(PERIOD)
        assert ledger is not None
        for where, picked in (("top", rows[0]), ("a third down", rows[len(rows) // 3]),
                              ("bottom", rows[-1])):
            code = picked.code or ""
            row(f"knock-ons of approve, reject, defer ({where} of {n})",
                measured(partial(knock_ons, rows, ledger, code=code)),
                target="the initiative page under 100 ms")
        cookie, _ = session(runtime, "cx_exec")
        middle = rows[len(rows) // 3].id
        budget = int(Decimal(ledger.amount) * Decimal("1.1") / 1_000_000)
        with TestClient(create_app(runtime)) as client:
            for name, path in (
                    ("initiative page as shown", f"/dashboard/initiatives/{middle}"),
                    ("initiative page with knock-ons",
                     f"/dashboard/initiatives/{middle}?knock_on=1"),
                    ("initiative page as of the past (none)",
                     f"/dashboard/initiatives/{middle}?as_of={runtime.app.position()}"),
                    ("what-if page at the pool", "/dashboard/what-if"),
                    ("what-if page at 110% of the pool", f"/dashboard/what-if?budget=${budget}M")):

                def page(path: str = path) -> None:
                    answer = client.get(path, headers=cookie)
                    assert answer.status_code == 200, answer.text[:300]

                row(f"{name} ({n} initiatives)", measured(page), target="p95 under 100 ms")
    finally:
        runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rows."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 initiatives, not 500 and "
                        "1,000")
    for n in (200,) if parser.parse_args(argv).quick else (500, 1_000):
        run(n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
