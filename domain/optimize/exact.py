"""Portfolio selection over a budget: explainable greedy, exact optimum and efficient frontier.

All three work on `SelectionItem`s (cost > 0, value >= 0, rank 1 = best, `mandatory`, `requires`).
A required key satisfies its dependant when it is selected too or is listed in `already_funded`;
a required key that is neither in the item list nor already funded makes the dependant (and
everything that requires it) unselectable. The prerequisites of a mandatory item are mandatory too.

Exactness: costs and values are scaled to integers (powers of ten, taken from the Decimal
exponents), so every comparison that decides optimality is integer arithmetic; no floats.

`greedy` (DOMAIN.md 4.2): pre-fund the mandatory items (with their prerequisites) in rank order,
then walk the rest in rank order and fund an item when its value is positive, its prerequisites
are already funded, and it fits the remaining budget. The "extra budget" of an unfunded item is
the smallest increase after which the same walk funds it. The walk's decisions are piecewise
constant in the budget and change only where the budget reaches `spent_before + cost` of an
item, so a depth-first search over those budget intervals (lowest first) finds it exactly; a
prefix-minimum test answers the common case in O(1). Cost: O(n) per unfunded item in practice,
so O(n^2) for the whole explanation (fine for hundreds of initiatives, slow for 10,000).

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
`frontier` reuses the prepared problem and solves the optimum at evenly spaced budget levels.
Ties between selections of equal objective (hence equal cost) are decided by the best-ranked
unit in which they differ, which is the sorted (rank, key) tuple comparison.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_FLOOR, Context, Decimal
from enum import StrEnum
from functools import partial
from math import gcd

__all__ = [
    "FrontierPoint",
    "GreedyResult",
    "InfeasibleMandatory",
    "OptimalResult",
    "SelectionItem",
    "UnfundedItem",
    "UnfundedReason",
    "frontier",
    "greedy",
    "optimal",
]


_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_WINDOW = 16  # units on each side of the exchange heuristic
_DENSE_LIMIT = 4_000_000  # slots x units of the dense knapsack table
_PARETO_LIMIT = 200_000  # knapsack table states before falling back to pure branch and bound


def _selection(
    fixed: frozenset[int], core: list[int], state: list[int], extra: Iterable[int]
) -> frozenset[int]:
    """Units fixed in before the search, fixed in during it, and the node's extra choice."""
    return fixed.union(u for u in core if state[u] == 1).union(extra)


def _first(a: int, b: int) -> bool:
    """True when mask `a` holds the lowest bit where the two masks differ."""
    diff = a ^ b
    return bool(a & diff & -diff)


class InfeasibleMandatory(ValueError):
    """Raised when the mandatory items cannot all be funded within the budget."""


@dataclass(frozen=True)
class SelectionItem:
    """One initiative as the selector sees it: cost, customer impact value and rank."""

    key: str
    cost: Decimal
    value: Decimal
    rank: int
    mandatory: bool = False
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.cost.is_finite() or self.cost <= 0:
            raise ValueError(f"{self.key}: cost must be a positive amount, got {self.cost}")
        if not self.value.is_finite() or self.value < 0:
            raise ValueError(f"{self.key}: value must be >= 0, got {self.value}")


class UnfundedReason(StrEnum):
    """Why greedy left an item unfunded."""

    ZERO_VALUE = "zero_value"
    NEEDS_DEPENDENCY = "needs_dependency"
    DOES_NOT_FIT = "does_not_fit"
    MANDATORY_DOES_NOT_FIT = "mandatory_does_not_fit"


@dataclass(frozen=True)
class UnfundedItem:
    """An item below greedy's cut line, why, and the extra budget that would fund it."""

    key: str
    reason: UnfundedReason
    text: str
    extra_budget: Decimal | None


@dataclass(frozen=True)
class GreedyResult:
    """Outcome of the explainable greedy walk."""

    budget: Decimal
    funded: tuple[str, ...]
    total_cost: Decimal
    total_value: Decimal
    remaining: Decimal
    unfunded: tuple[UnfundedItem, ...]


@dataclass(frozen=True)
class OptimalResult:
    """The exact optimum: selected keys in rank order and their totals."""

    budget: Decimal
    keys: tuple[str, ...]
    total_cost: Decimal
    total_value: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class FrontierPoint:
    """Best achievable value at one budget level."""

    budget: Decimal
    value: Decimal
    cost_used: Decimal
    keys: tuple[str, ...]


# ---------------------------------------------------------------- exact scaling helpers


def _exponent(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    return exp


def _decimals(numbers: Iterable[Decimal]) -> int:
    return max([0, *(-_exponent(d) for d in numbers)])


def _to_int(d: Decimal, scale: int) -> int:
    """d x 10**scale as an int, exactly for every d with at most `scale` decimals (floored)."""
    shifted = d.scaleb(scale, context=_EXACT)
    return int(shifted.to_integral_value(rounding=ROUND_FLOOR, context=_EXACT))


def _from_int(n: int, scale: int) -> Decimal:
    return Decimal(f"{n}E-{scale}") if scale else Decimal(n)


def _money(amount: Decimal) -> str:
    if amount == amount.to_integral_value():
        amount = amount.quantize(Decimal(1))
    return f"${amount:,}"


def _check_unique(items: Sequence[SelectionItem]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.key in index:
            raise ValueError(f"duplicate item key {item.key!r}")
        index[item.key] = i
    return index


def _check_budget(budget: Decimal) -> None:
    if not budget.is_finite() or budget < 0:
        raise ValueError(f"budget must be a non-negative amount, got {budget}")


# ---------------------------------------------------------------- greedy


@dataclass(frozen=True)
class _Walk:
    funded: list[bool]
    reasons: list[UnfundedReason | None]
    remaining_at: list[int]
    thresholds: list[int | None]
    spent: int


class _GreedyPlan:
    """The walk order and static facts of a greedy run, independent of the budget."""

    def __init__(self, items: Sequence[SelectionItem], already_funded: frozenset[str]) -> None:
        self.items = items
        self.already_funded = already_funded
        self.index = index = _check_unique(items)
        self.scale = _decimals(it.cost for it in items)
        self.cost = [_to_int(it.cost, self.scale) for it in items]
        n = len(items)
        self.deps: list[list[int]] = [[] for _ in range(n)]
        self.impossible = [False] * n
        for i, it in enumerate(items):
            for req in it.requires:
                if req in already_funded:
                    continue
                if req in index:
                    self.deps[i].append(index[req])
                else:
                    self.impossible[i] = True
        dependants: list[list[int]] = [[] for _ in range(n)]
        for i in range(n):
            for d in self.deps[i]:
                dependants[d].append(i)
        for i in _closure([i for i in range(n) if self.impossible[i]], dependants):
            self.impossible[i] = True
        by_rank = sorted(range(n), key=lambda i: (items[i].rank, items[i].key))
        mandatory = _closure([i for i in by_rank if items[i].mandatory], self.deps)
        self.mandatory = [i in mandatory for i in range(n)]
        self.order = _topological([i for i in by_rank if i in mandatory], self.deps) + [
            i for i in by_rank if i not in mandatory
        ]
        self.position = {i: p for p, i in enumerate(self.order)}
        self.eligible = [
            not self.impossible[i] and (self.mandatory[i] or items[i].value > 0) for i in range(n)
        ]

    def walk(self, budget: int, stop: int | None = None) -> _Walk:
        """Run the walk at an integer budget, optionally only up to a position."""
        n = len(self.items)
        funded = [False] * n
        reasons: list[UnfundedReason | None] = [None] * n
        remaining_at = [0] * n
        thresholds: list[int | None] = [None] * n
        spent = 0
        order = self.order if stop is None else self.order[: stop + 1]
        for i in order:
            remaining_at[i] = budget - spent
            if not self.mandatory[i] and self.items[i].value <= 0:
                reasons[i] = UnfundedReason.ZERO_VALUE
            elif self.impossible[i] or not all(funded[d] for d in self.deps[i]):
                reasons[i] = UnfundedReason.NEEDS_DEPENDENCY
            elif spent + self.cost[i] <= budget:
                funded[i] = True
                spent += self.cost[i]
            else:
                reasons[i] = (
                    UnfundedReason.MANDATORY_DOES_NOT_FIT
                    if self.mandatory[i]
                    else UnfundedReason.DOES_NOT_FIT
                )
                thresholds[i] = spent + self.cost[i]
        return _Walk(funded, reasons, remaining_at, thresholds, spent)

    def extra_budget(
        self, target: int, budget: int, base: _Walk, prefix_min: int | None
    ) -> int | None:
        """Smallest increase of `budget` after which the walk funds `target`, or None.

        Depth-first over budget intervals that share the walk's decisions, lowest interval
        first, so the first success is the minimum. An interval splits where an item starts
        to fit; the part where an item costing no more than the target is skipped for lack of
        room is dropped (the remaining budget never grows along the walk, so the target could
        not fit there either), which keeps the search close to linear in practice.
        """
        if not self.eligible[target]:
            return None
        own = base.thresholds[target]
        if own is not None and (prefix_min is None or own < prefix_min):
            return own - budget
        cost, deps, eligible, order = self.cost, self.deps, self.eligible, self.order
        need = cost[target]
        funded = bytearray(len(self.items))
        top = max(budget, sum(cost)) + 1  # above the total cost the walk no longer changes
        # entries: (position, spent, low, high, fund the item at position first?) or undo marks
        stack: list[tuple[int, int, int, int, bool]] = [(0, 0, budget, top, False)]
        while stack:
            pos, spent, low, high, fund_first = stack.pop()
            if pos < 0:
                funded[spent] = 0
                continue
            if fund_first:
                i = order[pos]
                funded[i] = 1
                stack.append((-1, i, 0, 0, False))
                spent += cost[i]
                pos += 1
            while low < high and spent + need < high:
                i = order[pos]
                if i == target:
                    if all(funded[d] for d in deps[i]):
                        return max(low, spent + need) - budget
                    break
                if not eligible[i] or not all(funded[d] for d in deps[i]):
                    pos += 1
                    continue
                fits_from = spent + cost[i]
                if fits_from > low:
                    if cost[i] <= need:  # skipping it would leave too little for the target
                        low = fits_from
                        if low >= high:
                            break
                    elif fits_from >= high:  # skipped throughout the interval
                        pos += 1
                        continue
                    else:  # split: skipped below fits_from, funded from it upwards
                        stack.append((pos, spent, fits_from, high, True))
                        high = fits_from
                        pos += 1
                        continue
                funded[i] = 1
                stack.append((-1, i, 0, 0, False))
                spent = fits_from
                pos += 1
        return None


def _closure(start: Iterable[int], deps: Sequence[Sequence[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(start)
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(deps[i])
    return seen


def _topological(ordered: list[int], deps: Sequence[Sequence[int]]) -> list[int]:
    """Order `ordered` so prerequisites come first, otherwise keeping the given order."""
    members = set(ordered)
    priority = {i: p for p, i in enumerate(ordered)}
    waiting = {i: sum(1 for d in deps[i] if d in members) for i in ordered}
    dependants: dict[int, list[int]] = {i: [] for i in ordered}
    for i in ordered:
        for d in deps[i]:
            if d in members:
                dependants[d].append(i)
    heap = [(priority[i], i) for i in ordered if waiting[i] == 0]
    heapq.heapify(heap)
    result: list[int] = []
    while heap:
        _, i = heapq.heappop(heap)
        result.append(i)
        for j in dependants[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(heap, (priority[j], j))
    placed = set(result)
    return result + [i for i in ordered if i not in placed]  # cycles: walk them in rank order


def _reason_text(plan: _GreedyPlan, i: int, walk: _Walk, reason: UnfundedReason) -> str:
    if reason is UnfundedReason.ZERO_VALUE:
        return "declares no customer impact"
    if reason is UnfundedReason.NEEDS_DEPENDENCY:
        missing = [
            req
            for req in plan.items[i].requires
            if req not in plan.already_funded
            and not (req in plan.index and walk.funded[plan.index[req]])
        ]
        return f"needs {', '.join(missing)} first"
    remaining = _money(_from_int(walk.remaining_at[i], plan.scale))
    if reason is UnfundedReason.MANDATORY_DOES_NOT_FIT:
        return f"mandatory but does not fit the remaining {remaining}"
    return f"does not fit the remaining {remaining}"


def greedy(
    items: Sequence[SelectionItem],
    budget: Decimal,
    *,
    already_funded: frozenset[str] = frozenset(),
    extra_budgets: bool = True,
) -> GreedyResult:
    """Fund mandatory items, then walk the ranking funding what fits; explain the rest.

    The extra budget that would fund each unfunded item costs about n^2 walks; callers that
    only need the cut line (decisions, the ranking) pass `extra_budgets=False` and get None.
    """
    _check_budget(budget)
    plan = _GreedyPlan(items, already_funded)
    scale = max(plan.scale, -_exponent(budget))
    if scale != plan.scale:
        plan.scale = scale
        plan.cost = [_to_int(it.cost, scale) for it in items]
    budget_int = _to_int(budget, scale)
    base = plan.walk(budget_int)
    unfunded: list[UnfundedItem] = []
    prefix_min: int | None = None
    extra: dict[int, int | None] = {}
    for i in plan.order:
        if not base.funded[i]:
            extra[i] = (plan.extra_budget(i, budget_int, base, prefix_min) if extra_budgets
                        else None)
        t = base.thresholds[i]
        if t is not None:
            prefix_min = t if prefix_min is None else min(prefix_min, t)
    for i in sorted(extra, key=lambda i: (items[i].rank, items[i].key)):
        reason = base.reasons[i]
        assert reason is not None
        amount = extra[i]
        unfunded.append(
            UnfundedItem(
                key=items[i].key,
                reason=reason,
                text=_reason_text(plan, i, base, reason),
                extra_budget=None if amount is None else _from_int(amount, scale),
            )
        )
    funded = [i for i in plan.order if base.funded[i]]
    value_scale = _decimals(it.value for it in items)
    total_value = sum(_to_int(items[i].value, value_scale) for i in funded)
    return GreedyResult(
        budget=budget,
        funded=tuple(items[i].key for i in funded),
        total_cost=_from_int(base.spent, scale),
        total_value=_from_int(total_value, value_scale),
        remaining=_from_int(budget_int - base.spent, scale),
        unfunded=tuple(unfunded),
    )


# ---------------------------------------------------------------- exact optimum


def _acyclic_order(nodes: Sequence[int], deps: Sequence[Sequence[int]]) -> list[int] | None:
    """Prerequisites-first order of `nodes` (Kahn), or None when the dependencies have a cycle."""
    waiting = {i: len(deps[i]) for i in nodes}
    dependants: dict[int, list[int]] = {}
    for i in nodes:
        for d in deps[i]:
            dependants.setdefault(d, []).append(i)
    order = [i for i in nodes if not waiting[i]]
    for i in order:  # the list grows while we walk it
        for j in dependants.get(i, ()):
            waiting[j] -= 1
            if not waiting[j]:
                order.append(j)
    return order if len(order) == len(waiting) else None


def _strongly_connected(nodes: Sequence[int], succ: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative; components come out prerequisites first."""
    number: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    for root in nodes:
        if root in number:
            continue
        number[root] = low[root] = len(number)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ[root]))]
        while work:
            v, successors = work[-1]
            for w in successors:
                if w not in number:
                    number[w] = low[w] = len(number)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], number[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == number[v]:
                    component: list[int] = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    components.append(component)
    return components


_Block = tuple[int, list[int], int, int]  # (root unit, members deepest last, objective, cost)


@dataclass
class _Best:
    objective: int
    units: frozenset[int]


@dataclass(frozen=True)
class _Root:
    """What every budget that leaves out the same too-dear units shares: free units, forest LP."""

    state: list[int]  # -1: cannot fit with its prerequisites, 0: free
    free: list[int]
    free_cost: int
    blocks: list[_Block]
    filled_cost: list[int]  # filled_cost[k]: total cost of blocks[:k]
    filled_gain: list[int]
    deepest_first: list[int]  # free units, deeper in the forest first

    def fill(self, cap: int) -> tuple[int, int | None]:
        """The forest LP at `cap`: (floored bound, break block), by bisection of the fill."""
        pos = bisect_right(self.filled_cost, cap) - 1
        if pos == len(self.blocks):
            return self.filled_gain[pos], None
        _, _, bw, bc = self.blocks[pos]
        return self.filled_gain[pos] + (cap - self.filled_cost[pos]) * bw // bc, pos


class _Problem:
    """A prepared selection problem: mandatory closure fixed, free items grouped into units."""

    def __init__(self, items: Sequence[SelectionItem], already_funded: frozenset[str]) -> None:
        self.items = items
        index = _check_unique(items)
        n = len(items)
        deps: list[list[int]] = [[] for _ in range(n)]
        missing = [False] * n
        for i, it in enumerate(items):
            for req in it.requires:
                if req in already_funded:
                    continue
                if req in index:
                    deps[i].append(index[req])
                else:
                    missing[i] = True
        dependants: list[list[int]] = [[] for _ in range(n)]
        for i in range(n):
            for d in deps[i]:
                dependants[d].append(i)
        impossible = _closure([i for i in range(n) if missing[i]], dependants)
        mandatory = _closure([i for i in range(n) if items[i].mandatory], deps)
        if mandatory & impossible:
            keys = sorted(items[i].key for i in mandatory & impossible)
            raise InfeasibleMandatory(
                f"mandatory items {', '.join(keys)} need items that are neither listed "
                "nor already funded"
            )
        self.cost_scale = _decimals(it.cost for it in items)
        self.value_scale = _decimals(it.value for it in items)
        cost = [_to_int(it.cost, self.cost_scale) for it in items]
        value = [_to_int(it.value, self.value_scale) for it in items]
        self.mandatory = sorted(mandatory)
        self.mandatory_cost = sum(cost[i] for i in mandatory)
        self.mandatory_value = sum(value[i] for i in mandatory)
        self.rank_order = sorted(range(n), key=lambda i: (items[i].rank, items[i].key))
        free = [i for i in self.rank_order if i not in mandatory and i not in impossible]
        free_set = set(free)
        free_deps = [[d for d in deps[i] if d in free_set] for i in range(n)]
        acyclic = _acyclic_order(free, free_deps)
        components = (
            [[i] for i in acyclic] if acyclic is not None else _strongly_connected(free, free_deps)
        )
        unit_of = {i: u for u, comp in enumerate(components) for i in comp}
        self.members = [
            sorted(comp, key=lambda i: (items[i].rank, items[i].key)) if len(comp) > 1 else comp
            for comp in components
        ]
        self.ranks = [tuple((items[i].rank, items[i].key) for i in m) for m in self.members]
        self.best_rank = [r[0] for r in self.ranks]
        self.cost = [cost[m[0]] if len(m) == 1 else sum(cost[i] for i in m) for m in self.members]
        self.value = [
            value[m[0]] if len(m) == 1 else sum(value[i] for i in m) for m in self.members
        ]
        weight = sum(self.cost) + 1
        self.w = [v * weight - c for v, c in zip(self.value, self.cost, strict=True)]
        self.ratio_scale = weight * weight
        units = range(len(components))
        self.prereqs = [
            sorted({unit_of[d] for i in m for d in free_deps[i]} - {u})
            if any(free_deps[i] for i in m)
            else []
            for u, m in zip(units, self.members, strict=True)
        ]
        self.dependants: list[list[int]] = [[] for _ in units]
        for u in units:
            for p in self.prereqs[u]:
                self.dependants[p].append(u)
        # forest relaxation: keep the most expensive prerequisite edge of every unit
        self.parent = [
            max(ps, key=lambda p: (self.cost[p], -p)) if ps else -1 for ps in self.prereqs
        ]
        self.depth = [0] * len(components)
        for u in units:  # units come prerequisites first, so parents have their depth already
            if self.parent[u] >= 0:
                self.depth[u] = self.depth[self.parent[u]] + 1
        self.ancestors = [
            sorted(_closure(self.prereqs[u], self.prereqs)) if self.prereqs[u] else []
            for u in units
        ]
        self.descendants = [
            sorted(_closure(self.dependants[u], self.dependants)) if self.dependants[u] else []
            for u in units
        ]
        # budget-independent orders shared by every solve (the frontier solves many budgets)
        self.closure_cost = [
            self.cost[u] + sum(self.cost[a] for a in self.ancestors[u]) for u in units
        ]
        self.dearest = sorted(units, key=self.closure_cost.__getitem__, reverse=True)
        self.closure_sorted = [self.closure_cost[u] for u in reversed(self.dearest)]
        # exact ratio order: ratios of distinct units differ by more than 1 / ratio_scale
        self.by_ratio = sorted(units, key=lambda u: -(self.w[u] * self.ratio_scale // self.cost[u]))
        self.ratio_pos = [0] * len(components)
        for pos, u in enumerate(self.by_ratio):
            self.ratio_pos[u] = pos
        self._roots: dict[int, _Root] = {}

    def _root(self, cap: int) -> _Root:
        """Free units and the forest LP's blocks for every budget that drops the same units.

        A unit is dropped when it cannot fit together with its prerequisites; its dependants
        cost more with their prerequisites, so the dropped units are the dearest `k`.
        """
        dear = len(self.closure_sorted) - bisect_right(self.closure_sorted, cap)
        root = self._roots.get(dear)
        if root is None:
            state = [0] * len(self.members)
            for u in self.dearest[:dear]:
                state[u] = -1
            free = [u for u, s in enumerate(state) if s == 0]
            blocks = self._blocks(free, state)
            filled_cost, filled_gain = [0], [0]
            for _, _, bw, bc in blocks:
                filled_cost.append(filled_cost[-1] + bc)
                filled_gain.append(filled_gain[-1] + bw)
            depth = self.depth
            root = _Root(
                state=state,
                free=free,
                free_cost=sum(self.cost[u] for u in free),
                blocks=blocks,
                filled_cost=filled_cost,
                filled_gain=filled_gain,
                deepest_first=sorted(free, key=lambda u: -depth[u]),
            )
            self._roots[dear] = root
        return root

    # -- LP relaxation over the forest --------------------------------------------------

    def _blocks(self, free: list[int], state: list[int]) -> list[_Block]:
        """Forest LP blocks in fill order: (root, members, w, c), positive objective only."""
        w, c, parent = self.w, self.cost, self.parent
        bw = {u: w[u] for u in free}
        bc = {u: c[u] for u in free}
        members = {u: [u] for u in free}
        children: dict[int, list[int]] = {u: [] for u in free}
        owner = {u: u for u in free}
        version = dict.fromkeys(free, 0)
        queued = dict.fromkeys(free, False)
        scale = self.ratio_scale
        heap: list[tuple[int, int, int]] = []
        up = {}
        for u in free:
            p = parent[u]
            if p >= 0 and state[p] == 0:
                up[u] = p
                children[p].append(u)
                heap.append((-(bw[u] * scale // bc[u]), 0, u))
                queued[u] = True
        heapq.heapify(heap)

        def find(u: int) -> int:
            root = u
            while owner[root] != root:
                root = owner[root]
            while owner[u] != root:
                owner[u], u = root, owner[u]
            return root

        while heap:
            _, ver, b = heapq.heappop(heap)
            if owner[b] != b or ver != version[b]:
                continue
            queued[b] = False
            p = find(up[b])
            if bw[b] * bc[p] <= bw[p] * bc[b]:
                continue
            owner[b] = p
            bw[p] += bw[b]
            bc[p] += bc[b]
            members[p].extend(members[b])
            children[p].extend(children[b])
            version[p] += 1
            if p in up:
                heapq.heappush(heap, (-(bw[p] * scale // bc[p]), version[p], p))
                queued[p] = True
            for ch in children[b]:
                if owner[ch] == ch and not queued[ch]:
                    heapq.heappush(heap, (-(bw[ch] * scale // bc[ch]), version[ch], ch))
                    queued[ch] = True
        depth = self.depth
        roots = [u for u in free if owner[u] == u and bw[u] > 0]
        roots.sort(key=lambda u: (-(bw[u] * scale // bc[u]), depth[u]))
        return [(u, sorted(members[u], key=depth.__getitem__), bw[u], bc[u]) for u in roots]

    def _lp(
        self, free: list[int], state: list[int], cap: int
    ) -> tuple[int, list[_Block], int | None]:
        """Forest LP: (floored bound, blocks in fill order, break block)."""
        blocks = self._blocks(free, state)
        bound, rem = 0, cap
        for pos, (_, _, bw_u, bc_u) in enumerate(blocks):
            if bc_u > rem:
                return bound + rem * bw_u // bc_u, blocks, pos
            rem -= bc_u
            bound += bw_u
        return bound, blocks, None

    def _complete(self, blocks: list[_Block], state: list[int], cap: int) -> tuple[int, set[int]]:
        """Heuristic completion: whole blocks in LP order, then single units, when they fit."""
        prereqs, w, cost = self.prereqs, self.w, self.cost
        taken = bytearray(len(state))
        chosen: list[int] = []
        rem, gain = cap, 0
        for _ in range(2):  # twice: a block may unlock another
            for _, members, bw_u, bc_u in blocks:
                head = members[0]
                if taken[head] or bc_u > rem:
                    continue
                if len(members) == 1:
                    ps = prereqs[head]
                    if ps and not all(state[p] == 1 or taken[p] for p in ps):
                        continue
                else:
                    inside = set(members)
                    if not all(
                        state[p] == 1 or taken[p] or p in inside
                        for u in members
                        for p in prereqs[u]
                    ):
                        continue
                for u in members:
                    taken[u] = 1
                chosen.extend(members)
                rem -= bc_u
                gain += bw_u
        for _, members, _, _ in blocks:
            for u in members:
                if taken[u] or w[u] <= 0 or cost[u] > rem:
                    continue
                ps = prereqs[u]
                if ps and not all(state[p] == 1 or taken[p] for p in ps):
                    continue
                taken[u] = 1
                chosen.append(u)
                rem -= cost[u]
                gain += w[u]
        return gain, set(chosen)

    # -- search ---------------------------------------------------------------------------

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

    def _improve(self, state: list[int], cap: int, chosen: set[int], gain: int) -> int:
        """Exchange heuristic: best swap of low-ratio chosen units for high-ratio spare ones."""
        w, cost, prereqs, dependants = self.w, self.cost, self.prereqs, self.dependants
        rem = cap - sum(map(cost.__getitem__, chosen))
        out: list[int] = []
        for u in reversed(self.by_ratio):  # lowest ratio first
            if u in chosen and not any(d in chosen for d in dependants[u]):
                out.append(u)
                if len(out) == _WINDOW:
                    break
        leaving = set(out)
        spare: list[int] = []
        for u in self.by_ratio:  # highest ratio first; objective <= 0 from the first such on
            if w[u] <= 0:
                break
            if (
                state[u] == 0
                and u not in chosen
                and all(state[p] == 1 or (p in chosen and p not in leaving) for p in prereqs[u])
            ):
                spare.append(u)
                if len(spare) == _WINDOW:
                    break
        # the exchange is a knapsack over the leaving and the spare units, all independent: a
        # leaving unit has no chosen dependant, a spare one no leaving prerequisite
        room = rem + sum(cost[u] for u in out)
        lookup = self._table(sorted(out + spare, key=self.best_rank.__getitem__), room, room)
        if lookup is None:
            return gain
        kept, stay = lookup(room)
        better = kept - sum(w[u] for u in out)
        if better <= 0:
            return gain
        chosen.difference_update(out)
        chosen.update(stay)
        return gain + better

    def _reduce(
        self,
        free: list[int],
        state: list[int],
        cap: int,
        lam: tuple[int, int],
        target: int,
        deepest_first: list[int] | None = None,
    ) -> tuple[list[int], list[int]]:
        """Lagrangian fixing: units that must be in / out of any solution reaching `target`."""
        lam_w, lam_c = lam
        w, cost, parent = self.w, self.cost, self.parent
        n = len(state)
        in_tree = [-1] * n
        s = [0] * n
        top = [0] * n
        for u in free:
            p = parent[u]
            if p >= 0 and state[p] == 0:
                in_tree[u] = p
            s[u] = w[u] * lam_c - lam_w * cost[u]
        if deepest_first is None:
            depth = self.depth
            deepest_first = sorted(free, key=lambda u: -depth[u])
        for u in deepest_first:
            t = s[u] if s[u] > 0 else 0
            top[u] = t
            p = in_tree[u]
            if p >= 0:
                s[p] += t
        total = lam_w * cap + sum(top[u] for u in free if in_tree[u] < 0)
        target *= lam_c
        force_in: list[int] = []
        force_out: list[int] = []
        for u in free:
            old, new, v = top[u], 0, u
            while old != new and in_tree[v] >= 0:
                p = in_tree[v]
                old, new = top[p], max(0, s[p] - old + new)
                v = p
            if total - old + new < target:
                force_in.append(u)
                continue
            f, v = s[u], u
            while in_tree[v] >= 0:
                p = in_tree[v]
                f = s[p] - top[v] + f
                v = p
            if total - top[v] + f < target:
                force_out.append(u)
        return force_in, force_out

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

    def _pareto(self, units: list[int], cap: int) -> list[tuple[int, int, int]] | None:
        """Exact knapsack table over independent units: (cost, gain, mask) with rising gain.

        Bit k of a mask is the k-th unit of `units`, which are sorted by their best (rank, key),
        so among equal gains the lowest differing bit decides the rank tie-break. None when
        the table would grow beyond `_PARETO_LIMIT` states.
        """
        table: list[tuple[int, int, int]] = [(0, 0, 0)]
        for k, u in enumerate(units):
            c, w, bit = self.cost[u], self.w[u], 1 << k
            merged: dict[int, tuple[int, int]] = {cost: (g, m) for cost, g, m in table}
            for cost, g, m in table:
                if cost + c > cap:
                    break
                old = merged.get(cost + c)
                cand = (g + w, m | bit)
                if (
                    old is None
                    or cand[0] > old[0]
                    or (cand[0] == old[0] and _first(cand[1], old[1]))
                ):
                    merged[cost + c] = cand
            table = []
            for cost in sorted(merged):
                g, m = merged[cost]
                if not table or g > table[-1][1]:
                    table.append((cost, g, m))
            if len(table) > _PARETO_LIMIT:
                return None
        return table

    def _table(
        self, units: list[int], top: int, low: int
    ) -> Callable[[int], tuple[int, list[int]]] | None:
        """Exact knapsack over independent units: residual in [low, top] -> (gain, chosen).

        Unit k of `units` (sorted by best (rank, key)) also earns the tie bit 2**(n-1-k), so
        maximising `w << n | bits` maximises the objective and then applies the rank
        tie-break. Dense over cost multiples of the gcd when small, else a sparse table. The
        dense table only keeps the cells a residual in [low, top] can still read: after a unit,
        cells above the cost of all units so far are equal (the array grows as needed), and
        cells more than the cost of the units still to come below `low` are never read again;
        taking small units first and last keeps both parts short.
        """
        units = [u for u in units if self.w[u] > 0 and self.cost[u] <= top]
        n = len(units)
        if not units:
            return lambda residual: (0, [])
        step = 0
        for u in units:
            step = gcd(step, self.cost[u])
        slots = top // step
        if slots * n > _DENSE_LIMIT:
            table = self._pareto(units, top)
            if table is None:
                return None
            costs = [t[0] for t in table]

            def sparse(residual: int) -> tuple[int, list[int]]:
                _, gain, mask = table[bisect_right(costs, residual) - 1]
                return gain, [u for k, u in enumerate(units) if mask >> k & 1]

            return sparse
        floor = low // step
        # small units first and last, large ones in the middle, where the fewest cells live
        by_size = sorted(range(n), key=lambda k: self.cost[units[k]])
        walk = by_size[0::2] + by_size[1::2][::-1]
        after = sum(self.cost[u] for u in units) // step
        best = [0]
        for k in walk:
            u = units[k]
            size = self.cost[u] // step
            after -= size
            reach = min(slots, len(best) - 1 + size)
            if reach >= len(best):
                best.extend([best[-1]] * (reach + 1 - len(best)))
            start = max(size, min(floor - after, reach))  # the last cell stands for all above
            if start > reach:
                continue
            weight = (self.w[u] << n) | 1 << (n - 1 - k)
            best[start:] = [
                a if a >= b + weight else b + weight
                for a, b in zip(best[start:], best[start - size : reach + 1 - size], strict=True)
            ]
        low_bits = (1 << n) - 1

        def dense(residual: int) -> tuple[int, list[int]]:
            assert low <= residual <= top
            value = best[min(residual // step, len(best) - 1)]
            bits = value & low_bits
            return value >> n, [u for k, u in enumerate(units) if bits >> (n - 1 - k) & 1]

        return dense

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


def frontier(
    items: Sequence[SelectionItem],
    *,
    points: int = 20,
    budget_max: Decimal | None = None,
    already_funded: frozenset[str] = frozenset(),
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
        best = problem.solve(level)
        result.append(FrontierPoint(level, best.total_value, best.total_cost, best.keys))
    return result
