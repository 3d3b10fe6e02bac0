"""Knock-on effects of a decision before it is taken, and the optimum at any budget (issue 17).

Both re-run the selection the recommendation runs (`projections.recommend`: the greedy cut
line, then the exact optimum, under the policy's guardrails and with the same solver) on the
period's ranking rows and ledger, changed as the decision would change them. Nothing is
written: the rows are copied, never stored.

A decision changes the rows as the write side would (domain/decisions.py):

* approve: the initiative becomes funded and its whole cost leaves what is available (the
  dashboard's approval; a tranched approval through the API commits its first tranche only).
  Above the four-eyes threshold the first approval changes nothing yet: `effect` says
  `at_second_approval` and the figures are those of the second approval, when the money moves;
* reject: the initiative leaves the ranking (the others keep their order);
* defer: it stays in contention, so the recommendation is unchanged (`effect` `none`).

A decision the write side would refuse whatever the rationale (the initiative is decided
already, the approval costs more than is available or needs a dependency funded first,
deferring what is deferred) gets `effect` `refused` and the reason, and no figures after.

"Above the line" is what the recommendation's label counts: funded, or recommended by the
greedy walk. `shown` blanks the codes and titles of rows the caller may not read (the
redaction of `governance.read_access`, which projections may not import).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field

from domain.lifecycle import FUNDED, UNDECIDED, Status
from domain.optimize import (
    InfeasibleGuardrails,
    InfeasibleMandatory,
    OptimalResult,
    SelectionItem,
    greedy,
    optimal,
)
from domain.optimize.guard import MilpSolver
from domain.policy import Guardrail
from projections.highs import highs_solver
from projections.recommend import _limits
from projections.rows import DecimalText, Ledger, PolicyRow, RankingRow, ReadRow

Outcome = Literal["approve", "reject", "defer"]
Place = Literal["funded", "recommended", "below", "out"]
Effect = Literal["now", "at_second_approval", "none", "refused"]
ZERO = Decimal(0)


def guardrails_of(policy: PolicyRow | None) -> list[Guardrail]:
    """The policy's guardrails as the recommendation reads them (`Snapshot.recommendation`)."""
    return [
        Guardrail(g.dimension, g.value,
                  *(None if x is None else Decimal(x)
                    for x in (g.min_share, g.max_share, g.min_amount, g.max_amount)))
        for g in (policy.terms.guardrails if policy else [])
    ]


class Move(ReadRow):
    """An initiative whose place against the cut line a decision changes."""

    code: str | None
    title: str | None
    rank: int
    pnl: str | None
    cost: DecimalText
    before: Place
    after: Place


class OptimumFigures(ReadRow):
    """The exact optimum of a selection (None-free: absent when it has no optimum)."""

    keys: list[str | None]
    total_cost: DecimalText
    total_value: DecimalText


class KnockOn(ReadRow):
    """What one decision would change in its period's recommendation (nothing is written)."""

    period: str
    currency: str
    initiative_id: str
    code: str
    outcome: Outcome
    effect: Effect = Field(description=(
        "now: the decision changes the recommendation as shown; at_second_approval: a first "
        "approval above the four-eyes threshold changes nothing until the second approval, "
        "whose effect is shown; none: nothing changes; refused: the decision would be "
        "refused (see refusal)."))
    refusal: str | None
    departure: bool = Field(description=(
        "True when the decision departs from the recommendation (a rationale is required)."))
    place_before: Place
    place_after: Place
    available_before: DecimalText
    available_after: DecimalText
    committed_before: DecimalText = Field(description=(
        "Committed net of releases (the ledger's net_committed), before the decision."))
    committed_after: DecimalText = Field(description="The same after it.")
    moved_in: list[Move] = Field(description="Other initiatives that cross above the line.")
    moved_out: list[Move] = Field(description="Other initiatives that fall below the line.")
    greedy_value_before: DecimalText
    greedy_value_after: DecimalText
    optimum_before: OptimumFigures | None
    optimum_after: OptimumFigures | None
    optimum_changes: bool
    optimum_added: list[str | None]
    optimum_dropped: list[str | None]
    problem_after: str | None


class BudgetOptimum(ReadRow):
    """The efficient frontier at one pool level: what the exact optimum funds there."""

    period: str
    currency: str
    pool: DecimalText = Field(description="The period's pool as it is.")
    budget: DecimalText = Field(description="The pool level asked about.")
    committed: DecimalText = Field(description="What funded work holds (pool - available).")
    spendable: DecimalText = Field(description="What the budget leaves for undecided work.")
    budget_min: DecimalText = Field(description="The least budget: what is committed.")
    budget_max: DecimalText = Field(description=(
        "The most budget asked about: committed plus the larger of what undecided work asks "
        "and what is available (the frontier's end)."))
    optimum: OptimumFigures | None
    problem: str | None
    recommendation: OptimumFigures = Field(description="The greedy cut line as it is.")
    added: list[str | None] = Field(description="Funded at the budget, not recommended now.")
    dropped: list[str | None] = Field(description="Recommended now, not funded at the budget.")
    value_change: DecimalText | None


@dataclass(frozen=True)
class _Selection:
    above: dict[str, Place]
    greedy_keys: tuple[str, ...]
    greedy_value: Decimal
    greedy_cost: Decimal
    optimum: OptimalResult | None
    problem: str | None


def _select(rows: Sequence[RankingRow], ledger: Ledger, guardrails: Sequence[Guardrail],
            solver: MilpSolver | None, *, budget: Decimal | None = None,
            made: dict[str, SelectionItem] | None = None,
            also_funded: frozenset[str] = frozenset(), exact: bool = True) -> _Selection:
    """The recommendation's greedy walk and exact optimum (`projections.recommend`), for
    `budget` to spend (default: what is available). `made` keeps the items built for one
    code across calls: the optimiser prepares a problem once for the very same item objects
    and funded set (domain/optimize/exact.py `_prepared`), so the knock-ons of approving and
    of rejecting share one (`also_funded`: a code counted funded, which changes nothing when
    no item requires it)."""
    available = Decimal(ledger.available) if budget is None else budget
    funded = frozenset(r.code for r in rows if r.funded and r.code is not None) | also_funded
    made = {} if made is None else made
    items = []
    for r in rows:
        if r.status in UNDECIDED and r.code is not None:
            item = made.get(r.code)
            if item is None:
                item = made[r.code] = SelectionItem(
                    key=r.code, cost=Decimal(r.cost), value=Decimal(r.cip), rank=r.rank,
                    mandatory=r.mandatory, requires=tuple(r.dependencies))
            items.append(item)
    limits = _limits(rows, ledger, guardrails)
    g = greedy(items, available, already_funded=funded, guardrails=limits,
               extra_budgets=False)
    best: OptimalResult | None = None
    problem = None
    try:
        if exact:  # (the greedy walk alone: `exact` False)
            best = optimal(items, available, already_funded=funded, guardrails=limits,
                           solver=solver)
    except (InfeasibleMandatory, InfeasibleGuardrails) as exc:
        problem = str(exc)
    above: dict[str, Place] = {code: "funded" for code in funded}
    above.update({code: "recommended" for code in g.funded})
    return _Selection(above, g.funded, g.total_value, g.total_cost, best, problem)


def _blank(codes: Iterable[str], shown: set[str] | None) -> list[str | None]:
    return [c if shown is None or c in shown else None for c in codes]


def _figures(best: OptimalResult | None, shown: set[str] | None) -> OptimumFigures | None:
    if best is None:
        return None
    return OptimumFigures(keys=_blank(best.keys, shown), total_cost=str(best.total_cost),
                          total_value=str(best.total_value))


def _refusal(row: RankingRow, outcome: Outcome, rows: Sequence[RankingRow],
             available: Decimal, currency: str) -> str | None:
    """Why the write side would refuse the decision whatever its rationale (None: it would
    not), in the order domain/decisions.py checks its rules."""
    if row.status not in UNDECIDED:
        return f"{row.code} is {row.status}; it can no longer be decided"
    if outcome == "approve":
        if Decimal(row.cost) > available:
            sign = "$" if currency == "USD" else f"{currency} "
            return (f"{row.code} costs {sign}{Decimal(row.cost):,.0f}, more than the "
                    f"{sign}{available:,.0f} available: the pool is never overspent")
        funded = {r.code for r in rows if r.status in FUNDED}
        missing = [d for d in row.dependencies if d not in funded]
        if missing:
            return f"{row.code} needs {', '.join(missing)} funded first"
    if outcome == "defer" and row.status == Status.DEFERRED:
        return f"{row.code} is deferred already"
    return None


def knock_on(rows: Sequence[RankingRow], ledger: Ledger, *, code: str, outcome: Outcome,
             guardrails: Sequence[Guardrail] = (), four_eyes: Decimal | None = None,
             shown: set[str] | None = None, solver: MilpSolver | None = None) -> KnockOn:
    """What deciding `outcome` on the initiative `code` would change (ValueError when `code`
    is not in the ranking: only undecided and funded initiatives are ranked)."""
    return knock_ons(rows, ledger, code=code, outcomes=(outcome,), guardrails=guardrails,
                     four_eyes=four_eyes, shown=shown, solver=solver)[outcome]


def knock_ons(rows: Sequence[RankingRow], ledger: Ledger, *, code: str,
              outcomes: Sequence[Outcome] = ("approve", "reject", "defer"),
              guardrails: Sequence[Guardrail] = (), four_eyes: Decimal | None = None,
              shown: set[str] | None = None,
              solver: MilpSolver | None = None) -> dict[Outcome, KnockOn]:
    """`knock_on` for each of `outcomes`, the recommendation as it is computed once."""
    row = next((r for r in rows if r.code == code), None)
    if row is None or row.id is None:
        raise ValueError(f"{code} is not ranked in {ledger.period}")
    if solver is None:
        solver = highs_solver()
    made: dict[str, SelectionItem] = {}
    before = _select(rows, ledger, guardrails, solver, made=made)
    return {outcome: _knock_on(rows, ledger, row, outcome, before, guardrails=guardrails,
                               four_eyes=four_eyes, shown=shown, solver=solver, made=made)
            for outcome in outcomes}


def _knock_on(rows: Sequence[RankingRow], ledger: Ledger, row: RankingRow, outcome: Outcome,
              before: _Selection, *, guardrails: Sequence[Guardrail],
              four_eyes: Decimal | None, shown: set[str] | None,
              solver: MilpSolver | None, made: dict[str, SelectionItem]) -> KnockOn:
    code, initiative_id = row.code or "", row.id or ""
    # committed net of releases (stops, descopes), as the ledger page and the what-if show it
    available, committed = Decimal(ledger.available), Decimal(ledger.net_committed)
    cost = Decimal(row.cost)
    refusal = _refusal(row, outcome, rows, available, ledger.currency)
    after_rows: list[RankingRow] = list(rows)
    after_ledger = ledger
    effect: Effect = "now"
    if refusal is not None:
        effect = "refused"
    elif outcome == "approve":
        if (row.status != Status.PENDING_SECOND_APPROVAL and four_eyes is not None
                and cost > four_eyes):
            effect = "at_second_approval"
        after_rows = [r.model_copy(update={"status": str(Status.APPROVED), "funded": True})
                      if r.code == code else r for r in rows]
        after_ledger = ledger.model_copy(update={
            "available": str(available - cost),
            "committed": str(Decimal(ledger.committed) + cost),
            "net_committed": str(committed + cost)})
    elif outcome == "reject":
        after_rows = [r for r in rows if r.code != code]
    else:
        effect = "none"  # deferred work stays in contention: nothing moves
        after_rows = [r.model_copy(update={"status": str(Status.DEFERRED)})
                      if r.code == code else r for r in rows]
    # rejected work without dependants: counted funded, as the approval's problem has it
    alone = frozenset({code}) if outcome == "reject" and not any(
        code in r.dependencies for r in rows) else frozenset()
    after = before if effect in ("refused", "none") else _select(
        after_rows, after_ledger, guardrails, solver, made=made, also_funded=alone)
    moves = _moves(rows, before.above, after.above, code, shown)
    best_before, best_after = before.optimum, after.optimum
    keys_before = set(best_before.keys) if best_before else set()
    keys_after = set(best_after.keys) if best_after else set()
    place_after: Place = ("out" if outcome == "reject" and refusal is None
                          else after.above.get(code, "below"))
    return KnockOn(
        period=ledger.period, currency=ledger.currency, initiative_id=initiative_id, code=code,
        outcome=outcome, effect=effect, refusal=refusal,
        departure=row.recommended != (outcome == "approve"),
        place_before=before.above.get(code, "below"), place_after=place_after,
        available_before=str(available), available_after=after_ledger.available,
        committed_before=str(committed), committed_after=after_ledger.net_committed,
        moved_in=[m for m in moves if m.after != "below"],
        moved_out=[m for m in moves if m.after == "below"],
        greedy_value_before=str(before.greedy_value), greedy_value_after=str(after.greedy_value),
        optimum_before=_figures(best_before, shown), optimum_after=_figures(best_after, shown),
        optimum_changes=(best_before is None) != (best_after is None)
        or keys_before - {code} != keys_after - {code},
        optimum_added=_blank(_ranked(keys_after - keys_before - {code}, rows), shown),
        optimum_dropped=_blank(_ranked(keys_before - keys_after - {code}, rows), shown),
        problem_after=after.problem,
    )


def _ranked(codes: set[str], rows: Sequence[RankingRow]) -> list[str]:
    return [r.code for r in rows if r.code in codes]


def _moves(rows: Sequence[RankingRow], before: dict[str, Place], after: dict[str, Place],
           code: str, shown: set[str] | None) -> list[Move]:
    """The other rows that cross the line, in rank order."""
    found = []
    for r in rows:
        if r.code is None or r.code == code:
            continue
        was, now = before.get(r.code, "below"), after.get(r.code, "below")
        if (was == "below") != (now == "below"):
            hidden = shown is not None and r.code not in shown
            found.append(Move(code=None if hidden else r.code, title=None if hidden else r.title,
                              rank=r.rank, pnl=r.pnl, cost=r.cost, before=was, after=now))
    return found


def budget_bounds(rows: Sequence[RankingRow], ledger: Ledger) -> tuple[Decimal, Decimal]:
    """The least and the most pool level the what-if asks about: what is committed, and that
    plus the larger of what undecided work asks and what is available (the frontier's end,
    `projections.recommend`)."""
    committed = Decimal(ledger.amount) - Decimal(ledger.available)
    requested = sum((Decimal(r.cost) for r in rows if r.status in UNDECIDED), ZERO)
    return committed, committed + max(requested, Decimal(ledger.available))


def optimum_at(rows: Sequence[RankingRow], ledger: Ledger, budget: Decimal, *,
               guardrails: Sequence[Guardrail] = (), shown: set[str] | None = None,
               solver: MilpSolver | None = None) -> BudgetOptimum:
    """The exact optimum if the pool were `budget` (what it leaves for undecided work: budget
    less what is committed), beside the greedy cut line as it is. Guardrail amounts stay those
    of the pool as it is, as on the frontier (domain/optimize/frontier.py). ValueError outside
    `budget_bounds`."""
    low, high = budget_bounds(rows, ledger)
    if not low <= budget <= high:
        raise ValueError(f"budget {budget:,.0f} is outside {low:,.0f} to {high:,.0f}")
    if solver is None:
        solver = highs_solver()
    spendable = budget - low
    made: dict[str, SelectionItem] = {}
    now = _select(rows, ledger, guardrails, solver, made=made, exact=False)  # the cut line
    there = _select(rows, ledger, guardrails, solver, budget=spendable, made=made)
    best = there.optimum
    chosen = set(best.keys) if best else set()
    recommended = set(now.greedy_keys)
    return BudgetOptimum(
        period=ledger.period, currency=ledger.currency, pool=ledger.amount, budget=str(budget),
        committed=str(low), spendable=str(spendable), budget_min=str(low),
        budget_max=str(high), optimum=_figures(best, shown), problem=there.problem,
        recommendation=OptimumFigures(keys=_blank(now.greedy_keys, shown),
                                      total_cost=str(now.greedy_cost),
                                      total_value=str(now.greedy_value)),
        added=_blank(_ranked(chosen - recommended, rows), shown),
        dropped=_blank(_ranked(recommended - chosen, rows), shown),
        value_change=None if best is None else str(best.total_value - now.greedy_value),
    )
