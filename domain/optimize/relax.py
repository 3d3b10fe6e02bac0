"""The forest LP relaxation and Lagrangian fixing (steps 3 and 5 of `exact`'s docstring).

A layer of the prepared problem: `_Relaxation` adds to `_Units` the LP blocks (cached per set
of too-dear units, see `_Root`), the LP bound at a node, and the tree DP that fixes units in or
out against an incumbent.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from domain.optimize.items import SelectionItem
from domain.optimize.units import _Units

_Block = tuple[int, list[int], int, int]  # (root unit, members deepest last, objective, cost)


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


class _Relaxation(_Units):
    """The prepared problem with its forest LP: blocks, bounds, root cache, reduction."""

    def __init__(self, items: Sequence[SelectionItem], already_funded: frozenset[str]) -> None:
        super().__init__(items, already_funded)
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
