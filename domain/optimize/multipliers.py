"""Guardrail multipliers for `guard`: the Lagrangian dual of the LP without dependencies.

The LP relaxation of the guarded problem without its dependencies has one multiplier per
guardrail (nu_g >= 0 for a minimum, <= 0 for a maximum) and one for the budget. Units with the
same group shares form a cell whose ratios all shift by the same amount, so after one sort per
cell the dual at given nu is a bisection on the budget multiplier, O(cells log n) per step. A
pattern search in floats (steps growing after a success, halving after a failure, so that an
infeasible system's unbounded dual is followed far) picks nu. Floats only pick multipliers:
any multipliers give a valid bound, and `guard` checks everything in exact integers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import product

_EVALS = 240  # dual evaluations of the pattern search
_BISECTIONS = 48  # of the budget multiplier per evaluation
_GROWTH = 1e12  # the largest step, in units of the largest ratio


class _Cells:
    """Units grouped by their group shares; the dual of the LP without dependencies."""

    def __init__(
        self,
        units: Sequence[int],
        w: Sequence[int],
        c: Sequence[int],
        a: Sequence[Sequence[int]],
        low: Sequence[int | None],
        high: Sequence[int | None],
        cap: int,
    ) -> None:
        by_shares: dict[tuple[float, ...], list[int]] = {}
        for u in units:
            by_shares.setdefault(tuple(row[u] / c[u] for row in a), []).append(u)
        self.cap = float(cap)
        self.low, self.high = low, high
        self.cells: list[tuple[tuple[float, ...], list[float], list[float], list[float]]] = []
        top = 0.0
        for shares, members in by_shares.items():
            ratios = sorted(((w[u] / c[u], c[u]) for u in members), reverse=True)
            neg = [-r for r, _ in ratios]  # ascending, for bisect
            pc, pw = [0.0], [0.0]
            for r, cu in ratios:
                pc.append(pc[-1] + cu)
                pw.append(pw[-1] + r * cu)
            self.cells.append((shares, neg, pc, pw))
            top = max(top, *(abs(r) for r, _ in ratios))
        self.scale = top or 1.0

    def _at(self, lam: float, shifts: list[float]) -> tuple[float, float]:
        """(LP value at lam, capacity used) for the cells, each shifted by its nu share."""
        value = used = 0.0
        for (_, neg, pc, pw), shift in zip(self.cells, shifts, strict=True):
            theta = lam - shift
            k = bisect_left(neg, -theta)  # ratios > theta
            value += pw[k] - theta * pc[k]
            used += pc[k]
        return value, used

    def dual(self, nu: Sequence[float]) -> float:
        """min over lam >= 0 of the Lagrangian bound (bisection on lam)."""
        penalty = 0.0
        for n, lo, hi in zip(nu, self.low, self.high, strict=True):
            bound = lo if n >= 0 else hi
            penalty += n * (bound or 0)
        shifts = [sum(n * s for n, s in zip(nu, cell[0], strict=True)) for cell in self.cells]
        value, used = self._at(0.0, shifts)
        if used <= self.cap:
            return value - penalty
        lo_l, hi_l = 0.0, self.scale + sum(abs(n) for n in nu) + 1.0
        for _ in range(_BISECTIONS):
            mid = (lo_l + hi_l) / 2
            if self._at(mid, shifts)[1] > self.cap:
                lo_l = mid
            else:
                hi_l = mid
        best = min(self._at(x, shifts)[0] + x * self.cap for x in (lo_l, hi_l))
        return best - penalty

    def allowed(self, nu: Sequence[float]) -> bool:
        return all(
            (n <= 0 or lo is not None) and (n >= 0 or hi is not None)
            for n, lo, hi in zip(nu, self.low, self.high, strict=True)
        )

    def search(self) -> list[float]:
        """Pattern search for multipliers with a low dual bound."""
        k = len(self.low)
        nu = [0.0] * k
        best = self.dual(nu)
        directions = [d for d in product((-1, 0, 1), repeat=k) if any(d)]
        step, evals = self.scale, 1
        while evals < _EVALS and step > self.scale * 1e-7:
            moved = False
            for d in directions:
                trial = [n + step * x for n, x in zip(nu, d, strict=True)]
                if not self.allowed(trial):
                    continue
                value = self.dual(trial)
                evals += 1
                if value < best:
                    best, nu, moved = value, trial, True
                    break
            if moved:
                step = min(step * 2, self.scale * _GROWTH)
            else:
                step /= 2
        return nu
