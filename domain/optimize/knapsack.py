"""Exact knapsack tables and the incumbent heuristics (steps 4 and 6 of `exact`'s docstring).

`_Knapsack` adds to the relaxation the table over independent units (dense over multiples of
the cost gcd with trimmed cells, else a sparse Pareto list, both carrying rank tie-break bits),
the LP-order completion and the exchange heuristic that gives the search its first incumbent.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from math import gcd

from domain.optimize.relax import _Block, _Relaxation

_WINDOW = 16  # units on each side of the exchange heuristic
_DENSE_LIMIT = 4_000_000  # slots x units of the dense knapsack table
_PARETO_LIMIT = 200_000  # knapsack table states before falling back to pure branch and bound


def _first(a: int, b: int) -> bool:
    """True when mask `a` holds the lowest bit where the two masks differ."""
    diff = a ^ b
    return bool(a & diff & -diff)


class _Knapsack(_Relaxation):
    """The prepared problem with its knapsack tables and incumbent heuristics."""

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
