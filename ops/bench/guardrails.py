"""The exact optimum under three guardrails against HiGHS, in the same run.

`python -m ops.bench.guardrails [--n N ...] [--seed S] [--limit SECONDS]` prints, per size and
per shape (guardrails not binding at the optimum, and binding: a cross-P&L minimum that forces
in lower-value work and a retail maximum that cuts), our time, HiGHS's time (the ceiling,
measured on the same instance in the same run), the ratio and whether the optimum values agree;
the binding shape once more as "binding with the HiGHS port": `optimal` given the HiGHS adapter
(`projections.highs`), which is asked, once our root is settled, the core the root leaves open
and is checked exactly (decisions 158, 190), against the same HiGHS ceiling as the binding row.
Times are CPU seconds (`time.process_time`) of each child process: ours for the whole
`optimal` call, HiGHS's for its `run()` on the full model (one thread), so other sessions' load
on a shared machine inflates them less than wall time (decision 192).
`ops/bench/run` prints the same rows (`rows`). HiGHS (`highspy`, a runtime dependency since
decision 158) is the independent MILP solver; the tests use the same model (`highs_optimum`)
as their oracle. Each solve runs in a child process stopped after `--limit` seconds (wall
time), so a row that does not finish says so instead of holding the run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.optimize import GroupLimit, SelectionItem, optimal
from ops.bench.optimizer import instance

KINDS = ("pnl", "cross_pnl", "infrastructure")
PNLS = ("retail", "business", "wealth", "digital")
SHAPES = ("not binding", "binding", "binding with the HiGHS port")
QUICK_N = (200,)
FULL_N = (1_000, 10_000)
QUICK_LIMIT_S = 60.0
FULL_LIMIT_S = 300.0


def guardrails_for(items: Sequence[SelectionItem], budget: Decimal, seed: int) -> list[GroupLimit]:
    """Three guardrails over a reproducible labelling of the items: a minimum share for
    cross-P&L plus infrastructure work, a maximum share for one P&L, a band for another."""
    rng = random.Random(seed * 7919 + 1)
    kind = {it.key: rng.choice(KINDS) for it in items}
    pnl = {it.key: rng.choice(PNLS) for it in items}
    cross = frozenset(k for k, v in kind.items() if v != "pnl")
    retail = frozenset(k for k, v in pnl.items() if v == "retail")
    digital = frozenset(k for k, v in pnl.items() if v == "digital")
    share = budget / 100
    return [
        GroupLimit("kind in cross_pnl, infrastructure", cross, minimum=share * 40),
        GroupLimit("pnl retail", retail, maximum=share * 30),
        GroupLimit("pnl digital", digital, minimum=share * 15, maximum=share * 35),
    ]


def binding_for(items: Sequence[SelectionItem], budget: Decimal, seed: int) -> list[GroupLimit]:
    """The same three groups with guardrails that bind at the optimum: cross-P&L plus
    infrastructure work at least 60% of the budget, retail at most 25%, digital 15-35%."""
    cross, retail, digital = guardrails_for(items, budget, seed)
    share = budget / 100
    return [
        GroupLimit(cross.name, cross.keys, minimum=share * 60),
        GroupLimit(retail.name, retail.keys, maximum=share * 25),
        digital,
    ]


def highs_optimum(
    items: Sequence[SelectionItem],
    budget: Decimal,
    guardrails: Sequence[GroupLimit],
    *,
    already_funded: frozenset[str] = frozenset(),
    time_limit: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[Decimal | None, float]:
    """HiGHS's optimum value (None when infeasible) and its solve time in seconds (`clock`'s:
    wall time unless told).

    The model: one binary per item; the budget row; a row per guardrail bound; x_i <= x_j per
    dependency; mandatory items fixed at 1; an item needing a key that is neither listed nor
    already funded fixed at 0. Maximise the value, with no relative gap.
    """
    import highspy  # imported only when measuring
    import numpy as np

    n = len(items)
    index = {it.key: i for i, it in enumerate(items)}
    unit = min((it.cost for it in items), default=Decimal(1))
    scale = Decimal(1) / unit if unit < 1 else Decimal(1)
    cost = [float(it.cost * scale) for it in items]
    lower = [1.0 if it.mandatory else 0.0 for it in items]
    upper = [1.0] * n
    inf = highspy.kHighsInf
    rows: list[tuple[float, float, list[tuple[int, float]]]] = [
        (-inf, float(budget * scale), [(i, cost[i]) for i in range(n)])
    ]
    for g in guardrails:
        members = [(i, cost[i]) for i, it in enumerate(items) if it.key in g.keys]
        lo = -inf if g.minimum is None else float(g.minimum * scale)
        hi = inf if g.maximum is None else float(g.maximum * scale)
        rows.append((lo, hi, members))
    for i, it in enumerate(items):
        for req in it.requires:
            if req in already_funded:
                continue
            if req in index:
                rows.append((-inf, 0.0, [(i, 1.0), (index[req], -1.0)]))
            else:
                upper[i] = 0.0
    columns: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for r, (_, _, entries) in enumerate(rows):
        for i, a in entries:
            columns[i].append((r, a))
    start, row_index, values = [0], [], []
    for col in columns:
        for r, a in col:
            row_index.append(r)
            values.append(a)
        start.append(len(row_index))
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = np.array([-float(it.value) for it in items])
    lp.col_lower_ = np.array(lower)
    lp.col_upper_ = np.array(upper)
    lp.row_lower_ = np.array([r[0] for r in rows])
    lp.row_upper_ = np.array([r[1] for r in rows])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(start)
    lp.a_matrix_.index_ = np.array(row_index)
    lp.a_matrix_.value_ = np.array(values)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("threads", 1)
    if any(lower[i] > upper[i] for i in range(n)):
        return None, 0.0
    if time_limit is not None:
        h.setOptionValue("time_limit", time_limit)
    h.passModel(lp)
    started = clock()
    h.run()
    seconds = clock() - started
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, seconds
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS stopped with {status}")
    chosen = [i for i, x in enumerate(h.getSolution().col_value) if x > 0.5]
    return sum((items[i].value for i in chosen), Decimal(0)), seconds


@dataclass(frozen=True)
class Row:
    """One measured row: None for a solve stopped at the limit."""

    n: int
    shape: str
    ours_s: float | None
    ours_value: Decimal | None
    highs_s: float | None
    highs_value: Decimal | None
    limit_s: float

    @property
    def equal(self) -> bool:
        return (
            self.ours_value is not None
            and self.highs_value is not None
            and abs(self.ours_value - self.highs_value) <= Decimal("1e-6")
        )

    @property
    def ratio(self) -> float | None:
        if self.ours_s is None or self.highs_s is None or self.highs_s <= 0:
            return None
        return self.ours_s / self.highs_s


def _ours(n: int, seed: int, shape: str) -> tuple[float, Decimal]:
    from projections.highs import highs_solver

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # this child only: HiGHS prints its banner to stdout before `silent()`
    items, budget = instance(n, seed)
    limits = (binding_for if shape.startswith("binding") else guardrails_for)(items, budget, seed)
    solver = highs_solver() if shape.endswith("port") else None
    started = time.process_time()
    result = optimal(items, budget, guardrails=limits, solver=solver)
    return time.process_time() - started, result.total_value


def _highs(n: int, seed: int, shape: str) -> tuple[float, Decimal | None]:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # this child only: HiGHS prints its banner to stdout before `silent()`
    items, budget = instance(n, seed)
    limits = (binding_for if shape.startswith("binding") else guardrails_for)(items, budget, seed)
    value, seconds = highs_optimum(items, budget, limits, clock=time.process_time)
    return seconds, value


def _child(run: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
    out.send(run(*args))


def _limited(run: Callable[..., Any], args: tuple[Any, ...], limit_s: float) -> Any:
    """`run(*args)` in a child process; None when it has not answered within `limit_s`."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(run, args, send), daemon=True)
    child.start()
    try:
        answer = receive.recv() if receive.poll(limit_s) else None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
    return answer


def rows(sizes: Sequence[int], *, seed: int = 7, limit_s: float = FULL_LIMIT_S) -> list[Row]:
    """Ours and HiGHS on the same instance, each in its own child process, per size and shape
    (the port's row shares the binding row's HiGHS run)."""
    measured = []
    for n in sizes:
        highs = None
        for shape in SHAPES:
            ours = _limited(_ours, (n, seed, shape), limit_s)
            if not shape.endswith("port"):
                highs = _limited(_highs, (n, seed, shape), limit_s)
            measured.append(
                Row(
                    n,
                    shape,
                    None if ours is None else ours[0],
                    None if ours is None else ours[1],
                    None if highs is None else highs[0],
                    None if highs is None else highs[1],
                    limit_s,
                )
            )
    return measured


def seconds(figure: float | None, limit_s: float) -> str:
    return f"> {limit_s:.0f} s (stopped)" if figure is None else f"{figure:.3f} s"


def main(argv: list[str] | None = None) -> int:
    """Print one row per size and shape: ours, HiGHS (ceiling), ratio, equal optimum."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=list(FULL_N))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--limit", type=float, default=FULL_LIMIT_S, help="seconds before a solve is stopped"
    )
    args = parser.parse_args(argv)
    print("guardrails: exact optimum with three guardrails vs HiGHS (ceiling, same run)")
    ok = True
    for r in rows(args.n, seed=args.seed, limit_s=args.limit):
        ok = ok and r.equal
        shown = "--" if r.ratio is None else f"{r.ratio:6.3f}"
        print(
            f"  n={r.n:>6} {r.shape:<27}  ours {seconds(r.ours_s, r.limit_s)}  "
            f"HiGHS {seconds(r.highs_s, r.limit_s)}  ratio {shown}  "
            f"{'equal optimum' if r.equal else 'NOT COMPARED OR DIFFERENT'} "
            f"({r.ours_value} vs {r.highs_value})",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
