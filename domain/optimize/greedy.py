"""The explainable greedy cut line and the extra budget that would fund each unfunded item.

`greedy` (DOMAIN.md 4.2): pre-fund the mandatory items (with their prerequisites) in rank order,
then walk the rest in rank order and fund an item when its value is positive, its prerequisites
are already funded, and it fits the remaining budget. The "extra budget" of an unfunded item is
the smallest increase after which the same walk funds it. The walk's decisions are piecewise
constant in the budget and change only where the budget reaches `spent_before + cost` of an
item, so a depth-first search over those budget intervals (lowest first) finds it exactly; a
prefix-minimum test answers the common case in O(1). `_ExtraBudgets` first tries a record search
over shared segment trees (see its docstring) with a small work limit per item, and hands the
item to the interval search when the limit is reached. Both are exact and give the same figures
(tests/unit/test_greedy_extra_budgets.py). Cost: still about O(n) per unfunded item for most
items, so O(n^2) for the whole explanation (~0.7 s at 1,000 initiatives, ~2 min at 10,000).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.optimize.graph import _closure, _topological
from domain.optimize.items import (
    GreedyResult,
    SelectionItem,
    UnfundedItem,
    UnfundedReason,
    _check_budget,
    _check_unique,
    _decimals,
    _exponent,
    _from_int,
    _money,
    _to_int,
)


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


class _TooMuchWork(Exception):
    """The fast search gave up on one item; the interval search answers it instead."""


class _ExtraBudgets:
    """Every unfunded item's extra budget from shared structures, without re-walking the list.

    Above the budget the walk keeps its decisions until the budget reaches the lowest threshold
    (`spent_before + cost`) of an item it skipped for lack of room; from the threshold of the
    last item before the target whose threshold is lower than every earlier one (a *record*),
    that item is funded, everything before it is as at the budget, and the rest of the walk is
    the walk of the suffix after it starting from what the budget exceeds the threshold by.
    A suffix walk started from a small amount `d` has the same shape, with the items' costs as
    thresholds: nothing fits below the cheapest item, and from the cost of each record (an
    item cheaper than every earlier one) up to the cost of the record before it, that record is
    funded and the suffix after it starts from what `d` exceeds its cost by. So the smallest
    budget that funds the target is found by trying the records from the lowest range upwards,
    recursing into the suffix, and a range can only help if it is wider than the target's cost.
    Records are found by descending a segment tree of costs (O(log n) each); an item with
    prerequisites is active in a suffix only when each prerequisite lies before the suffix and
    is funded there (funded in the base walk before the first record, or a record on the path).
    Items that wait for a prerequisite ranked after them are never funded at any budget.
    A free item costing no more than the target must be funded on the way, so a suffix whose
    room is below the target's cost plus those items' costs is skipped (a Fenwick tree of those
    costs, filled as the targets are taken cheapest first). Known limit: the successful suffix
    nests once per item funded before the target, so for most items the work limits hand over
    to the interval search; the record search is what would need a jump over runs of funded
    items to become near-linear.
    """

    MAX_STEPS = 40  # record look-ups per item before the interval search takes over
    MAX_DEPTH = 10  # nested suffixes per item, likewise

    def __init__(self, plan: _GreedyPlan, budget: int, base: _Walk) -> None:
        self.plan, self.budget, self.base = plan, budget, base
        order, position, deps = plan.order, plan.position, plan.deps
        n = len(order)
        dead = [True] * n
        for i in order:
            p = position[i]
            dead[i] = not plan.eligible[i] or any(position[d] >= p or dead[d] for d in deps[i])
        self.dead = dead
        self.cost_at = cost_at = [plan.cost[i] for i in order]
        self.infinity = inf = 2 * (sum(plan.cost) + budget) + 2
        size = 1
        while size < max(n, 1):
            size *= 2
        self.size = size
        free = [inf] * (2 * size)  # active in every walk: no prerequisite in the list
        held = [inf] * (2 * size)  # has prerequisites, all ranked before it
        for p, i in enumerate(order):
            if not dead[i]:
                (held if deps[i] else free)[size + p] = cost_at[p]
        for tree in (free, held):
            for v in range(size - 1, 0, -1):
                tree[v] = min(tree[2 * v], tree[2 * v + 1])
        self.free, self.held = free, held
        # sums of the costs of the free items costing at most the current target's cost
        self.small = [0] * (n + 1)
        self.by_cost = sorted(
            (p for p in range(n) if free[size + p] < inf), key=cost_at.__getitem__
        )
        self.added = 0
        # the skipped items whose threshold is lower than every earlier one, in walk order
        self.records: list[int] = []
        self.record_threshold: list[int] = []
        for p, i in enumerate(order):
            t = base.thresholds[i]
            if t is not None and (not self.record_threshold or t < self.record_threshold[-1]):
                self.records.append(p)
                self.record_threshold.append(t)
        # per search
        self.first = 0
        self.path: set[int] = set()
        self.steps = 0

    def _first_below(self, tree: list[int], start: int, limit: int) -> int:
        """The first position >= start whose value is below `limit`, or the size if none."""
        size = self.size
        if start >= size:
            return size
        v = start + size
        while tree[v] >= limit:
            while v & 1:
                v >>= 1
            if v == 0:
                return size
            v += 1
        while v < size:
            v = 2 * v if tree[2 * v] < limit else 2 * v + 1
        return v - size

    def _add_up_to(self, need: int) -> None:
        """Count the free items costing at most `need` in the sums (targets come cheapest first)."""
        by_cost, small, cost_at = self.by_cost, self.small, self.cost_at
        while self.added < len(by_cost) and cost_at[by_cost[self.added]] <= need:
            at = by_cost[self.added]
            p = at + 1
            while p < len(small):
                small[p] += cost_at[at]
                p += p & -p
            self.added += 1

    def _small_before(self, end: int) -> int:
        total, small = 0, self.small
        while end > 0:
            total += small[end]
            end -= end & -end
        return total

    def _funded(self, d: int) -> bool:
        p = self.plan.position[d]
        return self.base.funded[d] if p < self.first else p in self.path

    def _active(self, p: int, start: int) -> bool:
        """Whether the item at position p has its prerequisites in a suffix walk from start."""
        plan = self.plan
        return all(plan.position[d] < start and self._funded(d) for d in plan.deps[plan.order[p]])

    def _next_record(self, start: int, end: int, limit: int, suffix: int) -> int | None:
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            raise _TooMuchWork
        found = min(self._first_below(self.free, start, limit), end)
        at = start
        while True:
            d = self._first_below(self.held, at, limit)
            if d >= found:
                break
            if self._active(d, suffix):
                found = d
                break
            at = d + 1
        return found if found < end else None

    def _suffix(self, start: int, target: int, bound: int, depth: int) -> int | None:
        """Smallest d < bound with which the walk from `start` funds the target, or None."""
        need = self.cost_at[target]
        # every free item before the target costing no more than it must be funded on the way
        if need + self._small_before(target) - self._small_before(start) >= bound:
            return None
        if depth > self.MAX_DEPTH:
            raise _TooMuchWork
        records: list[int] = []
        low, at = bound, start
        while (r := self._next_record(at, target, low, start)) is not None:
            records.append(r)
            low, at = self.cost_at[r], r + 1
        if need < low and self._active(target, start):
            return need
        cost_at = self.cost_at
        for k in range(len(records) - 1, -1, -1):
            r = records[k]
            gap = (cost_at[records[k - 1]] if k else bound) - cost_at[r]
            if gap <= need:  # the walk after r would have less room than the target needs
                continue
            self.path.add(r)
            found = self._suffix(r + 1, target, gap, depth + 1)
            self.path.discard(r)
            if found is not None:
                return cost_at[r] + found
        return None

    def extra_budgets(self, unfunded: Sequence[int]) -> dict[int, int | None]:
        """The extra budget of each unfunded item (None when no budget funds it)."""
        cost = self.plan.cost
        return {i: self.extra(i) for i in sorted(unfunded, key=cost.__getitem__)}

    def extra(self, i: int) -> int | None:
        """The extra budget of unfunded item i; call in order of increasing cost."""
        if self.dead[i]:
            return None
        target = self.plan.position[i]
        self._add_up_to(self.plan.cost[i])
        count = bisect_left(self.records, target)
        records, threshold = self.records, self.record_threshold
        own = self.base.thresholds[i]
        if own is not None and (count == 0 or own < threshold[count - 1]):
            return own - self.budget
        need = self.cost_at[target]
        self.steps = 0
        try:
            for k in range(count - 1, -1, -1):
                gap = (threshold[k - 1] if k else self.infinity) - threshold[k]
                if gap <= need:
                    continue
                self.first = records[k]
                self.path = {records[k]}
                found = self._suffix(records[k] + 1, target, gap, 0)
                if found is not None:
                    return threshold[k] + found - self.budget
            return None
        except _TooMuchWork:
            own_min = threshold[count - 1] if count else None
            return self.plan.extra_budget(i, self.budget, self.base, own_min)


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
    missed = [i for i in plan.order if not base.funded[i]]
    extra: dict[int, int | None] = (
        _ExtraBudgets(plan, budget_int, base).extra_budgets(missed)
        if extra_budgets
        else dict.fromkeys(missed)
    )
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
