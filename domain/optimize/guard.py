"""The exact optimum under guardrails: `optimal` with `GroupLimit`s.

Guardrails bound the selected cost of groups of items from below and above (at most a few: the
policy's per-kind, per-P&L or per-touchpoint shares, turned into amounts by the caller). The
problem is the one `exact` solves plus those rows, on the same prepared units (mandatory closure
fixed, cycles contracted, integer objective w = value * K - cost, so value first, then lower
cost, then the rank tie-break). Algorithm:
  0. Shortcut: the optimum without guardrails (`exact`) is the optimum with them when it meets
     them all (a relaxation's optimum that is feasible is optimal, tie-break included).
  1. Bounds are rounded to the steps a group's spend can take (the gcd of its units' costs),
     and a minimum that another group's maximum forbids is refused before any search.
  2. Otherwise `guarded._Guarded`: Lagrangian weights for the guardrails, the forest LP bound
     and tree fixing of `relax` over them, guarded fills polished by swaps, depth-first branch
     and bound (its docstring). Leaves meeting every guardrail are offered with the same rank
     tie-break as `exact`; nodes whose bound ties the incumbent are explored.
No selection meeting the guardrails: `InfeasibleGuardrails`, naming the guardrail that cannot be
met alone when there is one, else all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from math import gcd

from domain.optimize.exact import _prepared, _Problem
from domain.optimize.exact import optimal as _unguarded
from domain.optimize.guarded import _Guarded, _Rows
from domain.optimize.items import (
    GroupLimit,
    InfeasibleGuardrails,
    InfeasibleMandatory,
    OptimalResult,
    SelectionItem,
    _check_budget,
    _exponent,
    _from_int,
    _money,
    _to_int,
    _to_int_ceil,
)


def _rows(problem: _Problem, limits: Sequence[GroupLimit], scale: int) -> _Rows:
    items = problem.items
    rows = _Rows([], [], [])
    factor = 10 ** (scale - problem.cost_scale)
    cost = [_to_int(it.cost, problem.cost_scale) * factor for it in items]
    for g in limits:
        member = [it.key in g.keys for it in items]
        rows.a.append([sum(cost[i] for i in m if member[i]) for m in problem.members])
        fixed = sum(cost[i] for i in problem.mandatory if member[i])
        rows.low.append(None if g.minimum is None else _to_int_ceil(g.minimum, scale) - fixed)
        rows.high.append(None if g.maximum is None else _to_int(g.maximum, scale) - fixed)
    return rows


def _meets_all(
    items: Sequence[SelectionItem], keys: Sequence[str], guardrails: Sequence[GroupLimit]
) -> bool:
    """Whether a selection meets every guardrail (exact Decimal sums)."""
    cost = {it.key: it.cost for it in items}
    for g in guardrails:
        spend = sum((cost[k] for k in keys if k in g.keys), Decimal(0))
        if (g.minimum is not None and spend < g.minimum) or (
            g.maximum is not None and spend > g.maximum
        ):
            return False
    return True


def _tighten(problem: _Problem, rows: _Rows, cap: int) -> None:
    """Round every bound to the steps a group's spend can take (the gcd of its units' costs)."""
    free = [u for u in range(len(problem.members)) if problem.closure_cost[u] <= cap]
    for g, row in enumerate(rows.a):
        step = 0
        for u in free:
            if row[u]:
                step = gcd(step, row[u])
        if not step:
            continue
        lo, hi = rows.low[g], rows.high[g]
        if lo is not None and lo > 0:
            rows.low[g] = -(-lo // step) * step
        if hi is not None:
            rows.high[g] = hi // step * step


def _conflict(
    problem: _Problem, rows: _Rows, cap: int, limits: Sequence[GroupLimit], scale: int
) -> InfeasibleGuardrails:
    """The clearest reason no selection meets the guardrails."""
    free = [u for u in range(len(problem.members)) if problem.closure_cost[u] <= cap]

    def money(n: int) -> str:
        return _money(_from_int(n, scale))

    factor = 10 ** (scale - problem.cost_scale)
    for g, limit in enumerate(limits):
        hi, lo = rows.high[g], rows.low[g]
        if hi is not None and hi < 0:
            return InfeasibleGuardrails(
                f"guardrail {limit.name}: the mandatory items alone pass its maximum "
                f"{_money(limit.maximum or Decimal(0))}",
                (limit.name,),
            )
        if lo is not None:
            reach = sum(rows.a[g][u] for u in free)
            if reach < lo or lo > cap * factor:
                return InfeasibleGuardrails(
                    f"guardrail {limit.name}: its minimum {_money(limit.minimum or Decimal(0))} "
                    f"cannot be reached (the candidates in it that fit cost "
                    f"{money(min(reach, cap * factor))} in all)",
                    (limit.name,),
                )
    names = tuple(g.name for g in limits)
    return InfeasibleGuardrails(
        f"guardrails {', '.join(names)} cannot all be met together within the budget", names
    )


def optimal(
    items: Sequence[SelectionItem],
    budget: Decimal,
    *,
    already_funded: frozenset[str] = frozenset(),
    guardrails: Sequence[GroupLimit] = (),
) -> OptimalResult:
    """Exact value-maximising selection within the budget and the guardrails."""
    if not guardrails:
        return _unguarded(items, budget, already_funded=already_funded)
    _check_budget(budget)
    problem = _prepared(items, already_funded)
    bounds = [b for g in guardrails for b in (g.minimum, g.maximum) if b is not None]
    scale = (
        max(problem.cost_scale, *(-_exponent(b) for b in bounds)) if bounds else problem.cost_scale
    )
    budget_int = _to_int(budget, problem.cost_scale)
    cap = budget_int - problem.mandatory_cost
    if cap < 0:
        keys = ", ".join(problem.items[i].key for i in problem.mandatory)
        raise InfeasibleMandatory(
            f"mandatory items {keys} cost "
            f"{_money(_from_int(problem.mandatory_cost, problem.cost_scale))}, "
            f"more than the budget {_money(budget)}"
        )
    rows = _rows(problem, guardrails, scale)
    if scale != problem.cost_scale:  # rows finer than costs: compare costs at the finer scale
        factor = 10 ** (scale - problem.cost_scale)
        rows.a = [[x // factor for x in row] for row in rows.a]
        rows.low = [None if x is None else -((-x) // factor) for x in rows.low]
        rows.high = [None if x is None else x // factor for x in rows.high]
        scale = problem.cost_scale
    if any(hi is not None and hi < 0 for hi in rows.high):
        raise _conflict(problem, rows, cap, guardrails, scale)
    _tighten(problem, rows, cap)
    plain = problem.solve(budget)  # the optimum without guardrails, when it meets them all
    if _meets_all(items, plain.keys, guardrails):
        return plain
    solver = _Guarded(problem, rows, cap)
    pair = solver.pair_conflict([], solver.free)
    if pair is not None:
        first, second = guardrails[pair[0]], guardrails[pair[1]]
        raise InfeasibleGuardrails(
            f"guardrail {first.name}: its minimum {_money(first.minimum or Decimal(0))} "
            f"cannot be met under guardrail {second.name}'s maximum "
            f"{_money(second.maximum or Decimal(0))}",
            (first.name, second.name),
        )
    solver.solve()
    if solver.best is None:
        raise _conflict(problem, rows, cap, guardrails, scale)
    return problem._result(budget, solver.best_units)
