"""The exact optimum: branch and bound over the prepared problem, `optimal`.

`optimal`: the exact 0/1 knapsack with mandatory items and dependency closure, ties broken by lower
total cost and then the lexicographically smallest sorted (rank, key) tuple. Algorithm:
  1. Fix the mandatory closure, drop unselectable items, contract dependency cycles into units.
  2. Objective per unit: w = value * K - cost with K > any total cost, so one integer objective
     ranks by value first and by lower cost second.
  3. Relaxation: keep one prerequisite edge per unit, which makes the dependencies a forest.
     The LP relaxation of a forest-constrained knapsack is solved by merging any block whose
     ratio w/c exceeds its parent block's ratio into the parent, then filling blocks in ratio
     order (the fractional block gives the bound, floored since objectives are integers).
  4. Incumbent: whole blocks in LP order, then single units, then an exact exchange between
     the 16 lowest-ratio chosen and 16 highest-ratio spare units (a small knapsack table).
     Which units cannot fit with their prerequisites, the forest LP's blocks and the ratio
     order do not depend on the budget: they are computed once per prepared problem and
     shared by every budget that drops the same units (the frontier's levels), so a level
     finds its LP break by bisection instead of re-solving the LP over every unit.
  5. Root reduction: with the LP's break ratio as Lagrange multiplier, a tree DP over the forest
     bounds every "unit forced out" and "unit forced in" alternative in O(depth); units whose
     alternative cannot reach the incumbent are fixed (kept when it only ties, for the tie-break).
  6. The remaining core splits into units linked by a dependency to another core unit and
     independent ones. The independent ones get one exact knapsack table (dense over multiples
     of the cost gcd, else a sparse Pareto list), whose entries also carry rank tie-break bits;
     the dense table keeps only the cells a leaf's residual can still read.
     Depth-first branch and bound runs over the linked units only: re-solve the forest LP at each
     node, prune when the bound is below the incumbent, repeat the reduction, branch on a linked
     unit (in: with all its prerequisites; out: with all its dependants); at a leaf the table
     gives the best completion. Nodes whose bound equals the incumbent are still explored so that
     the rank tie-break is exact.

Ties between selections of equal objective (hence equal cost) are decided by the best-ranked
unit in which they differ, which is the sorted (rank, key) tuple comparison.

The prepared problem is built in layers, one concern per module, each using only those below:
`units._Units` (steps 1-2) <- `relax._Relaxation` (3, 5) <- `knapsack._Knapsack` (4, 6: tables
and incumbent) <- `_Problem` here (the search, the tie-break, the result).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from domain.optimize.graph import _closure
from domain.optimize.items import (
    InfeasibleMandatory,
    OptimalResult,
    SelectionItem,
    _check_budget,
    _from_int,
    _money,
    _to_int,
)
from domain.optimize.knapsack import _Knapsack


def _selection(
    fixed: frozenset[int], core: list[int], state: list[int], extra: Iterable[int]
) -> frozenset[int]:
    """Units fixed in before the search, fixed in during it, and the node's extra choice."""
    return fixed.union(u for u in core if state[u] == 1).union(extra)


@dataclass
class _Best:
    objective: int
    units: frozenset[int]


class _Problem(_Knapsack):
    """A prepared selection problem solved exactly at any budget by branch and bound."""

    def solve(self, budget: Decimal) -> OptimalResult:
        """Exact optimum at one budget."""
        _check_budget(budget)
        budget_int = _to_int(budget, self.cost_scale)  # floors finer budget digits
        cap = budget_int - self.mandatory_cost
        if cap < 0:
            keys = ", ".join(self.items[i].key for i in self.mandatory)
            raise InfeasibleMandatory(
                f"mandatory items {keys} cost "
                f"{_money(_from_int(self.mandatory_cost, self.cost_scale))}, "
                f"more than the budget {_money(budget)}"
            )
        root = self._root(cap)
        if root.free_cost <= cap:  # everything fits: take all that adds value
            wanted = [u for u in root.free if self.value[u] > 0]
            return self._result(budget, frozenset(_closure(wanted, self.prereqs)))
        state = root.state.copy()
        blocks = root.blocks
        best = _Best(0, frozenset())
        gain, chosen = self._complete(blocks, state, cap)
        gain = self._improve(state, cap, chosen, gain)
        self._offer(best, gain, lambda: frozenset(chosen))
        _, brk = root.fill(cap)
        if brk is not None:
            lam = (blocks[brk][2], blocks[brk][3])
            force_in, force_out = self._reduce(
                root.free, state, cap, lam, best.objective, root.deepest_first
            )
            for u in force_in:
                for x in (u, *self.ancestors[u]):
                    if state[x] == 0:
                        state[x] = 1
            for u in force_out:
                for x in (u, *self.descendants[u]):
                    if state[x] == 0:
                        state[x] = -1
        self._search([u for u in root.free if state[u] == 0], state, cap, best)
        return self._result(budget, best.units)

    def _offer(self, best: _Best, objective: int, build: Callable[[], frozenset[int]]) -> None:
        if objective < best.objective:
            return
        units = build()
        if objective > best.objective or self._ranks_first(units, best.units):
            best.objective, best.units = objective, units

    def _ranks_first(self, a: frozenset[int], b: frozenset[int]) -> bool:
        """Whether selection `a` has the smaller sorted (rank, key) tuple than `b`.

        Only asked for selections of equal objective, hence of equal cost: neither can then be
        a proper subset of the other, so the best rank where they differ decides.
        """
        differ = a ^ b
        return bool(differ) and min(differ, key=self.best_rank.__getitem__) in a

    def _search(self, core: list[int], state: list[int], cap: int, best: _Best) -> None:
        """Branch and bound over dependency-linked core units, a knapsack for the rest."""
        fixed_in = frozenset(u for u, s in enumerate(state) if s == 1)
        cost_in = sum(map(self.cost.__getitem__, fixed_in))
        obj_in = sum(map(self.w.__getitem__, fixed_in))
        in_core = set(core)
        linked = [
            u
            for u in core
            if any(p in in_core for p in self.prereqs[u])
            or any(d in in_core for d in self.dependants[u])
        ]
        is_linked = set(linked)
        alone = sorted(set(core) - is_linked, key=self.best_rank.__getitem__)
        # a leaf's residual: at most what is left now, at least that minus every linked unit
        top = cap - cost_in
        low = max(0, top - sum(self.cost[u] for u in linked))
        lookup = self._table(alone, top, low)
        if lookup is None:
            linked, lookup = list(core), self._table([], 0, 0)
            is_linked = set(linked)
            assert lookup is not None
        trail: list[int] = []
        # stack entries: (unit, +1/-1) to enter a child node, (-1, trail length) to undo
        stack: list[tuple[int, int]] = [(-1, 0), (-2, 0)]
        while stack:
            unit, arg = stack.pop()
            if unit == -1:
                while len(trail) > arg:
                    u = trail.pop()
                    if state[u] == 1:
                        cost_in -= self.cost[u]
                        obj_in -= self.w[u]
                    state[u] = 0
                continue
            stack.append((-1, len(trail)))
            if unit >= 0:
                group = (unit, *(self.ancestors[unit] if arg == 1 else self.descendants[unit]))
                if any(state[x] == -arg for x in group):
                    continue
                for x in group:
                    if state[x] == 0:
                        state[x] = arg
                        trail.append(x)
                        if arg == 1:
                            cost_in += self.cost[x]
                            obj_in += self.w[x]
                if cost_in > cap:
                    continue
            pruned = False
            while True:
                free = [u for u in core if state[u] == 0]
                bound, blocks, brk = self._lp(free, state, cap - cost_in)
                if obj_in + bound < best.objective:
                    pruned = True
                    break
                gain, chosen = self._complete(blocks, state, cap - cost_in)
                self._offer(
                    best,
                    obj_in + gain,
                    partial(_selection, fixed_in, core, state, chosen),
                )
                if brk is None:
                    break
                lam = (blocks[brk][2], blocks[brk][3])
                force_in, force_out = self._reduce(
                    free, state, cap - cost_in, lam, best.objective - obj_in
                )
                changed = False
                for arg_, forced in ((1, force_in), (-1, force_out)):
                    for u in forced:
                        if u not in is_linked:  # the table decides the independent units
                            continue
                        for x in (u, *(self.ancestors[u] if arg_ == 1 else self.descendants[u])):
                            if state[x] == 0:
                                state[x] = arg_
                                trail.append(x)
                                changed = True
                                if arg_ == 1:
                                    cost_in += self.cost[x]
                                    obj_in += self.w[x]
                            elif state[x] != arg_:  # no solution reaching the incumbent here
                                pruned = True
                if pruned or cost_in > cap or not changed:
                    pruned = pruned or cost_in > cap
                    break
            if pruned:
                continue
            open_linked = [u for u in linked if state[u] == 0]
            if not open_linked:  # leaf: the independent units are solved exactly by the table
                gain, extra = lookup(cap - cost_in)
                self._offer(
                    best,
                    obj_in + gain,
                    partial(_selection, fixed_in, core, state, extra),
                )
                continue
            branch = open_linked[0]
            if brk is not None and blocks[brk][0] in is_linked:
                branch = blocks[brk][0]
            stack.append((branch, -1))
            stack.append((branch, 1))

    def _result(self, budget: Decimal, units: frozenset[int]) -> OptimalResult:
        selected = bytearray(len(self.items))
        for i in self.mandatory:
            selected[i] = 1
        for u in units:
            for i in self.members[u]:
                selected[i] = 1
        cost = self.mandatory_cost + sum(map(self.cost.__getitem__, units))
        value = self.mandatory_value + sum(map(self.value.__getitem__, units))
        total_cost = _from_int(cost, self.cost_scale)
        return OptimalResult(
            budget=budget,
            keys=tuple(self.items[i].key for i in self.rank_order if selected[i]),
            total_cost=total_cost,
            total_value=_from_int(value, self.value_scale),
            remaining=budget - total_cost,
        )


_last_prepared: list[tuple[tuple[SelectionItem, ...], frozenset[str], _Problem]] = []


def _prepared(items: Sequence[SelectionItem], already_funded: frozenset[str]) -> _Problem:
    """The prepared problem, shared with the previous call on the very same item objects.

    A recommendation asks `optimal` and then `frontier` about one list; preparing it (and its
    LP blocks) once saves a good part of the second call. Items are frozen, so the same
    objects in the same order mean the same problem; the problem keeps its own tuple.
    """
    snapshot = tuple(items)
    last = _last_prepared[:1]
    if last:
        kept, funded, problem = last[0]
        if (
            funded == already_funded
            and len(kept) == len(snapshot)
            and all(a is b for a, b in zip(kept, snapshot, strict=True))
        ):
            return problem
    problem = _Problem(snapshot, already_funded)
    _last_prepared[:] = [(snapshot, already_funded, problem)]
    return problem


def optimal(
    items: Sequence[SelectionItem],
    budget: Decimal,
    *,
    already_funded: frozenset[str] = frozenset(),
) -> OptimalResult:
    """Exact value-maximising selection within the budget, honouring mandates and dependencies."""
    return _prepared(items, already_funded).solve(budget)
