"""The efficient frontier: the exact optimum at evenly spaced budget levels.

`frontier` reuses the prepared problem and solves the optimum at evenly spaced budget levels.
With guardrails every level is solved exactly under them (`guard.optimal`; the guardrails'
amounts stay as given; a given MILP `solver` answers as in `guard`) and a level at which they
cannot be met is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from domain.optimize.exact import _prepared
from domain.optimize.guard import MilpSolver, optimal
from domain.optimize.items import (
    FrontierPoint,
    GroupLimit,
    InfeasibleGuardrails,
    InfeasibleMandatory,
    SelectionItem,
    _exponent,
    _from_int,
    _money,
)


def frontier(
    items: Sequence[SelectionItem],
    *,
    points: int = 20,
    budget_max: Decimal | None = None,
    already_funded: frozenset[str] = frozenset(),
    guardrails: Sequence[GroupLimit] = (),
    solver: MilpSolver | None = None,
) -> list[FrontierPoint]:
    """Optimal value at `points` budget levels evenly spaced from the mandatory cost to the max."""
    if points < 2:
        raise ValueError("a frontier needs at least 2 points")
    problem = _prepared(items, already_funded)
    start = _from_int(problem.mandatory_cost, problem.cost_scale)
    end = sum((it.cost for it in items), Decimal(0)) if budget_max is None else budget_max
    if end < start:
        raise InfeasibleMandatory(
            f"mandatory items cost {_money(start)}, more than the budget {_money(end)}"
        )
    step = (end - start) / (points - 1)
    levels = [start] + [start + step * k for k in range(1, points - 1)] + [end]
    cent = Decimal("0.01")
    result: list[FrontierPoint] = []
    for raw in levels:
        level = raw
        if level != end and _exponent(level) < -2:
            level = level.quantize(cent, rounding=ROUND_FLOOR)
        if guardrails:
            try:
                best = optimal(
                    items,
                    level,
                    already_funded=already_funded,
                    guardrails=guardrails,
                    solver=solver,
                )
            except InfeasibleGuardrails:
                continue
        else:
            best = problem.solve(level)
        result.append(FrontierPoint(level, best.total_value, best.total_cost, best.keys))
    return result
