"""The exact optimum under guardrails: `optimal` with `GroupLimit`s.

Guardrails bound the selected cost of groups of items from below and above (at most a few: the
policy's per-kind, per-P&L or per-touchpoint shares, turned into amounts by the caller). The
problem is the one `exact` solves plus those rows, on the same prepared units (mandatory closure
fixed, cycles contracted, integer objective w = value * K - cost, so value first, then lower
cost, then the rank tie-break). Algorithm:
  0. Shortcut: the optimum without guardrails (`exact`) is the optimum with them when it meets
     them all (a relaxation's optimum that is feasible is optimal, tie-break included).
  1. Bounds are rounded to the steps a group's spend can take (the gcd of its units' costs),
     and a minimum that another group's maximum forbids, or a band that no subset of its
     group's units spends in (`_unreachable`, decision 193), is refused before any search.
  2. Otherwise `guarded._Guarded`: Lagrangian weights for the guardrails, the forest LP bound
     and tree fixing of `relax` over them, guarded fills polished by swaps, depth-first branch
     and bound (its docstring). Leaves meeting every guardrail are offered with the same rank
     tie-break as `exact`; nodes whose bound ties the incumbent are explored.
  3. The port (decisions 158, 190): given a `MilpSolver` (the composition root's HiGHS
     adapter, `projections.highs`), our search stops once its root is settled (`NODE_LIMIT`
     nodes after the root: none) and the solver is asked the problem left open by the root
     (`GuardedModel`, integers): the core units, the units the root fixed in netted out of the
     budget and the rows, the units it fixed out left out. That is exact because the root fixes
     a unit only when the Lagrangian bound of every selection meeting the guardrails with the
     other setting is strictly below an incumbent's objective (a selection that exists): every
     optimum, ties included, keeps every fixing, so the core's optimum is the whole problem's
     (`guarded`'s docstring, step 2, gives the bound). Its answer is used only when it passes
     our exact check (`_accepted`: open units, with the fixed ones every prerequisite in, the
     budget and every guardrail row in integers, an objective recomputed in integers no lower
     than our incumbent's, then the selection's items again in Decimal: budget, mandates,
     dependencies, guardrails); otherwise, or when the solver gives no answer, our search
     runs to the end as without a solver.
No selection meeting the guardrails: `InfeasibleGuardrails`, naming the guardrail that cannot be
met alone when there is one, else all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from math import gcd
from typing import Protocol

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

NODE_LIMIT = 0  # nodes after our root before a given MILP solver is asked (decisions 158, 191)


@dataclass(frozen=True)
class GuardedModel:
    """The guarded problem as a MILP solver is asked it, in integers: choose a subset of
    `units` (one binary each) maximising the sum of `value`, with every unit's `prereqs` chosen
    too, the sum of `cost` at most `cap`, and every row's sum within `low`/`high` (None: no
    bound). The lists run over all units; units not in `units` are out, except `fixed`: units
    already in (fixed by our root, decision 190), whose cost and row spend are already taken
    out of `cap`, `low` and `high` and which no unit's `prereqs` name. The answer is the units
    of `units` to choose; the selection is those and `fixed`."""

    units: tuple[int, ...]
    value: tuple[int, ...]
    cost: tuple[int, ...]
    cap: int
    rows: tuple[tuple[int, ...], ...]
    low: tuple[int | None, ...]
    high: tuple[int | None, ...]
    prereqs: tuple[tuple[int, ...], ...]
    fixed: tuple[int, ...] = ()


class MilpSolver(Protocol):
    """A MILP solver behind the port: the units of an optimal selection, or None (no answer:
    infeasible, stopped or failed). Its answer is checked, never trusted."""

    def __call__(self, model: GuardedModel) -> Collection[int] | None: ...


def _model(
    problem: _Problem, rows: _Rows, cap: int, units: Sequence[int], fixed: Sequence[int] = ()
) -> GuardedModel:
    """The model over the open `units`, with the `fixed` units in and netted out."""
    inside = frozenset(fixed)
    spend = [sum(row[u] for u in fixed) for row in rows.a]
    return GuardedModel(
        units=tuple(sorted(units)),
        value=tuple(problem.value),
        cost=tuple(problem.cost),
        cap=cap - sum(problem.cost[u] for u in fixed),
        rows=tuple(tuple(row) for row in rows.a),
        low=tuple(None if lo is None else lo - s for lo, s in zip(rows.low, spend, strict=True)),
        high=tuple(None if hi is None else hi - s for hi, s in zip(rows.high, spend, strict=True)),
        prereqs=tuple(
            tuple(q for q in p if q not in inside) if inside else tuple(p) for p in problem.prereqs
        ),
        fixed=tuple(sorted(fixed)),
    )


def _accepted(
    problem: _Problem,
    rows: _Rows,
    cap: int,
    model: GuardedModel,
    answer: Collection[int] | None,
    incumbent: int | None,
) -> frozenset[int] | None:
    """The selection (the solver's units and the model's fixed ones) when it passes the exact
    check in integers against the problem's own budget, rows and prerequisites, else None."""
    if answer is None:
        return None
    chosen = frozenset(answer)
    if not chosen <= frozenset(model.units):
        return None
    units = chosen | frozenset(model.fixed)
    if any(q not in units for u in units for q in problem.prereqs[u]):
        return None
    if sum(problem.cost[u] for u in units) > cap:
        return None
    for row, lo, hi in zip(rows.a, rows.low, rows.high, strict=True):
        spend = sum(row[u] for u in units)
        if (lo is not None and spend < lo) or (hi is not None and spend > hi):
            return None
    objective = sum(problem.w[u] for u in units)
    if incumbent is not None and objective < incumbent:  # we know better: not an optimum
        return None
    return units


def _valid(
    items: Sequence[SelectionItem],
    budget: Decimal,
    already_funded: frozenset[str],
    guardrails: Sequence[GroupLimit],
    result: OptimalResult,
) -> bool:
    """The selection checked again on its items in Decimal: budget, mandates, dependencies,
    guardrails."""
    keys = set(result.keys)
    by_key = {it.key: it for it in items}
    if sum((by_key[k].cost for k in keys), Decimal(0)) > budget:
        return False
    if any(it.mandatory and it.key not in keys for it in items):
        return False
    if any(r not in keys and r not in already_funded for k in keys for r in by_key[k].requires):
        return False
    return _meets_all(items, result.keys, guardrails)


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


_REACH_BITS = 1 << 18  # largest window (in spend steps) the subset-sum check works over


def _unreachable(problem: _Problem, rows: _Rows, cap: int) -> int | None:
    """A guardrail whose band no subset of its open units' spends falls in, or None.

    A group's spend is a sum of some of its units' row entries whatever the dependencies, so
    the subset sums of those entries (a bitset, in steps of their gcd, up to the band's top or
    the budget) contain every spend a selection can have; a band that holds none of them
    cannot be met (decision 193). Groups whose window is wider than `_REACH_BITS` steps are
    not checked (the search then proves it, slowly)."""
    free = [u for u in range(len(problem.members)) if problem.closure_cost[u] <= cap]
    for g, row in enumerate(rows.a):
        lo, hi = rows.low[g], rows.high[g]
        if lo is None or lo <= 0:
            continue
        top = cap if hi is None else min(hi, cap)
        if top < lo:
            return g
        entries = [row[u] for u in free if 0 < row[u] <= top]
        if not entries:  # only 0 is reachable, below the minimum
            return g
        step = 0
        for x in entries:
            step = gcd(step, x)
        if top // step > _REACH_BITS:
            continue
        width = top // step + 1
        mask = (1 << width) - 1
        reach = 1
        for x in entries:
            reach = (reach | (reach << (x // step))) & mask
        if not reach >> -(-lo // step):  # no reachable sum from lo up to top
            return g
    return None


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
    solver: MilpSolver | None = None,
) -> OptimalResult:
    """Exact value-maximising selection within the budget and the guardrails; `solver`, when
    given, answers the core our root leaves open once the search passes `NODE_LIMIT` nodes
    after the root (checked)."""
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
    stuck = _unreachable(problem, rows, cap)
    if stuck is not None:
        limit = guardrails[stuck]
        if limit.maximum is None:
            raise _conflict(problem, rows, cap, guardrails, scale)
        raise InfeasibleGuardrails(
            f"guardrail {limit.name}: no combination of the candidates in it spends between "
            f"its minimum {_money(limit.minimum or Decimal(0))} and its maximum "
            f"{_money(limit.maximum)} within the budget",
            (limit.name,),
        )
    search = _Guarded(problem, rows, cap)
    pair = search.pair_conflict([], search.free)
    if pair is not None:
        first, second = guardrails[pair[0]], guardrails[pair[1]]
        raise InfeasibleGuardrails(
            f"guardrail {first.name}: its minimum {_money(first.minimum or Decimal(0))} "
            f"cannot be met under guardrail {second.name}'s maximum "
            f"{_money(second.maximum or Decimal(0))}",
            (first.name, second.name),
        )
    if solver is not None:
        search.limit = NODE_LIMIT
    search.solve()
    if search.stopped:
        assert solver is not None and search.root_core is not None
        model = _model(problem, rows, cap, search.root_core, search.root_in)
        units = _accepted(problem, rows, cap, model, solver(model), search.best)
        if units is not None:
            answer = problem._result(budget, units)
            if _valid(items, budget, already_funded, guardrails, answer):
                return answer
        seeded = search.best, search.best_units
        search = _Guarded(problem, rows, cap)  # the answer failed the check: our search
        if seeded[0] is not None:
            search.best, search.best_units = seeded
        search.solve()
    if search.best is None:
        raise _conflict(problem, rows, cap, guardrails, scale)
    return problem._result(budget, search.best_units)
