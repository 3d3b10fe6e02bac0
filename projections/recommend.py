"""The funding recommendation: greedy cut line, exact optimum and efficient frontier."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from threading import Lock

from domain.lifecycle import UNDECIDED
from domain.optimize import (
    FrontierPoint,
    GreedyResult,
    GroupLimit,
    InfeasibleGuardrails,
    InfeasibleMandatory,
    OptimalResult,
    SelectionItem,
    UnfundedItem,
    frontier,
    greedy,
    optimal,
)
from domain.optimize.guard import MilpSolver
from domain.policy import Guardrail
from projections.codec import plain_row
from projections.highs import highs_solver
from projections.rows import Ledger, Overclaim, RankingRow, Recommendation, Unfunded

FRONTIER_POINTS = 20
PAGES_KEPT = 8  # pages of the unfunded list a plan keeps (decision 163)


def _in_group(row: RankingRow, g: Guardrail) -> bool:
    return g.matches(kind=row.kind, pnl=row.pnl, touchpoints=row.touchpoints,
                     functional_areas=row.functional_areas)


def _limits(rows: Sequence[RankingRow], ledger: Ledger,
            guardrails: Sequence[Guardrail]) -> list[GroupLimit]:
    """The policy's bounds of the pool as amounts on what the plan adds (committed counts):
    the rule of `domain.portfolio.group_limits`, which the write side judges decisions by."""
    pool = Decimal(ledger.amount)
    limits = []
    for g in guardrails:
        committed = sum((Decimal(r.cost) for r in rows if r.funded and _in_group(r, g)),
                        Decimal(0))
        low, high = g.minimum(pool), g.maximum(pool)
        limits.append(GroupLimit(
            name=g.name,
            keys=frozenset(r.code for r in rows if r.code is not None and _in_group(r, g)),
            minimum=None if low is None else low - committed,
            maximum=None if high is None else high - committed,
        ))
    return limits


def _statuses(rows: Sequence[RankingRow], ledger: Ledger, guardrails: Sequence[Guardrail],
              greedy_keys: Sequence[str], optimal_keys: Sequence[str] | None,
              unguarded_keys: Sequence[str] | None) -> list[dict[str, object]]:
    pool = Decimal(ledger.amount)
    cost = {r.code: Decimal(r.cost) for r in rows if r.code is not None}
    out: list[dict[str, object]] = []
    for g in guardrails:
        members = {r.code for r in rows if r.code is not None and _in_group(r, g)}
        committed = sum((Decimal(r.cost) for r in rows if r.funded and _in_group(r, g)),
                        Decimal(0))

        def spend(keys: Sequence[str], members: set[str] = members,
                  committed: Decimal = committed) -> Decimal:
            return committed + sum((cost[k] for k in keys if k in members), Decimal(0))

        low, high = g.minimum(pool), g.maximum(pool)

        def meets(amount: Decimal, low: Decimal | None = low,
                  high: Decimal | None = high) -> bool:
            return (low is None or amount >= low) and (high is None or amount <= high)

        def share(amount: Decimal) -> Decimal:
            return amount / pool if pool else Decimal(0)

        on_greedy = spend(greedy_keys)
        on_optimal = None if optimal_keys is None else spend(optimal_keys)
        out.append({
            "name": g.name, "dimension": g.dimension, "value": g.value,
            "min_share": g.min_share, "max_share": g.max_share,
            "min_amount": low, "max_amount": high,
            "greedy_spend": on_greedy, "greedy_share": share(on_greedy),
            "greedy_met": meets(on_greedy),
            "optimal_spend": on_optimal,
            "optimal_share": None if on_optimal is None else share(on_optimal),
            "binds": unguarded_keys is not None and not meets(spend(unguarded_keys)),
        })
    return out


@dataclass(frozen=True)
class Planned:
    """The part of a recommendation that does not depend on which page of the unfunded list
    is read: the greedy cut line, the exact optimum, the frontier, the guardrails' standing,
    as a `Recommendation` with no unfunded entries (`base`), and what a page needs to explain
    its entries. One read position's ranking, ledger and guardrails give one `Planned`, so
    `projections.snapshot` keeps it for every page and reader of that position (decision 161)."""

    base: Recommendation
    items: tuple[SelectionItem, ...]
    available: Decimal
    funded: frozenset[str]
    limits: tuple[GroupLimit, ...]
    unfunded: tuple[UnfundedItem, ...]  # the greedy walk's unfunded list, without extra budgets
    optimum: frozenset[str]
    rows: dict[str | None, RankingRow]
    # pages of the unfunded list already explained, by (offset, limit): the newest PAGES_KEPT
    pages: dict[tuple[int, int | None], Recommendation] = field(
        default_factory=dict, compare=False, repr=False)
    # what the selection alone decides, shared with plans whose selections are equal
    selection: _Selection | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Selection:
    """What the selection alone decides: the greedy walk, the exact optimum (or the problem
    that stops it), the unguarded optimum's keys, the frontier; and the unfunded pages' extra
    budgets, by window. A function of the undecided items, what is funded, what is available,
    the guardrails' limits and the frontier's points, so two read positions whose selections
    are equal share it (decision 270): a deferral, a four-eyes first approval, an edit of an
    initiative's text or a decision in another period leaves the selection as it was."""

    greedy: GreedyResult
    optimum: OptimalResult | None
    problem: str | None
    infeasible: tuple[str, ...]
    unguarded: tuple[str, ...] | None
    curve: tuple[FrontierPoint, ...]
    extras: dict[tuple[int, int], tuple[UnfundedItem, ...]] = field(
        default_factory=dict, compare=False, repr=False)


SELECTIONS_KEPT = 8  # selections kept per process (a few periods, each with an as-of or two)
_selections: OrderedDict[tuple[object, ...], _Selection] = OrderedDict()
_selections_lock = Lock()


def _selection_key(items: Sequence[SelectionItem], available: Decimal,
                   funded: frozenset[str], limits: Sequence[GroupLimit],
                   points: int) -> tuple[object, ...]:
    """Every input of the selection, amounts as their text (so an equal key gives results
    with the very same digits)."""
    return (
        tuple((i.key, str(i.cost), str(i.value), i.rank, i.mandatory, i.requires)
              for i in items),
        str(available), funded,
        tuple((g.name, g.keys, str(g.minimum), str(g.maximum)) for g in limits),
        points,
    )


def _select(items: Sequence[SelectionItem], available: Decimal, funded: frozenset[str],
            limits: Sequence[GroupLimit], points: int,
            solver: MilpSolver | None) -> _Selection:
    """The selection of these inputs: kept from an earlier read when they are equal (only
    with the default solver, whose answers are exact and checked), else computed."""
    key = None
    if solver is None:
        key = _selection_key(items, available, funded, limits, points)
        with _selections_lock:
            kept = _selections.get(key)
            if kept is not None:
                _selections.move_to_end(key)
                return kept
        solver = highs_solver()
    g = greedy(items, available, already_funded=funded, guardrails=limits,
               extra_budgets=False)
    infeasible: tuple[str, ...] = ()
    unguarded: tuple[str, ...] | None = None
    best: OptimalResult | None = None
    problem = None
    try:
        best = optimal(items, available, already_funded=funded, guardrails=limits,
                       solver=solver)
        if limits:
            unguarded = optimal(items, available, already_funded=funded).keys
    except InfeasibleMandatory as exc:
        problem = str(exc)
    except InfeasibleGuardrails as exc:
        problem, infeasible = str(exc), tuple(exc.guardrails)
    requested = sum((i.cost for i in items), Decimal(0))
    curve = frontier(items, points=points, budget_max=max(requested, available),
                     already_funded=funded, guardrails=limits, solver=solver) \
        if items and problem is None else []
    found = _Selection(greedy=g, optimum=best, problem=problem, infeasible=infeasible,
                       unguarded=unguarded, curve=tuple(curve))
    if key is not None:
        with _selections_lock:
            _selections[key] = found
            while len(_selections) > SELECTIONS_KEPT:
                _selections.popitem(last=False)
    return found


def planned(rows: Sequence[RankingRow], ledger: Ledger, *,
            points: int = FRONTIER_POINTS, guardrails: Sequence[Guardrail] = (),
            solver: MilpSolver | None = None) -> Planned:
    """Greedy, optimum, frontier and guardrail standing for the remaining pool, with no
    unfunded entries (`recommendation` explains a page of them). The selection's part is
    shared with an earlier plan whose selection inputs are equal (`_select`)."""
    available = Decimal(ledger.available)
    funded = frozenset(r.code for r in rows if r.funded and r.code is not None)
    items = [
        SelectionItem(key=r.code, cost=Decimal(r.cost), value=Decimal(r.cip), rank=r.rank,
                      mandatory=r.mandatory, requires=tuple(r.dependencies))
        for r in rows if r.status in UNDECIDED and r.code is not None
    ]
    limits = _limits(rows, ledger, guardrails)
    chosen = _select(items, available, funded, limits, points, solver)
    g, best = chosen.greedy, chosen.optimum
    optimum = None if best is None else {
        "keys": best.keys, "total_cost": best.total_cost,
        "total_value": best.total_value, "remaining": best.remaining}
    base = Recommendation.model_validate(plain_row({
        "period": ledger.period,
        "currency": ledger.currency,
        "available": available,
        "greedy": {"keys": g.funded, "total_cost": g.total_cost, "total_value": g.total_value,
                   "remaining": g.remaining},
        "optimal": optimum,
        "problem": chosen.problem,
        "value_left_by_greedy": None if best is None else best.total_value - g.total_value,
        "frontier": [{"budget": p.budget, "value": p.value, "cost_used": p.cost_used,
                      "keys": p.keys} for p in chosen.curve],
        "unfunded": [],
        "unfunded_total": len(g.unfunded),
        "unfunded_offset": 0,
        "overclaims": [o.model_dump() for o in overclaims(rows, set(g.funded) | funded)],
        "guardrails": _statuses(rows, ledger, guardrails, g.funded,
                                None if best is None else best.keys, chosen.unguarded),
        "infeasible_guardrails": list(chosen.infeasible),
    }))
    return Planned(base=base, items=tuple(items), available=available, funded=funded,
                   limits=tuple(limits), unfunded=g.unfunded,
                   optimum=frozenset(best.keys) if best is not None else frozenset(),
                   rows={r.code: r for r in rows}, selection=chosen)


def unfunded_page(plan: Planned, *, unfunded_offset: int = 0,
                  unfunded_limit: int | None = None) -> Recommendation:
    """The planned recommendation with one page of the unfunded list in rank order
    (`unfunded_offset`, at most `unfunded_limit`; None: all), each entry with its extra
    budget, which is computed for that page only (decision 130) and kept with the plan
    (decision 163)."""
    kept = plan.pages.get((unfunded_offset, unfunded_limit))
    if kept is not None:
        return kept
    stop = None if unfunded_limit is None else unfunded_offset + unfunded_limit
    shown = plan.unfunded[unfunded_offset:stop]
    if shown and not plan.limits:  # guarded walks explain no extra budgets (greedy.py)
        window = (unfunded_offset, unfunded_offset + len(shown))
        extras = plan.selection.extras if plan.selection is not None else {}
        explained = extras.get(window)
        if explained is None:
            g = greedy(plan.items, plan.available, already_funded=plan.funded,
                       extra_window=window)
            explained = g.unfunded[window[0]:window[1]]
            with _selections_lock:
                extras[window] = explained
                while len(extras) > PAGES_KEPT:  # the oldest windows go
                    extras.pop(next(iter(extras)))
        shown = explained
    by_code = plan.rows
    page = [Unfunded.model_validate(plain_row({
        "code": u.key, "rank": by_code[u.key].rank, "title": by_code[u.key].title,
        "reason_code": str(u.reason), "reason": u.text, "extra_budget": u.extra_budget,
        "in_optimum": u.key in plan.optimum})) for u in shown]
    found = plan.base.model_copy(update={"unfunded": page,
                                         "unfunded_offset": unfunded_offset})
    for old in list(plan.pages)[:-PAGES_KEPT + 1]:  # the oldest go (many offsets are read)
        plan.pages.pop(old, None)
    plan.pages[(unfunded_offset, unfunded_limit)] = found
    return found


def recommendation(rows: Sequence[RankingRow], ledger: Ledger, *,
                   points: int = FRONTIER_POINTS,
                   guardrails: Sequence[Guardrail] = (),
                   unfunded_offset: int = 0,
                   unfunded_limit: int | None = None,
                   solver: MilpSolver | None = None) -> Recommendation:
    """Everything a CX executive needs to choose a portfolio for the remaining pool.

    With the policy's guardrails the greedy cut line, the optimum and the frontier honour them
    (decisions 107-109); a period whose candidates cannot meet them gets no optimum, the
    conflict in `problem` and the guardrails named in `infeasible_guardrails`.
    `unfunded` lists one page of the unfunded initiatives in rank order (`unfunded_offset`,
    at most `unfunded_limit`; None: all), with `unfunded_total` counting them all: their
    extra budgets are the costly part, computed for that page only (decision 130).
    `solver` answers a guarded search that runs long (checked; decision 158): by default the
    HiGHS adapter when `highspy` imports, else our search alone. It is `planned` then
    `unfunded_page`; a caller that reads several pages of one position keeps the plan.
    """
    return unfunded_page(planned(rows, ledger, points=points, guardrails=guardrails,
                                 solver=solver),
                         unfunded_offset=unfunded_offset, unfunded_limit=unfunded_limit)


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
