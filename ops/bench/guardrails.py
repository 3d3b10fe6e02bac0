"""The exact optimum under three guardrails against HiGHS, in the same run.

`python -m ops.bench.guardrails [--n N ...] [--seed S]` prints, per size, our time, HiGHS's time
(the ceiling, measured on the same instance in the same run), the ratio and whether the optimum
values agree. HiGHS (`highspy`, a dev dependency) is the independent MILP solver; the tests use
the same model (`highs_optimum`) as their oracle.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from decimal import Decimal

from domain.optimize import GroupLimit, SelectionItem, optimal
from ops.bench.optimizer import instance

KINDS = ("pnl", "cross_pnl", "infrastructure")
PNLS = ("retail", "business", "wealth", "digital")


def guardrails_for(items: Sequence[SelectionItem], budget: Decimal,
                   seed: int) -> list[GroupLimit]:
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


def highs_optimum(
    items: Sequence[SelectionItem],
    budget: Decimal,
    guardrails: Sequence[GroupLimit],
    *,
    already_funded: frozenset[str] = frozenset(),
    time_limit: float | None = None,
) -> tuple[Decimal | None, float]:
    """HiGHS's optimum value (None when infeasible) and its solve time in seconds.

    The model: one binary per item; the budget row; a row per guardrail bound; x_i <= x_j per
    dependency; mandatory items fixed at 1; an item needing a key that is neither listed nor
    already funded fixed at 0. Maximise the value, with no relative gap.
    """
    import highspy  # a dev dependency: imported only when measuring
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
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, seconds
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS stopped with {status}")
    chosen = [i for i, x in enumerate(h.getSolution().col_value) if x > 0.5]
    return sum((items[i].value for i in chosen), Decimal(0)), seconds


def main(argv: list[str] | None = None) -> int:
    """Print one row per size: ours, HiGHS (ceiling), ratio, equal optimum."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print("guardrails: exact optimum with three guardrails vs HiGHS (ceiling, same run)")
    ok = True
    for n in args.n:
        items, budget = instance(n, args.seed)
        limits = guardrails_for(items, budget, args.seed)
        started = time.perf_counter()
        ours = optimal(items, budget, guardrails=limits)
        mine = time.perf_counter() - started
        value, ceiling = highs_optimum(items, budget, limits)
        same = value is not None and abs(value - ours.total_value) <= Decimal("1e-6")
        ok = ok and same
        print(f"  n={n:>6}  ours {mine:8.3f} s  HiGHS {ceiling:8.3f} s  "
              f"ratio {mine / ceiling:6.3f}  {'equal optimum' if same else 'DIFFERENT'} "
              f"({ours.total_value:.6f} vs {value})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
