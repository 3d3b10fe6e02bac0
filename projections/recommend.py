"""The funding recommendation: greedy cut line, exact optimum and efficient frontier."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.lifecycle import UNDECIDED
from domain.optimize import InfeasibleMandatory, SelectionItem, frontier, greedy, optimal
from projections.codec import plain_row
from projections.rows import Ledger, Overclaim, RankingRow, Recommendation

FRONTIER_POINTS = 20


def recommendation(rows: Sequence[RankingRow], ledger: Ledger, *,
                   points: int = FRONTIER_POINTS) -> Recommendation:
    """Everything a CX executive needs to choose a portfolio for the remaining pool."""
    available = Decimal(ledger.available)
    funded = frozenset(r.code for r in rows if r.funded and r.code is not None)
    items = [
        SelectionItem(key=r.code, cost=Decimal(r.cost), value=Decimal(r.cip), rank=r.rank,
                      mandatory=r.mandatory, requires=tuple(r.dependencies))
        for r in rows if r.status in UNDECIDED and r.code is not None
    ]
    g = greedy(items, available, already_funded=funded)
    try:
        best = optimal(items, available, already_funded=funded)
        optimum = {"keys": best.keys, "total_cost": best.total_cost,
                   "total_value": best.total_value, "remaining": best.remaining}
        problem = None
    except InfeasibleMandatory as exc:
        optimum, problem = None, str(exc)
    requested = sum((i.cost for i in items), Decimal(0))
    curve = frontier(items, points=points, budget_max=max(requested, available),
                     already_funded=funded) if items and problem is None else []
    reasons = {u.key: u for u in g.unfunded}
    by_code = {r.code: r for r in rows}
    return Recommendation.model_validate(plain_row({
        "period": ledger.period,
        "currency": ledger.currency,
        "available": available,
        "greedy": {"keys": g.funded, "total_cost": g.total_cost, "total_value": g.total_value,
                   "remaining": g.remaining},
        "optimal": optimum,
        "problem": problem,
        "value_left_by_greedy": (best.total_value - g.total_value) if optimum else None,
        "frontier": [{"budget": p.budget, "value": p.value, "cost_used": p.cost_used,
                      "keys": p.keys} for p in curve],
        "unfunded": [
            {"code": u.key, "rank": by_code[u.key].rank, "title": by_code[u.key].title,
             "reason_code": str(u.reason), "reason": u.text, "extra_budget": u.extra_budget,
             "in_optimum": bool(optimum and u.key in best.keys)}
            for u in sorted(reasons.values(), key=lambda u: by_code[u.key].rank)
        ],
        "overclaims": [o.model_dump() for o in overclaims(rows, set(g.funded) | funded)],
    }))


def overclaims(rows: Sequence[RankingRow], selected: set[str]) -> list[Overclaim]:
    """Metrics whose selected claims add up to more than the whole gap (double counting)."""
    totals: dict[str, Decimal] = {}
    for r in rows:
        if r.code in selected:
            for line in r.lines:
                share = Decimal(line.reach) * Decimal(line.gap_closed)
                totals[line.metric] = totals.get(line.metric, Decimal(0)) + share
    return [Overclaim(metric=m, claimed_gap_share=str(total), overclaimed=total > 1)
            for m, total in sorted(totals.items(), key=lambda kv: -kv[1])]
