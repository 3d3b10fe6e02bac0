"""The exact optimum under guardrails: `optimal` with `GroupLimit`s.

Guardrails bound the selected cost of groups of items from below and above (at most a few: the
policy's per-kind, per-P&L or per-touchpoint shares, turned into amounts by the caller). The
problem is the one `exact` solves plus those rows, on the same prepared units (mandatory closure
fixed, cycles contracted, integer objective w = value * K - cost, so value first, then lower
cost, then the rank tie-break). Algorithm:
  0. Shortcut: the optimum without guardrails (`exact`) is the optimum with them when it meets
     them all (a relaxation's optimum that is feasible is optimal, tie-break included).
  1. Multipliers. The LP relaxation without dependencies has one multiplier per guardrail
     (nu_g, >= 0 for a minimum, <= 0 for a maximum) and one for the budget. Units with the same
     group shares form a cell whose ratios all shift by the same amount, so after one sort per
     cell the dual is evaluated in O(cells log n); a pattern search in floats picks nu. Floats
     only pick multipliers: any multipliers give a valid bound, and everything below is exact
     integer arithmetic with nu = N / 2**40.
  2. Weights W_u = 2**40 * w_u + sum_g N_g * a_gu (a_gu: the unit's cost in group g). For every
     selection meeting the guardrails, 2**40 * sum w <= sum W - sum_g N_g * (L_g or U_g), so the
     Dantzig bound over W (fill in exact ratio order, the break unit fractional) bounds it.
  3. Incumbent: the guarded fill (minimums first, then what fits under the maximums) in the W
     ratio order and in rank order; the better feasible one.
  4. Reduced-cost fixing with the root's break ratio: a unit whose forced opposite would bring
     the Lagrangian bound below the incumbent is fixed (kept when it only ties), with its
     prerequisites (in) or dependants (out).
  5. Depth-first branch and bound over the rest (the core) in ratio order: in (with all its
     prerequisites) or out (with all its dependants), pruning on the Dantzig bound, the budget,
     every maximum and every minimum's reachability; leaves meeting every guardrail are offered
     with the same rank tie-break as `exact`. Nodes whose bound ties the incumbent are explored.
No selection meeting the guardrails: `InfeasibleGuardrails`, naming the guardrail that cannot be
met alone when there is one, else all of them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product
from math import gcd

from domain.optimize.exact import _prepared, _Problem
from domain.optimize.exact import optimal as _unguarded
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

_SHIFT = 40  # nu = N / 2**_SHIFT
_EVALS = 240  # dual evaluations of the pattern search
_BISECTIONS = 36  # of the budget multiplier per evaluation


@dataclass
class _Rows:
    """The guardrail rows over units, net of the mandatory items."""

    a: list[list[int]]  # a[g][u]
    low: list[int | None]
    high: list[int | None]


def _rows(problem: _Problem, limits: Sequence[GroupLimit], scale: int) -> _Rows:
    items = problem.items
    rows = _Rows([], [], [])
    factor = 10 ** (scale - problem.cost_scale)
    for g in limits:
        member = [it.key in g.keys for it in items]
        cost = [_to_int(it.cost, problem.cost_scale) * factor for it in items]
        rows.a.append([sum(cost[i] for i in m if member[i]) for m in problem.members])
        fixed = sum(cost[i] for i in problem.mandatory if member[i])
        rows.low.append(None if g.minimum is None else _to_int_ceil(g.minimum, scale) - fixed)
        rows.high.append(None if g.maximum is None else _to_int(g.maximum, scale) - fixed)
    return rows


class _Cells:
    """Units grouped by their group shares; the dual of the LP without dependencies."""

    def __init__(self, units: list[int], w: list[int], c: list[int], rows: _Rows,
                 cap: int) -> None:
        by_shares: dict[tuple[float, ...], list[int]] = {}
        for u in units:
            by_shares.setdefault(tuple(a[u] / c[u] for a in rows.a), []).append(u)
        self.cap = float(cap)
        self.low, self.high = rows.low, rows.high
        self.cells: list[tuple[tuple[float, ...], list[float], list[float], list[float]]] = []
        self.small: list[list[tuple[float, float]]] | None = [] if len(units) <= 2000 else None
        top = 0.0
        for shares, members in by_shares.items():
            ratios = sorted(((w[u] / c[u], c[u]) for u in members), reverse=True)
            neg = [-r for r, _ in ratios]  # ascending, for bisect
            pc, pw = [0.0], [0.0]
            for r, cu in ratios:
                pc.append(pc[-1] + cu)
                pw.append(pw[-1] + r * cu)
            self.cells.append((shares, neg, pc, pw))
            if self.small is not None:
                self.small.append([(r, float(cu)) for r, cu in ratios])
            top = max(top, *(abs(r) for r, _ in ratios))
        self.scale = top or 1.0

    def _at(self, lam: float, shifts: list[float]) -> tuple[float, float]:
        """(LP value at lam, capacity used) for the cells, each shifted by its nu share."""
        value = used = 0.0
        for (_, neg, pc, pw), shift in zip(self.cells, shifts, strict=True):
            theta = lam - shift
            k = bisect_left(neg, -theta)  # ratios > theta
            value += pw[k] - theta * pc[k]
            used += pc[k]
        return value, used

    def dual(self, nu: Sequence[float]) -> float:
        """min over lam >= 0 of the Lagrangian bound (bisection on lam)."""
        penalty = 0.0
        for n, lo, hi in zip(nu, self.low, self.high, strict=True):
            bound = lo if n >= 0 else hi
            penalty += n * (bound or 0)
        shifts = [sum(n * s for n, s in zip(nu, cell[0], strict=True)) for cell in self.cells]
        if self.small is not None:  # exact: the break ratio of the shifted ratios
            ratios = sorted(
                ((r + shifts[k], cu) for k, cell in enumerate(self.small) for r, cu in cell),
                reverse=True,
            )
            room, total = self.cap, 0.0
            for r, cu in ratios:
                if r <= 0:
                    break
                if cu > room:
                    return total + r * room - penalty
                room -= cu
                total += r * cu
            return total - penalty
        value, used = self._at(0.0, shifts)
        if used <= self.cap:
            return value - penalty
        lo_l, hi_l = 0.0, self.scale + sum(abs(n) for n in nu) + 1.0
        for _ in range(_BISECTIONS):
            mid = (lo_l + hi_l) / 2
            if self._at(mid, shifts)[1] > self.cap:
                lo_l = mid
            else:
                hi_l = mid
        best = min(self._at(x, shifts)[0] + x * self.cap for x in (lo_l, hi_l))
        return best - penalty

    def allowed(self, nu: Sequence[float]) -> bool:
        return all(
            (n <= 0 or lo is not None) and (n >= 0 or hi is not None)
            for n, lo, hi in zip(nu, self.low, self.high, strict=True)
        )

    def search(self) -> list[float]:
        """Pattern search for multipliers with a low dual bound."""
        k = len(self.low)
        nu = [0.0] * k
        best = self.dual(nu)
        directions = [d for d in product((-1, 0, 1), repeat=k) if any(d)]
        step, evals = self.scale, 1
        while evals < _EVALS and step > self.scale * 1e-7:
            moved = False
            for d in directions:
                trial = [n + step * x for n, x in zip(nu, d, strict=True)]
                if not self.allowed(trial):
                    continue
                value = self.dual(trial)
                evals += 1
                if value < best:
                    best, nu, moved = value, trial, True
                    break
            if not moved:
                step /= 2
        return nu


class _Guarded:
    """One guarded solve: the prepared problem, the rows, the weights and the search."""

    def __init__(self, problem: _Problem, rows: _Rows, cap: int) -> None:
        self.p, self.rows, self.cap = problem, rows, cap
        n = len(problem.members)
        self.state = [0 if problem.closure_cost[u] <= cap else -1 for u in range(n)]
        self.free = [u for u in range(n) if self.state[u] == 0]
        self.best: int | None = None
        self.best_units: frozenset[int] = frozenset()
        # pairs (minimum g, maximum h): g's spend <= h's spend + g's spend outside h
        a = rows.a
        self.pairs = [
            (g, h, [min(a[g][u], problem.cost[u] - a[h][u]) for u in range(n)])
            for g in range(len(a)) if rows.low[g] is not None
            for h in range(len(a)) if h != g and rows.high[h] is not None
        ]

    def pair_conflict(
        self, fixed_in: Sequence[int], open_units: Sequence[int]
    ) -> tuple[int, int] | None:
        """A (minimum, maximum) pair that cannot both hold given the fixed and open units."""
        low, high = self.rows.low, self.rows.high
        for g, h, outside in self.pairs:
            lo, hi = low[g], high[h]
            assert lo is not None and hi is not None
            extra = sum(outside[u] for u in fixed_in) + sum(outside[u] for u in open_units)
            if lo > hi + extra:
                return g, h
        return None

    # -- feasibility helpers ------------------------------------------------------------

    def _meets(self, spend: list[int]) -> bool:
        return all(
            (lo is None or s >= lo) and (hi is None or s <= hi)
            for s, lo, hi in zip(spend, self.rows.low, self.rows.high, strict=True)
        )

    def _offer(self, objective: int, units: frozenset[int]) -> None:
        if self.best is None or objective > self.best or (
            objective == self.best and self.p._ranks_first(units, self.best_units)
        ):
            self.best, self.best_units = objective, units

    def fill(self, order: Sequence[int]) -> None:
        """Guarded heuristic: each minimum from `order`, then the rest of `order` that fits."""
        p, a, high = self.p, self.rows.a, self.rows.high
        taken = bytearray(len(p.members))
        spend = [0] * len(a)
        used = gain = 0

        def add(u: int) -> bool:
            nonlocal used, gain
            group = [x for x in (u, *p.ancestors[u]) if not taken[x]]
            if any(self.state[x] < 0 for x in group):
                return False
            extra = sum(p.cost[x] for x in group)
            if used + extra > self.cap:
                return False
            adds = [sum(row[x] for x in group) for row in a]
            if any(hi is not None and s + d > hi
                   for s, d, hi in zip(spend, adds, high, strict=True)):
                return False
            for x in group:
                taken[x] = 1
            used += extra
            gain += sum(p.w[x] for x in group)
            for g, d in enumerate(adds):
                spend[g] += d
            return True

        for g, lo in enumerate(self.rows.low):
            if lo is None:
                continue
            for u in order:
                if spend[g] >= lo:
                    break
                if not taken[u] and a[g][u] > 0 and p.w[u] > 0:
                    add(u)
            for u in order:  # zero-value members too, when the valued ones did not suffice
                if spend[g] >= lo:
                    break
                if not taken[u] and a[g][u] > 0:
                    add(u)
        for u in order:
            if not taken[u] and p.w[u] > 0:
                add(u)
        if self._meets(spend):
            self._offer(gain, frozenset(u for u in range(len(taken)) if taken[u]))

    # -- the exact search -----------------------------------------------------------------

    def solve(self) -> None:
        p, rows = self.p, self.rows
        cells = _Cells(self.free, p.w, p.cost, rows, self.cap)
        nu = cells.search() if any(lo is not None or hi is not None
                                   for lo, hi in zip(rows.low, rows.high, strict=True)) else []
        big = [round(x * (1 << _SHIFT)) for x in nu]
        for g, x in enumerate(big):  # keep the signs the bounds allow
            if (x > 0 and rows.low[g] is None) or (x < 0 and rows.high[g] is None):
                big[g] = 0
        weight = [(p.w[u] << _SHIFT) + sum(b * row[u] for b, row in zip(big, rows.a, strict=True))
                  for u in range(len(p.members))]
        self.weight = weight
        self.penalty = -sum(
            b * ((rows.low[g] or 0) if b > 0 else (rows.high[g] or 0))
            for g, b in enumerate(big)
            if b
        )
        top = max((p.cost[u] for u in self.free), default=1)
        span = top * top
        order = sorted(self.free, key=lambda u: (-(weight[u] * span // p.cost[u]),
                                                 p.best_rank[u]))
        self.fill(order)
        self.fill(sorted(self.free, key=p.best_rank.__getitem__))
        if self.best is None:  # tight guardrails: small units first give finer control
            self.fill(sorted(self.free, key=p.cost.__getitem__))
            self.fill(sorted(self.free, key=lambda u: -p.cost[u]))
        state = self.state
        if self.best is not None:
            self._fix(order)
        core = [u for u in order if state[u] == 0]
        self._search(core)

    def _fix(self, order: list[int]) -> None:
        """Reduced-cost fixing at the root's break ratio against the incumbent."""
        p, weight, cap = self.p, self.weight, self.cap
        rem, total = cap, 0
        brk_w, brk_c = 0, 1
        for u in order:
            if weight[u] <= 0:
                break
            if p.cost[u] <= rem:
                rem -= p.cost[u]
                total += weight[u]
            else:
                brk_w, brk_c = weight[u], p.cost[u]
                break
        # Lagrangian bound at lambda = brk_w / brk_c, scaled by brk_c
        reduced = {u: weight[u] * brk_c - brk_w * p.cost[u] for u in self.free}
        bound = sum(r for r in reduced.values() if r > 0) + brk_w * cap + self.penalty * brk_c
        assert self.best is not None
        target = (self.best << _SHIFT) * brk_c
        state = self.state
        fix_in: list[int] = []
        fix_out: list[int] = []
        for u, r in reduced.items():
            if bound - abs(r) < target:
                (fix_in if r > 0 else fix_out).append(u)
        for u in fix_in:
            for x in (u, *p.ancestors[u]):
                state[x] = 1
        for u in fix_out:
            for x in (u, *p.descendants[u]):
                if state[x] == 0:
                    state[x] = -1

    def _search(self, core: list[int]) -> None:
        p, rows, weight, state, cap = self.p, self.rows, self.weight, self.state, self.cap
        a, low, high = rows.a, rows.low, rows.high
        k = len(a)
        cost_in = sum(p.cost[u] for u in self.free if state[u] == 1)
        obj_in = sum(p.w[u] for u in self.free if state[u] == 1)
        wt_in = sum(weight[u] for u in self.free if state[u] == 1)
        spend = [sum(row[u] for u in self.free if state[u] == 1) for row in a]
        trail: list[int] = []
        stack: list[tuple[int, int]] = [(-2, 0)]
        while stack:
            unit, arg = stack.pop()
            if unit == -1:  # undo to trail length arg
                while len(trail) > arg:
                    x = trail.pop()
                    if state[x] == 1:
                        cost_in -= p.cost[x]
                        obj_in -= p.w[x]
                        wt_in -= weight[x]
                        for g in range(k):
                            spend[g] -= a[g][x]
                    state[x] = 0
                continue
            stack.append((-1, len(trail)))
            if unit >= 0:
                group = (unit, *(p.ancestors[unit] if arg == 1 else p.descendants[unit]))
                if any(state[x] == -arg for x in group):
                    continue
                for x in group:
                    if state[x] == 0:
                        state[x] = arg
                        trail.append(x)
                        if arg == 1:
                            cost_in += p.cost[x]
                            obj_in += p.w[x]
                            wt_in += weight[x]
                            for g in range(k):
                                spend[g] += a[g][x]
                if cost_in > cap or any(
                    hi is not None and s > hi for s, hi in zip(spend, high, strict=True)
                ):
                    continue
            # bound, reachability and the next unit to branch on
            rem, bound, branch = cap - cost_in, wt_in + self.penalty, -1
            reach = spend.copy()
            filling = True
            for u in core:
                if state[u] != 0:
                    continue
                if branch < 0:
                    branch = u
                for g in range(k):
                    reach[g] += a[g][u]
                if filling:
                    wu = weight[u]
                    if wu <= 0:
                        filling = False
                    elif p.cost[u] <= rem:
                        rem -= p.cost[u]
                        bound += wu
                    else:
                        bound += rem * wu // p.cost[u]
                        filling = False
            if self.best is not None and bound < (self.best << _SHIFT):
                continue
            room = cap - cost_in
            if any(lo is not None and (r < lo or lo - s > room)
                   for r, s, lo in zip(reach, spend, low, strict=True)):
                continue
            if self.pairs and self.pair_conflict(
                [u for u in self.free if state[u] == 1], [u for u in core if state[u] == 0]
            ):
                continue
            if branch < 0:
                if self._meets(spend):
                    self._offer(obj_in, frozenset(u for u in self.free if state[u] == 1))
                continue
            if weight[branch] > 0:
                stack.append((branch, -1))
                stack.append((branch, 1))
            else:
                stack.append((branch, 1))
                stack.append((branch, -1))


def _meets_all(items: Sequence[SelectionItem], keys: Sequence[str],
               guardrails: Sequence[GroupLimit]) -> bool:
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


def _conflict(problem: _Problem, rows: _Rows, cap: int, limits: Sequence[GroupLimit],
              scale: int) -> InfeasibleGuardrails:
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
                f"{_money(limit.maximum or Decimal(0))}", (limit.name,))
        if lo is not None:
            reach = sum(rows.a[g][u] for u in free)
            if reach < lo or lo > cap * factor:
                return InfeasibleGuardrails(
                    f"guardrail {limit.name}: its minimum {_money(limit.minimum or Decimal(0))} "
                    f"cannot be reached (the candidates in it that fit cost "
                    f"{money(min(reach, cap * factor))} in all)", (limit.name,))
    names = tuple(g.name for g in limits)
    return InfeasibleGuardrails(
        f"guardrails {', '.join(names)} cannot all be met together within the budget", names)


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
    scale = max(problem.cost_scale, *(-_exponent(b) for b in bounds)) if bounds \
        else problem.cost_scale
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
            f"{_money(second.maximum or Decimal(0))}", (first.name, second.name))
    solver.solve()
    if solver.best is None:
        raise _conflict(problem, rows, cap, guardrails, scale)
    return problem._result(budget, solver.best_units)
