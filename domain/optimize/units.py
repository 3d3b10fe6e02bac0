"""The prepared problem the exact optimum works on (steps 1 and 2 of `exact`'s docstring).

The mandatory closure is fixed, unselectable items are dropped, dependency cycles are contracted
into units, each unit gets the integer objective w = value * K - cost, and the forest relaxation
keeps one prerequisite edge per unit. Everything here is independent of the budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.optimize.graph import _acyclic_order, _closure, _strongly_connected
from domain.optimize.items import (
    InfeasibleMandatory,
    SelectionItem,
    _check_unique,
    _decimals,
    _to_int,
)


class _Units:
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
