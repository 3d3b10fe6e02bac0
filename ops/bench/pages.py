"""Dashboard and recommendation server time at 1,000 and 10,000 initiatives in one period, and
the decision round trip from the dashboard: `python -m ops.bench.pages [--quick]`.

The app runs in-process (ASGI, `fastapi.testclient`) on the in-memory store, so a figure is the
server's own time plus the test client's small overhead, without a network or PostgreSQL
round trips: it isolates what the issue measured (work that grows with the period). Rows print
like `python -m ops.bench`'s (see docs/performance.md); `ops.bench` runs them in its
"pages" group.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.web.csrf import token_for
from api.web.session import COOKIE
from domain.initiative import Initiative
from domain.pool import FundingPool
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.identity import mint_token
from governance.principal import AUDITOR, CX_EXEC
from governance.settings import Settings
from governance.stores.sessions import Claims, sessions_of
from ops.bench.history import CX, OWNER_ACTOR, proposal, setup_world
from ops.bench.infra import JWT_SECRET

PERIOD = "FY2027"


@dataclass(frozen=True)
class Sizes:
    """Period sizes (the first also times every page), requests per figure, decisions."""

    periods: tuple[int, ...]
    repeats: int
    decisions: int


QUICK = Sizes(periods=(200,), repeats=3, decisions=5)
FULL = Sizes(periods=(1_000, 10_000), repeats=7, decisions=40)
#: Every dashboard page a CX executive reads (GET), with its query; {id} is an initiative's.
PAGES = (
    "/dashboard",
    "/dashboard?page=2",
    "/dashboard/ledger",
    "/dashboard/scorecard",
    "/dashboard/initiatives/{id}",
    "/dashboard/fair-shares",
    "/dashboard/policy",
    "/dashboard/round",
    "/dashboard/desk",
    "/dashboard/drivers",
    "/dashboard/jobs",
    "/dashboard/departments",
    "/dashboard/plans",
    "/dashboard/signals",
    "/dashboard/reviews",
    "/dashboard/you-said-we-did",
    "/dashboard/audit",
    "/dashboard/export/ranking.csv",
)
RECOMMENDATION = f"/v1/periods/{PERIOD}/recommendation"
FIRST_READS = 3  # first reads at a new position per figure (each after a write)
FIRST_WRITES: list[int] = []  # scenario codes used so far (each write defines a new one)
PAGE_TARGET_MS = 100


def row(name: str, figure: str, *, target: str) -> None:
    """One result row in `python -m ops.bench`'s format (no ceiling: absolute targets)."""
    print(f"row | {name} | {figure} | ceiling -- | ratio -- | target {target}", flush=True)


def settings() -> Settings:
    """The in-memory store with the benchmark's signing secret."""
    return Settings(store="memory", jwt_secret=SecretStr(JWT_SECRET))


def company(n: int, *, seed: int = 11) -> Runtime:
    """One period with `n` undecided initiatives (costs $0.1M-$9M) and a pool that funds
    about a third of what they ask."""
    runtime = bootstrap(settings())
    gov = runtime.app
    mean_cost_m = Decimal("4.55")
    setup_world(gov, opex_m=str(int(n * mean_cost_m * 10 / 3) + 10), four_eyes_m="100000")
    rng = random.Random(seed)
    pool: FundingPool = gov.repository.get(FundingPool.create_id(PERIOD))
    for first in range(0, n, 100):
        batch: list[Any] = []
        for k in range(first, min(n, first + 100)):
            code = f"P{k:05d}"
            initiative = Initiative.submit(
                period=PERIOD,
                code=code,
                kind="pnl",
                pnl="RB",
                proposal=proposal(rng, f"Initiative {code}"),
                actor=OWNER_ACTOR,
            )
            pool.enlist(initiative_id=initiative.id, code=code, actor=OWNER_ACTOR)
            batch.append(initiative)
        gov.save(pool, *batch)
    return runtime


def session(runtime: Runtime, role: str) -> tuple[dict[str, str], str]:
    """A dashboard session cookie header for one role, and its form token."""
    session_id = sessions_of(runtime).start(
        Claims(f"bench.{role}", role, (role,), (), "cxgov"),
        idle=_minutes(60),
        lifetime=_minutes(60),
    )
    return {"Cookie": f"{COOKIE}={session_id}"}, token_for(session_id)


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


@contextmanager
def client_for(runtime: Runtime) -> Iterator[TestClient]:
    """The app in-process; server errors come back as responses, not exceptions. The access
    log is silenced (a line per request on stdout would drown the rows)."""
    app = create_app(runtime, settle_heap_after_requests=True)  # as `cxgov serve` runs it
    access = logging.getLogger("cxgov.access")
    level = access.level
    access.setLevel(logging.WARNING)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        access.setLevel(level)


CPU: list[float] = []  # the process CPU seconds of the last `timed` calls, for the labels


def timed(call: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Wall seconds of each call (after one warm-up call) and the last answer; the process CPU
    seconds of each call go to CPU (on a loaded machine wall time waits for a core, CPU time
    does not: the labels show both)."""
    answer = call()
    seconds = []
    CPU.clear()
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        answer = call()
        seconds.append(time.perf_counter() - start)
        CPU.append(time.process_time() - cpu)
    return seconds, answer


def after_writes(runtime: Runtime, call: Callable[[], Any], times: int = FIRST_READS) -> str:
    """The first read at a new position, for a row's label (median and worst wall time, median
    CPU time of `times` reads each): after a write that leaves the period alone (a scenario
    defined: the read reuses the period's rows and plan, decision 162), after a deferral (an
    undecided initiative deferred: the rows are read anew, the selection is kept, decision
    260) and after an approval (the best-ranked initiative the greedy walk funds approved:
    rows and selection anew, decision 161)."""
    figures = []
    snapshot = runtime.read_models().snapshot()
    undecided = [c.id for c in snapshot.initiatives(PERIOD) if c.status == "submitted"]
    for what in ("scenario", "deferral", "approval"):
        seconds, cpu = [], []
        for _ in range(times):
            FIRST_WRITES.append(len(FIRST_WRITES) + 1)
            if what == "scenario":
                runtime.app.define_scenario(CX, code=f"BENCH{FIRST_WRITES[-1]}",
                                            name="A bench write", pnl="RB")
            elif what == "deferral":
                runtime.app.decide(CX, initiative_id=UUID(undecided.pop()), outcome="defer",
                                   rationale="benchmark: the first read after a decision")
            else:
                runtime.app.decide(CX, initiative_id=recommended(runtime), outcome="approve",
                                   rationale="benchmark: the first read after an approval")
            start, started = time.perf_counter(), time.process_time()
            answer = call()
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - started)
            assert answer.status_code == 200, answer.text[:300]
        article = "an" if what[0] in "aeiou" else "a"
        figures.append(f"{article} {what} written: median {ms(statistics.median(seconds))} worst "
                       f"{ms(max(seconds))}, CPU median {ms(statistics.median(cpu))}")
    return "first read after " + "; after ".join(figures)


def recommended(runtime: Runtime) -> UUID:
    """The best-ranked initiative the greedy walk funds (read untimed)."""
    snapshot = runtime.read_models().snapshot()
    rec = snapshot.recommendation(PERIOD, unfunded_limit=0)
    assert rec is not None and rec.greedy.keys, "nothing recommended to approve"
    first = rec.greedy.keys[0]
    return next(UUID(str(c.id)) for c in snapshot.initiatives(PERIOD) if c.code == first)


def cpu_note() -> str:
    """The CPU figures of the last `timed` calls, for a row's label."""
    return f"CPU median {ms(statistics.median(CPU))} p95 {ms(p95(CPU))}"


def p95(values: Sequence[float]) -> float:
    """The 95th percentile, nearest rank (the maximum of fewer than 20 values)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def size_rows(n: int, repeats: int, *, every_page: bool) -> None:
    """Recommendation and home page at `n` initiatives; with `every_page`, each page's p95."""
    runtime = company(n)
    try:
        cx, _ = session(runtime, CX_EXEC)
        bearer = {
            "Authorization": "Bearer " + mint_token(JWT_SECRET, sub="bench.cx", roles=[CX_EXEC])
        }
        with client_for(runtime) as client:
            rec, answer = timed(lambda: client.get(RECOMMENDATION, headers=bearer), repeats)
            assert answer.status_code == 200, answer.text[:500]
            item = answer.json()["item"]
            warm = cpu_note()
            first = after_writes(runtime, lambda: client.get(RECOMMENDATION, headers=bearer))
            row(
                f"recommendation API at {n} initiatives in one period (in-process, "
                f"{len(item['unfunded'])} of {item['unfunded_total']} unfunded with extra "
                f"budgets; {repeats} requests at one position, {warm}; {first})",
                f"median {ms(statistics.median(rec))} p95 {ms(p95(rec))}",
                target="< 200 ms at 1,000, < 1 s at 10,000",
            )
            home, answer = timed(lambda: client.get("/dashboard", headers=cx), repeats)
            assert answer.status_code == 200, answer.text[:500]
            size, warm = len(answer.content) / 1024, cpu_note()
            first = after_writes(runtime, lambda: client.get("/dashboard", headers=cx))
            row(
                f"executive home page at {n} initiatives in one period (in-process, "
                f"{size:.0f} KB of HTML; {repeats} requests at one position, {warm}; {first})",
                f"median {ms(statistics.median(home))} p95 {ms(p95(home))}",
                target="< 200 ms at 1,000, < 1 s at 10,000",
            )
            if every_page:
                page_rows(client, runtime, cx, n, repeats)
    finally:
        runtime.close()


def page_rows(
    client: TestClient, runtime: Runtime, cx: dict[str, str], n: int, repeats: int
) -> None:
    """Every dashboard page's p95 (the slowest named in the row)."""
    auditor, _ = session(runtime, AUDITOR)
    some = next(iter(runtime.read_models().snapshot().initiatives(PERIOD)))
    figures: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for path in PAGES:
        url = path.replace("{id}", some.id)
        headers = auditor if path == "/dashboard/audit" else cx
        seconds, answer = timed(partial(client.get, url, headers=headers), repeats)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
        figures[path], cpu[path] = p95(seconds), p95(CPU)
    slowest = max(figures, key=figures.__getitem__)
    detail = ", ".join(
        f"{path.removeprefix('/dashboard') or '/'} {figures[path] * 1000:.0f}/"
        f"{cpu[path] * 1000:.0f}"
        for path in PAGES
    )
    row(
        f"every dashboard page's p95 at {n} initiatives (in-process, {repeats} requests each; "
        f"slowest {slowest}; p95 ms wall/CPU: {detail})",
        ms(figures[slowest]),
        target=f"< {PAGE_TARGET_MS} ms",
    )


def round_trip_row(decisions: int) -> None:
    """On the demo company: POST the home page's decision form, follow the 303 to the page
    it names, which must show the new state (the `done` notice and the initiative decided)."""
    runtime = bootstrap(settings())
    try:
        import_company(runtime.app, bundled_company())
        cx, token = session(runtime, CX_EXEC)
        undecided = [
            c
            for c in runtime.read_models().snapshot().initiatives(PERIOD)
            if c.status == "submitted"
        ]
        seconds: list[float] = []
        CPU.clear()
        with client_for(runtime) as client:
            for card in undecided[:decisions]:
                start, cpu = time.perf_counter(), time.process_time()
                posted = client.post(
                    f"/dashboard/initiatives/{card.id}/decide",
                    headers=cx,
                    data={
                        "csrf": token,
                        "outcome": "defer",
                        "rationale": "benchmark round trip",
                        "back": "/dashboard",
                    },
                    follow_redirects=False,
                )
                assert posted.status_code == 303, posted.text[:300]
                location = posted.headers["location"]
                page = client.get(location, headers=cx)
                seconds.append(time.perf_counter() - start)
                CPU.append(time.process_time() - cpu)
                shown = parse_qs(urlsplit(location).query).get("done", [""])[0]
                line = re.search(rf'<tr data-code="{card.code}".*?</tr>', page.text, re.S)
                assert (
                    page.status_code == 200
                    and shown.startswith("defer")
                    and shown in page.text
                    and line is not None
                    and "s-deferred" in line[0]
                ), (location, page.status_code)
        row(
            f"decision round trip from the dashboard on the demo (POST the form, 303, the "
            f"page rendered with the new state; in-process, {len(seconds)} decisions; "
            f"{cpu_note()})",
            f"p95 {ms(p95(seconds))} median {ms(statistics.median(seconds))}",
            target="p95 < 300 ms",
        )
    finally:
        runtime.close()


def run(*, quick: bool) -> None:
    """Every row of this module."""
    sizes = QUICK if quick else FULL
    for k, n in enumerate(sizes.periods):
        size_rows(n, sizes.repeats, every_page=k == 0)
    round_trip_row(sizes.decisions)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.pages", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 initiatives, a few requests")
    parser.add_argument(
        "--n",
        type=int,
        action="append",
        help="period sizes instead of 1,000 and 10,000 (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.n:
        for k, n in enumerate(args.n):
            size_rows(n, (QUICK if args.quick else FULL).repeats, every_page=k == 0)
        return 0
    run(quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
