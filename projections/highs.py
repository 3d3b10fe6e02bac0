"""HiGHS behind the guarded optimum's port (`domain.optimize.guard.MilpSolver`, decision 158).

`highs_solver()` is the adapter, or None when `highspy` cannot be imported (the optimum is then
our own search alone, as before). The adapter solves the `GuardedModel` (one binary per open
unit: since decision 190 the core our root leaves open, the units it fixed in already netted
out of the bounds; the budget row, a row per guardrail, x_u <= x_q per prerequisite q;
maximise the value (divided by the largest, so values of many digits stay in HiGHS's range),
no relative gap, one thread, silent) and returns the chosen units, or None when HiGHS does not
prove an optimum. Its answer is an input to `guard`, which checks it exactly before use.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Collection

from domain.optimize.guard import GuardedModel, MilpSolver

TIME_LIMIT_S = 120.0  # HiGHS's own limit; past it the answer is None and our search finishes
_banner = threading.Lock()
_quiet: list[bool] = []


def _silence_banner() -> None:
    """HiGHS prints its banner to the process's stdout the first time a `Highs` is made, before
    any option can turn it off: make that first one with stdout on /dev/null (once)."""
    import highspy

    with _banner:
        if _quiet:
            return
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _quiet.append(True)


def _solve(model: GuardedModel) -> Collection[int] | None:
    import highspy
    import numpy as np

    units = model.units
    if not units:
        return ()
    column = {u: j for j, u in enumerate(units)}
    inf = highspy.kHighsInf
    rows: list[tuple[float, float, list[tuple[int, float]]]] = [
        (-inf, float(model.cap), [(column[u], float(model.cost[u])) for u in units])
    ]
    for row, lo, hi in zip(model.rows, model.low, model.high, strict=True):
        entries = [(column[u], float(row[u])) for u in units if row[u]]
        rows.append((-inf if lo is None else float(lo), inf if hi is None else float(hi), entries))
    upper = [1.0] * len(units)
    for u in units:
        for q in model.prereqs[u]:
            if q in column:
                rows.append((-inf, 0.0, [(column[u], 1.0), (column[q], -1.0)]))
            else:  # a prerequisite that is out keeps its dependant out
                upper[column[u]] = 0.0
    columns: list[list[tuple[int, float]]] = [[] for _ in units]
    for r, (_, _, entries) in enumerate(rows):
        for j, a in entries:
            columns[j].append((r, a))
    start, index, values = [0], [], []
    for col in columns:
        for r, a in col:
            index.append(r)
            values.append(a)
        start.append(len(index))
    lp = highspy.HighsLp()
    lp.num_col_ = len(units)
    lp.num_row_ = len(rows)
    top = max((abs(model.value[u]) for u in units), default=0) or 1
    # values are scaled integers (as many digits as the finest value): HiGHS sees them / top
    lp.col_cost_ = np.array([-(model.value[u] / top) for u in units])
    lp.col_lower_ = np.zeros(len(units))
    lp.col_upper_ = np.array(upper)
    lp.row_lower_ = np.array([r[0] for r in rows])
    lp.row_upper_ = np.array([r[1] for r in rows])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(start)
    lp.a_matrix_.index_ = np.array(index)
    lp.a_matrix_.value_ = np.array(values)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * len(units)
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", TIME_LIMIT_S)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return [units[j] for j, x in enumerate(h.getSolution().col_value) if x > 0.5]


def highs_solver() -> MilpSolver | None:
    """The HiGHS adapter, or None when `highspy` cannot be imported."""
    try:
        import highspy  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return None
    _silence_banner()
    return _solve
