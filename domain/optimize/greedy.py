"""The explainable greedy cut line and the extra budget that would fund each unfunded item.

`greedy` (DOMAIN.md 4.2): pre-fund the mandatory items (with their prerequisites) in rank order,
then walk the rest in rank order and fund an item when its value is positive, its prerequisites
are already funded, and it fits the remaining budget. The "extra budget" of an unfunded item is
the smallest increase after which the same walk funds it. The walk's decisions are piecewise
constant in the budget and change only where the budget reaches `spent_before + cost` of an
item, so a depth-first search over those budget intervals (lowest first) finds it exactly; a
prefix-minimum test answers the common case in O(1). Items of equal cost share one search
(decision 129), so the whole explanation costs one search per distinct cost, each up to O(n)
walks of the list: still superlinear (about 2 s at 1,000 items, minutes at 10,000), which is
why readers ask for one page of the unfunded list at a time (`extra_window`).

With guardrails (`GroupLimit`s) the walk has three steps (docs/decisions.md): the mandatory
items first, as always; then, guardrail by guardrail in the order given, the best-ranked items
of the group that add value, each with its unfunded prerequisites, until the group's minimum is
met (an item is skipped when it would not fit the budget or would pass any maximum); then the
usual rank-order walk, which also skips an item that would pass a maximum ("above_guardrail").
A guardrail the walk cannot meet is named in `unmet`; extra budgets are not computed then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.optimize.graph import _closure, _topological
from domain.optimize.items import (
    GreedyResult,
    GroupLimit,
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
    _to_int_ceil,
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

    def extra_budgets(self, targets: Sequence[int], budget: int,
                      base: _Walk) -> dict[int, int | None]:
        """The smallest increase of `budget` after which the walk funds each target, or None.

        A target whose own threshold comes before every earlier item's (prefix minimum) gets
        it directly. The others are searched by cost: targets of equal cost share one search
        (`_search`), so the work grows with the number of distinct costs, not of targets.
        """
        extra: dict[int, int | None] = {}
        wanted = set(targets)
        by_cost: dict[int, list[int]] = {}
        prefix_min: int | None = None
        for i in self.order:
            if i in wanted:
                own = base.thresholds[i]
                if not self.eligible[i]:
                    extra[i] = None
                elif own is not None and (prefix_min is None or own < prefix_min):
                    extra[i] = own - budget
                else:
                    by_cost.setdefault(self.cost[i], []).append(i)
            t = base.thresholds[i]
            if t is not None:
                prefix_min = t if prefix_min is None else min(prefix_min, t)
        for need, group in by_cost.items():
            found = self._search(need, group, budget)
            for i in group:
                extra[i] = found.get(i)
        return extra

    def _search(self, need: int, group: list[int], budget: int) -> dict[int, int]:
        """Extra budgets of the eligible targets in `group`, which all cost `need`.

        Depth-first over budget intervals that share the walk's decisions, lowest interval
        first, so a target's first success is its minimum. An interval splits where an item
        starts to fit; the part where an item costing no more than `need` is skipped for lack
        of room is dropped (the remaining budget never grows along the walk, so no target
        could fit there either). Every target of the group sees the same intervals in the same
        order up to its own position (a target met on the way is just an item costing `need`),
        so one search serves them all: it records each target's first success and stops when
        all are found or no interval is left. Deterministic: same numbers as one search each.
        """
        cost, deps, eligible, order = self.cost, self.deps, self.eligible, self.order
        pending = bytearray(len(self.items))
        for i in group:
            pending[i] = 1
        left = len(group)
        last = max(self.position[i] for i in group)
        found: dict[int, int] = {}
        funded = bytearray(len(self.items))
        top = max(budget, sum(cost)) + 1  # above the total cost the walk no longer changes
        # entries: (position, spent, low, high, fund the item at position first?) or undo marks
        stack: list[tuple[int, int, int, int, bool]] = [(0, 0, budget, top, False)]
        while stack and left:
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
            while low < high and spent + need < high and pos <= last:
                i = order[pos]
                if not eligible[i] or not all(funded[d] for d in deps[i]):
                    pos += 1
                    continue
                fits_from = spent + cost[i]
                if pending[i]:  # a target, reached with room for it: its first success
                    found[i] = max(low, fits_from) - budget
                    pending[i] = 0
                    left -= 1
                    if not left:
                        break
                if fits_from > low:
                    if cost[i] <= need:  # skipping it would leave too little for a target
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
        return found


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
    if reason is UnfundedReason.ABOVE_GUARDRAIL:
        return "would take a guardrail's group above its maximum"
    if reason is UnfundedReason.MANDATORY_DOES_NOT_FIT:
        return f"mandatory but does not fit the remaining {remaining}"
    return f"does not fit the remaining {remaining}"


def greedy(
    items: Sequence[SelectionItem],
    budget: Decimal,
    *,
    already_funded: frozenset[str] = frozenset(),
    extra_budgets: bool = True,
    guardrails: Sequence[GroupLimit] = (),
    extra_window: tuple[int, int] | None = None,
) -> GreedyResult:
    """Fund mandatory items, then walk the ranking funding what fits; explain the rest.

    The extra budget that would fund each unfunded item costs a search per distinct cost;
    callers that only need the cut line (decisions, the ranking) pass `extra_budgets=False`
    and get None. `extra_window=(start, stop)` computes it only for those entries of the
    unfunded list (rank order), for a caller that shows one page of it; the others get None.
    With `guardrails`, the walk meets minimums first and respects maximums (module docstring).
    """
    _check_budget(budget)
    plan = _GreedyPlan(items, already_funded)
    bounds = [b for g in guardrails for b in (g.minimum, g.maximum) if b is not None]
    scale = max(plan.scale, -_exponent(budget), *(-_exponent(b) for b in bounds))
    if scale != plan.scale:
        plan.scale = scale
        plan.cost = [_to_int(it.cost, scale) for it in items]
    budget_int = _to_int(budget, scale)
    unmet: tuple[str, ...] = ()
    if guardrails:
        base, unmet = _guarded_walk(plan, budget_int, guardrails)
        extra_budgets = False
    else:
        base = plan.walk(budget_int)
    unfunded: list[UnfundedItem] = []
    missing = sorted((i for i in plan.order if not base.funded[i]),
                     key=lambda i: (items[i].rank, items[i].key))
    extra: dict[int, int | None] = dict.fromkeys(missing)
    if extra_budgets:
        wanted = missing if extra_window is None else missing[slice(*extra_window)]
        extra.update(plan.extra_budgets(wanted, budget_int, base))
    for i in missing:
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
        unmet=unmet,
    )


def _guarded_walk(
    plan: _GreedyPlan, budget: int, guardrails: Sequence[GroupLimit]
) -> tuple[_Walk, tuple[str, ...]]:
    """The walk with guardrails: mandates, then each group's minimum, then rank order."""
    n, scale, cost, deps = len(plan.items), plan.scale, plan.cost, plan.deps
    groups = [
        bytearray(1 if it.key in g.keys else 0 for it in plan.items) for g in guardrails
    ]
    low = [None if g.minimum is None else _to_int_ceil(g.minimum, scale) for g in guardrails]
    high = [None if g.maximum is None else _to_int(g.maximum, scale) for g in guardrails]
    funded = [False] * n
    reasons: list[UnfundedReason | None] = [None] * n
    remaining_at = [0] * n
    spend = [0] * len(guardrails)
    spent = 0

    def fund(members: list[int]) -> None:
        nonlocal spent
        for i in members:
            funded[i] = True
            spent += cost[i]
            for g, member in enumerate(groups):
                if member[i]:
                    spend[g] += cost[i]

    def passes_maximum(members: list[int]) -> bool:
        for g, member in enumerate(groups):
            top = high[g]
            if top is not None and spend[g] + sum(cost[i] for i in members if member[i]) > top:
                return True
        return False

    mandatory = [i for i in plan.order if plan.mandatory[i]]
    for i in mandatory:  # mandates first, as without guardrails
        remaining_at[i] = budget - spent
        if plan.impossible[i] or not all(funded[d] for d in deps[i]):
            reasons[i] = UnfundedReason.NEEDS_DEPENDENCY
        elif spent + cost[i] <= budget:
            fund([i])
        else:
            reasons[i] = UnfundedReason.MANDATORY_DOES_NOT_FIT
    for g, member in enumerate(groups):  # each minimum, best-ranked members first
        floor = low[g]
        if floor is None:
            continue
        for i in plan.order:
            if spend[g] >= floor:
                break
            if not member[i] or funded[i] or plan.mandatory[i] or not plan.eligible[i]:
                continue
            if plan.items[i].value <= 0:
                continue
            needed = sorted((j for j in _closure([i], deps) if not funded[j]),
                            key=plan.position.__getitem__)
            if any(not plan.eligible[j] for j in needed):
                continue
            if spent + sum(cost[j] for j in needed) > budget or passes_maximum(needed):
                continue
            fund(needed)
    for i in plan.order:  # the usual walk under the maximums
        if funded[i] or plan.mandatory[i]:
            continue
        remaining_at[i] = budget - spent
        if plan.items[i].value <= 0:
            reasons[i] = UnfundedReason.ZERO_VALUE
        elif plan.impossible[i] or not all(funded[d] for d in deps[i]):
            reasons[i] = UnfundedReason.NEEDS_DEPENDENCY
        elif spent + cost[i] > budget:
            reasons[i] = UnfundedReason.DOES_NOT_FIT
        elif passes_maximum([i]):
            reasons[i] = UnfundedReason.ABOVE_GUARDRAIL
        else:
            fund([i])
    unmet = tuple(
        g.name
        for k, g in enumerate(guardrails)
        if (low[k] is not None and spend[k] < (low[k] or 0))
        or (high[k] is not None and spend[k] > (high[k] or 0))
    )
    return _Walk(funded, reasons, remaining_at, [None] * n, spent), unmet
