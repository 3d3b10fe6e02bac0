"""The recommendation's greedy cut line, re-implemented from the published rule (DOMAIN.md 4.2).

Independent of the service (nothing of it is imported): an auditor re-derives, for a period's
ranking at a decision's log position, which undecided initiatives the recommendation funds,
and so the decision's `recommended` flag and `cut_line_rank`. The rule, as the service states
it:

1. rank everything in contention (undecided or funded) by score, the policy's tie-breaks, then
   submission order;
2. the walk covers the undecided ones only: first the mandatory ones and everything they
   (transitively) depend on, prerequisites first and otherwise in rank order; then the rest in
   rank order;
3. an item is funded when it is mandatory (or a mandatory one's prerequisite) or adds value
   (CIP > 0), when every dependency is funded already (by an earlier decision, or earlier in
   this walk; a dependency that is neither funded nor undecided in the period can never be
   met, nor can anything that depends on it), and when it fits what is left of the pool;
4. the cut line is the lowest rank that is funded already or funded by the walk.

Policies with guardrails change the walk (minimum shares first); those are not re-derived
here: the caller reports them as not re-derived rather than risk a false finding.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext


@dataclass(frozen=True)
class Item:
    """One undecided initiative as the walk sees it, in rank order (rank 1 = best)."""

    code: str
    rank: int
    cost: Decimal
    value: Decimal  # the CIP
    mandatory: bool = False
    requires: tuple[str, ...] = ()


def _closure(start: Sequence[int], deps: Sequence[Sequence[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(start)
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(deps[i])
    return seen


def _prerequisites_first(members: list[int], deps: Sequence[Sequence[int]]) -> list[int]:
    """`members` (in rank order) reordered so that prerequisites come first, otherwise in rank
    order; members on a dependency cycle keep rank order after the rest."""
    inside = set(members)
    waiting = {i: sum(1 for d in deps[i] if d in inside) for i in members}
    dependants: dict[int, list[int]] = {i: [] for i in members}
    for i in members:
        for d in deps[i]:
            if d in inside:
                dependants[d].append(i)
    rank = {i: n for n, i in enumerate(members)}
    ready = [(rank[i], i) for i in members if waiting[i] == 0]
    heapq.heapify(ready)
    out: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        out.append(i)
        for j in dependants[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, (rank[j], j))
    placed = set(out)
    return out + [i for i in members if i not in placed]


def greedy_funded(
    items: Sequence[Item], budget: Decimal, already_funded: frozenset[str]
) -> set[str]:
    """The codes the greedy walk funds from `budget` (module docstring, rules 2 and 3)."""
    items = sorted(items, key=lambda it: (it.rank, it.code))
    index = {it.code: n for n, it in enumerate(items)}
    deps: list[list[int]] = [[] for _ in items]
    impossible = [False] * len(items)
    for n, it in enumerate(items):
        for code in it.requires:
            if code in already_funded:
                continue
            if code in index:
                deps[n].append(index[code])
            else:
                impossible[n] = True
    dependants: list[list[int]] = [[] for _ in items]
    for n, needs in enumerate(deps):
        for d in needs:
            dependants[d].append(n)
    for n in _closure([n for n, bad in enumerate(impossible) if bad], dependants):
        impossible[n] = True
    mandatory = _closure([n for n, it in enumerate(items) if it.mandatory], deps)
    order = _prerequisites_first([n for n in range(len(items)) if n in mandatory], deps) + [
        n for n in range(len(items)) if n not in mandatory
    ]
    funded = [False] * len(items)
    spent = Decimal(0)
    with localcontext() as exact:
        exact.prec = 60  # sums of money, exactly
        for n in order:
            it = items[n]
            if n not in mandatory and it.value <= 0:
                continue
            if impossible[n] or not all(funded[d] for d in deps[n]):
                continue
            if spent + it.cost <= budget:
                funded[n] = True
                spent += it.cost
    return {items[n].code for n in range(len(items)) if funded[n]}


def cut_line_rank(funded_ranks: Sequence[int], recommended_ranks: Sequence[int]) -> int | None:
    """The lowest rank above the cut line: funded already, or funded by the walk."""
    ranks = [*funded_ranks, *recommended_ranks]
    return max(ranks) if ranks else None


@dataclass(frozen=True)
class Limit:
    """A guardrail as the walk takes it: bounds on what the walk adds within a group of codes
    (the policy's share of the pool, or its amount, less what the group has funded already)."""

    codes: frozenset[str]
    minimum: Decimal | None
    maximum: Decimal | None


def guarded_funded(
    items: Sequence[Item], budget: Decimal, already_funded: frozenset[str], limits: Sequence[Limit]
) -> set[str]:
    """The guarded walk (decision 107): mandatory work first, as always; then, guardrail by
    guardrail in the policy's order, the best-ranked members that add value, each with its
    unfunded prerequisites, until the group's minimum is met (skipped when it would not fit or
    would pass any maximum); then the usual rank-order walk, skipping what would pass a
    maximum."""
    items = sorted(items, key=lambda it: (it.rank, it.code))
    index = {it.code: n for n, it in enumerate(items)}
    deps: list[list[int]] = [[] for _ in items]
    impossible = [False] * len(items)
    for n, it in enumerate(items):
        for code in it.requires:
            if code in index:
                deps[n].append(index[code])
            elif code not in already_funded:
                impossible[n] = True
    dependants: list[list[int]] = [[] for _ in items]
    for n, needs in enumerate(deps):
        for d in needs:
            dependants[d].append(n)
    for n in _closure([n for n, bad in enumerate(impossible) if bad], dependants):
        impossible[n] = True
    mandatory = _closure([n for n, it in enumerate(items) if it.mandatory], deps)
    order = _prerequisites_first([n for n in range(len(items)) if n in mandatory], deps) + [
        n for n in range(len(items)) if n not in mandatory
    ]
    place = {n: p for p, n in enumerate(order)}
    eligible = [
        not impossible[n] and (n in mandatory or items[n].value > 0) for n in range(len(items))
    ]
    funded = [False] * len(items)
    spend = [Decimal(0)] * len(limits)
    spent = Decimal(0)

    def fund(members: list[int]) -> None:
        nonlocal spent
        for n in members:
            funded[n] = True
            spent += items[n].cost
            for g, limit in enumerate(limits):
                if items[n].code in limit.codes:
                    spend[g] += items[n].cost

    def passes_maximum(members: list[int]) -> bool:
        for g, limit in enumerate(limits):
            added = sum(
                (items[n].cost for n in members if items[n].code in limit.codes), Decimal(0)
            )
            if limit.maximum is not None and spend[g] + added > limit.maximum:
                return True
        return False

    with localcontext() as exact:
        exact.prec = 60  # sums of money, exactly
        for n in (n for n in order if n in mandatory):
            if impossible[n] or not all(funded[d] for d in deps[n]):
                continue
            if spent + items[n].cost <= budget:
                fund([n])
        for g, limit in enumerate(limits):
            if limit.minimum is None:
                continue
            for n in order:
                if spend[g] >= limit.minimum:
                    break
                it = items[n]
                if it.code not in limit.codes or funded[n] or n in mandatory or not eligible[n]:
                    continue
                if it.value <= 0:
                    continue
                needed = sorted(
                    (j for j in _closure([n], deps) if not funded[j]), key=place.__getitem__
                )
                if any(not eligible[j] for j in needed):
                    continue
                if spent + sum((items[j].cost for j in needed), Decimal(0)) > budget:
                    continue
                if not passes_maximum(needed):
                    fund(needed)
        for n in order:
            if funded[n] or n in mandatory or items[n].value <= 0:
                continue
            if impossible[n] or not all(funded[d] for d in deps[n]):
                continue
            if spent + items[n].cost <= budget and not passes_maximum([n]):
                fund([n])
    return {items[n].code for n in range(len(items)) if funded[n]}
