"""Dependency graphs over item or unit indices: closure, orders, strongly connected parts."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence


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
