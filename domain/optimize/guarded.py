"""The branch and bound behind `guard.optimal`: Lagrangian weights, forest bounds, fixing.

Guardrails bound the selected cost of groups of units from below and above. The search works on
`exact`'s prepared problem (mandatory closure fixed, cycles contracted, integer objective
w = value * K - cost, so value first, then lower cost, then the rank tie-break):
  1. Multipliers nu per guardrail, picked in floats by `multipliers._Cells` (the dual of the LP
     without dependencies); everything below is exact integer arithmetic with nu = N / 2**40.
  2. Weights W_u = 2**40 * w_u + sum_g N_g * a_gu (a_gu: the unit's cost in group g). For every
     selection meeting the guardrails, 2**40 * sum w <= sum W + penalty (penalty =
     -sum_g N_g * (L_g or U_g)), so the forest LP of `relax` over W (the prepared problem with W
     as its objective: blocks of a unit and its prerequisites, filled in ratio order) bounds
     every node, and its tree fixing (`_reduce`) fixes units in (with prerequisites) or out
     (with dependants) against the incumbent; ties are kept for the rank tie-break.
  3. Incumbents: guarded fills (each minimum from the fill order, then what fits under the
     maximums) in the LP's block order at every node, and in rank order at the root; every
     improvement is polished by single additions and one-for-one swaps.
  4. Depth-first: at each node bound, complete, fix until nothing changes; prune on the bound,
     the budget, every maximum, every minimum's reachability and every (minimum, maximum) pair;
     branch on the LP's break block, "in" first when its weight is positive. Before any
     incumbent the bound is compared with the lowest objective any selection has, so a node no
     selection meeting the guardrails reaches is pruned too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import copy
from dataclasses import dataclass

from domain.optimize.exact import _Problem
from domain.optimize.multipliers import _Cells
from domain.optimize.relax import _Block

_SHIFT = 40  # nu = N / 2**_SHIFT
_WINDOW = 40  # units on each side of the incumbent's swap search


@dataclass
class _Rows:
    """The guardrail rows over units, net of the mandatory items."""

    a: list[list[int]]  # a[g][u]
    low: list[int | None]
    high: list[int | None]


def _reweighted(problem: _Problem, weight: list[int]) -> _Problem:
    """The prepared problem with the Lagrangian weights as its objective: its forest LP
    (`_lp`) and tree fixing (`_reduce`) then bound and fix the guarded problem."""
    view = copy(problem)
    view.w = weight
    view._roots = {}
    return view


class _Guarded:
    """One guarded solve: the prepared problem, the rows, the weights and the search."""

    def __init__(self, problem: _Problem, rows: _Rows, cap: int) -> None:
        self.p, self.rows, self.cap = problem, rows, cap
        n = len(problem.members)
        self.state = [0 if problem.closure_cost[u] <= cap else -1 for u in range(n)]
        self.free = [u for u in range(n) if self.state[u] == 0]
        self.best: int | None = None
        self.best_units: frozenset[int] = frozenset()
        # no selection's objective is below this: every unit of negative objective taken
        self.floor = sum(min(0, problem.w[u]) for u in self.free)
        # pairs (minimum g, maximum h): g's spend <= h's spend + g's spend outside h
        a = rows.a
        self.pairs = [
            (g, h, [min(a[g][u], problem.cost[u] - a[h][u]) for u in range(n)])
            for g in range(len(a))
            if rows.low[g] is not None
            for h in range(len(a))
            if h != g and rows.high[h] is not None
        ]
        self.weight = problem.w
        self.penalty = 0
        self.nodes = 0
        self.limit: int | None = None  # nodes after the root before the search stops: None, none
        self.stopped = False
        # after the root: the units it left open and those it fixed in (`guard`'s core model)
        self.root_core: list[int] | None = None
        self.root_in: list[int] = []

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
        if (
            self.best is None
            or objective > self.best
            or (objective == self.best and self.p._ranks_first(units, self.best_units))
        ):
            self.best, self.best_units = objective, units

    def fill(self, order: Sequence[int], base: Sequence[int] = ()) -> None:
        """Guarded heuristic from the units in `base`: each minimum from `order`, then the rest
        of `order` that fits; units fixed out (state -1) are never taken."""
        p, a, high = self.p, self.rows.a, self.rows.high
        taken = bytearray(len(p.members))
        spend = [sum(row[u] for u in base) for row in a]
        used = sum(p.cost[u] for u in base)
        gain = sum(p.w[u] for u in base)
        for u in base:
            taken[u] = 1

        def add(u: int) -> bool:
            nonlocal used, gain
            group = [x for x in (u, *p.ancestors[u]) if not taken[x]]
            if any(self.state[x] < 0 for x in group):
                return False
            extra = sum(p.cost[x] for x in group)
            if used + extra > self.cap:
                return False
            if len(group) == 1:  # most often: no prerequisite left to take
                adds = [row[u] for row in a]
            else:
                adds = [sum(row[x] for x in group) for row in a]
            if any(
                hi is not None and s + d > hi for s, d, hi in zip(spend, adds, high, strict=True)
            ):
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
        if self._meets(spend) and (self.best is None or gain >= self.best):
            self._offer(gain, frozenset(u for u in range(len(taken)) if taken[u]))
            self._polish()

    def _polish(self) -> None:
        """Local search from the incumbent: the best single addition or one-for-one swap
        between its lowest-ratio removable units and the best-ratio addable ones, until none
        improves the objective within the budget and every guardrail."""
        p, a, rows, state = self.p, self.rows.a, self.rows, self.state
        chosen = set(self.best_units)
        used = sum(p.cost[u] for u in chosen)
        spend = [sum(row[u] for u in chosen) for row in a]
        gain = sum(p.w[u] for u in chosen)
        while True:
            outs = [
                u
                for u in reversed(self.free)
                if u in chosen and state[u] == 0 and not any(d in chosen for d in p.dependants[u])
            ][:_WINDOW]
            ins = [
                u
                for u in self.free
                if u not in chosen
                and state[u] == 0
                and p.w[u] > 0
                and all(q in chosen for q in p.prereqs[u])
            ][:_WINDOW]
            move, delta = (-1, -1), 0
            for u in (-1, *outs):
                cu = p.cost[u] if u >= 0 else 0
                wu = p.w[u] if u >= 0 else 0
                for v in ins:
                    d = p.w[v] - wu
                    if d <= delta or used - cu + p.cost[v] > self.cap or u in p.prereqs[v]:
                        continue
                    if all(
                        (lo is None or s - (row[u] if u >= 0 else 0) + row[v] >= lo)
                        and (hi is None or s - (row[u] if u >= 0 else 0) + row[v] <= hi)
                        for s, row, lo, hi in zip(spend, a, rows.low, rows.high, strict=True)
                    ):
                        move, delta = (u, v), d
            if delta <= 0:
                break
            u, v = move
            for x, sign in ((u, -1), (v, 1)):
                if x < 0:
                    continue
                (chosen.discard if sign < 0 else chosen.add)(x)
                used += sign * p.cost[x]
                gain += sign * p.w[x]
                for g, row in enumerate(a):
                    spend[g] += sign * row[x]
        if gain > (self.best or 0) or self.best is None:
            self._offer(gain, frozenset(chosen))

    # -- the exact search -----------------------------------------------------------------

    def solve(self) -> None:
        p, rows = self.p, self.rows
        nu: list[float] = []
        if any(
            lo is not None or hi is not None for lo, hi in zip(rows.low, rows.high, strict=True)
        ):
            nu = _Cells(self.free, p.w, p.cost, rows.a, rows.low, rows.high, self.cap).search()
        big = [round(x * (1 << _SHIFT)) for x in nu]
        for g, x in enumerate(big):  # keep the signs the bounds allow
            if (x > 0 and rows.low[g] is None) or (x < 0 and rows.high[g] is None):
                big[g] = 0
        self.weight = [
            (p.w[u] << _SHIFT) + sum(b * row[u] for b, row in zip(big, rows.a, strict=True))
            for u in range(len(p.members))
        ]
        self.penalty = -sum(
            b * ((rows.low[g] or 0) if b > 0 else (rows.high[g] or 0))
            for g, b in enumerate(big)
            if b
        )
        self.lag = _reweighted(p, self.weight)
        weight, scale = self.weight, p.ratio_scale
        self.free.sort(key=lambda u: (-(weight[u] * scale // p.cost[u]), p.best_rank[u]))
        _, blocks, _ = self.lag._lp(self.free, self.state, self.cap)
        self.fill(self._order(blocks, self.free))
        self.fill(sorted(self.free, key=p.best_rank.__getitem__))
        if self.best is None:  # tight guardrails: small units first give finer control
            self.fill(sorted(self.free, key=p.cost.__getitem__))
            self.fill(sorted(self.free, key=lambda u: -p.cost[u]))
        self._search()

    def _order(self, blocks: list[_Block], free: list[int]) -> list[int]:
        """The fill order at a node: the LP's blocks in fill order (prerequisites first),
        then the other open units in Lagrangian ratio order."""
        order = [u for _, members, _, _ in blocks for u in members]
        seen = set(order)
        return order + [u for u in free if u not in seen]

    def _search(self) -> None:
        """Depth-first branch and bound: at every node bound (forest LP over the Lagrangian
        weights), complete heuristically, fix by reduced costs until nothing changes, then
        branch on the LP's break block (in: with its prerequisites; out: with its dependants)."""
        p, weight, state, a = self.p, self.weight, self.state, self.rows.a
        k = len(a)
        inside = [u for u in self.free if state[u] == 1]
        self.cost_in = sum(p.cost[u] for u in inside)
        self.obj_in = sum(p.w[u] for u in inside)
        self.wt_in = sum(weight[u] for u in inside)
        self.spend = [sum(row[u] for u in inside) for row in a]
        trail: list[int] = []

        def take(x: int, sign: int) -> None:
            state[x] = sign
            trail.append(x)
            if sign == 1:
                self.cost_in += p.cost[x]
                self.obj_in += p.w[x]
                self.wt_in += weight[x]
                for g in range(k):
                    self.spend[g] += a[g][x]

        core = self.free
        stack: list[tuple[int, int]] = [(-2, 0)]
        while stack:
            unit, arg = stack.pop()
            if unit == -1:  # undo to trail length arg
                while len(trail) > arg:
                    x = trail.pop()
                    if state[x] == 1:
                        self.cost_in -= p.cost[x]
                        self.obj_in -= p.w[x]
                        self.wt_in -= weight[x]
                        for g in range(k):
                            self.spend[g] -= a[g][x]
                    state[x] = 0
                continue
            stack.append((-1, len(trail)))
            self.nodes += 1
            if self.limit is not None and self.nodes > self.limit + 1:
                self.stopped = True  # the state is left mid-search: this object is done
                return
            if unit >= 0:
                group = (unit, *(p.ancestors[unit] if arg == 1 else p.descendants[unit]))
                if any(state[x] == -arg for x in group):
                    continue
                for x in group:
                    if state[x] == 0:
                        take(x, arg)
            branch = self._settle(core, take, trail)
            if unit == -2:  # the root is settled: the rest of the search sees its open units
                core = [u for u in core if state[u] == 0]
                if branch >= 0:
                    self.root_core = core
                    self.root_in = [u for u in self.free if state[u] == 1]
            if branch < 0:
                continue
            if weight[branch] > 0:
                stack.append((branch, -1))
                stack.append((branch, 1))
            else:
                stack.append((branch, 1))
                stack.append((branch, -1))

    def _settle(self, core: list[int], take: Callable[[int, int], None], trail: list[int]) -> int:
        """Bound, complete and fix the current node until nothing changes; the unit to branch
        on, or -1 when the node is pruned or a leaf."""
        p, state, cap, rows = self.p, self.state, self.cap, self.rows
        while True:
            if self.cost_in > cap or any(
                hi is not None and s > hi for s, hi in zip(self.spend, rows.high, strict=True)
            ):
                return -1
            free = [u for u in core if state[u] == 0]
            room = cap - self.cost_in
            for g, lo in enumerate(rows.low):
                if lo is not None and (
                    lo - self.spend[g] > room
                    or self.spend[g] + sum(rows.a[g][u] for u in free) < lo
                ):
                    return -1
            if not free:  # a leaf
                if self._meets(self.spend):
                    self._offer(self.obj_in, frozenset(u for u in self.free if state[u] == 1))
                return -1
            if self.pairs and self.pair_conflict([u for u in self.free if state[u] == 1], free):
                return -1
            bound, blocks, brk = self.lag._lp(free, state, room)
            if bound < self._target():
                return -1
            base = [u for u in self.free if state[u] == 1]
            self.fill(self._order(blocks, free), base)
            target = self._target()
            if bound < target:
                return -1
            lam = (blocks[brk][2], blocks[brk][3]) if brk is not None else (0, 1)
            force_in, force_out = self.lag._reduce(free, state, room, lam, target)
            changed = False
            for sign, forced in ((1, force_in), (-1, force_out)):
                for u in forced:
                    for x in (u, *(p.ancestors[u] if sign == 1 else p.descendants[u])):
                        if state[x] == 0:
                            take(x, sign)
                            changed = True
                        elif state[x] != sign:  # no selection reaching the target here
                            return -1
            if not changed:
                if brk is not None and state[blocks[brk][0]] == 0:
                    return blocks[brk][0]
                return free[0]

    def _target(self) -> int:
        """What the open units' Lagrangian weight must reach for the node to matter."""
        threshold = self.floor if self.best is None else self.best
        return (threshold << _SHIFT) - self.penalty - self.wt_in
