"""Fair shares (issue 16, part 3): the Method of Equal Shares beside the greedy and exact plans.

cxgov as a participatory budget (decision 92):

* the budget is the pool still available (what the recommendation spends);
* the projects are the period's undecided initiatives, at their cost (dependencies and
  "mandatory" are not part of the rule: see the decision);
* the voters are the P&Ls of the directory; each P&L's budget is its share of the P&Ls'
  OpEx (the pool is a cap on company OpEx, so each P&L is entitled to what it pays in);
  when a P&L has no OpEx on record every P&L gets an equal share;
* a P&L's utility for an initiative is the initiative's customer impact (CIP) that falls to
  it: all of a P&L initiative's CIP to its own P&L, and a cross-P&L initiative's CIP shared
  by every P&L in proportion to its OpEx (its budget share). Every initiative's utilities
  add up to its CIP, so "value" means the same in every plan.

The rule is the Method of Equal Shares with additive (cardinal) utilities: each round funds
the initiative with the lowest price per unit of utility `rho` its supporters can still pay
(each pays `min(budget left, rho * utility)`), ties to the better ranked initiative. Shown
plain (`equal_shares`) and completed as participatory budgets run it (`equal_shares_completed`:
budgets raised 1% of the pool at a time while the outcome still fits, decision 93).
Arithmetic is exact (fractions); money is shown as Decimal to the cent.
It is checked against `pabutools` (tests/unit/test_fairshare.py).
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from domain.lifecycle import UNDECIDED
from projections.rows import (
    DecimalText,
    Ledger,
    PnlRow,
    RankingRow,
    ReadRow,
    Recommendation,
)

CENT = Decimal("0.01")
SHARE = Decimal("0.0001")
#: Completion raises the P&Ls' notional budget by this fraction of the pool per run.
COMPLETION_STEP = Fraction(1, 100)
#: ... at most this many times (a bound on the read's work; reached only when the initiatives
#: asked for cost about 30 times the pool).
COMPLETION_RUNS = 3000


@dataclass(frozen=True)
class Project:
    """An initiative as a participatory-budgeting project."""

    key: str
    cost: Fraction
    rank: int
    utilities: Mapping[str, Fraction]  # voter -> utility (> 0 only)


@dataclass(frozen=True)
class EqualShares:
    """The outcome of the Method of Equal Shares: the selection in order and who paid what."""

    selected: tuple[str, ...]
    payments: Mapping[str, Mapping[str, Fraction]]  # key -> voter -> amount
    budgets_left: Mapping[str, Fraction]


def _price(project: Project, budgets: Mapping[str, Fraction]) -> Fraction | None:
    """The least `rho` at which the supporters can pay the cost (None: they cannot)."""
    if len(project.utilities) == 1:  # one supporter: pays it all, or cannot (same answer)
        ((voter, utility),) = project.utilities.items()
        return project.cost / utility if budgets[voter] >= project.cost else None
    supporters = sorted(project.utilities, key=lambda v: budgets[v] / project.utilities[v])
    if sum((budgets[v] for v in supporters), Fraction(0)) < project.cost:
        return None
    paid, weight = Fraction(0), sum(project.utilities.values(), Fraction(0))
    for voter in supporters:
        rho = (project.cost - paid) / weight
        if rho * project.utilities[voter] <= budgets[voter]:
            return rho
        paid += budgets[voter]
        weight -= project.utilities[voter]
    return None  # unreachable: the supporters' budgets cover the cost


#: A heap entry: (the price as a float, the exact price, rank, key). The float only speeds the
#: comparison: float() of a fraction is correctly rounded, so it never orders two prices
#: against their exact order, and equal floats fall through to the exact prices.
Entry = tuple[float, Fraction, int, str]


def _entry(rho: Fraction, rank: int, key: str) -> Entry:
    return (float(rho), rho, rank, key)


def fixed_prices(projects: Sequence[Project]) -> dict[str, tuple[str, Fraction, Entry]]:
    """The projects one voter supports: their price does not depend on the budgets (the
    whole cost over the utility, when the voter can pay it): key -> (voter, cost, entry)."""
    found = {}
    for p in projects:
        if len(p.utilities) == 1 and p.cost >= 0:
            ((voter, utility),) = p.utilities.items()
            found[p.key] = (voter, p.cost, _entry(p.cost / utility, p.rank, p.key))
    return found


def bounds(projects: Sequence[Project]) -> list[Entry]:
    """Each project's first lower bound on its price (cost / total utility), as a heap."""
    heap = [_entry(p.cost / sum(p.utilities.values(), Fraction(0)), p.rank, p.key)
            for p in projects if p.utilities and p.cost >= 0]
    heapq.heapify(heap)
    return heap


def equal_shares(projects: Sequence[Project], budgets: Mapping[str, Fraction], *,
                 start: Sequence[Entry] | None = None,
                 fixed: Mapping[str, tuple[str, Fraction, Entry]] | None = None,
                 ) -> EqualShares:
    """The Method of Equal Shares with additive utilities (exact; ties to the lower rank).

    Budgets only fall, so an initiative's price never falls: the last price found (at first,
    cost / total utility) is a lower bound, and a round stops pricing once the next bound
    cannot beat the best price found (as pabutools does). `start` and `fixed`:
    `bounds(projects)` and `fixed_prices(projects)`, computed once by a caller that runs the
    method again on the same projects."""
    left = dict(budgets)
    by_key = {p.key: p for p in projects if p.utilities and p.cost >= 0}
    heap = list(start) if start is not None else bounds(projects)
    if fixed is None:
        fixed = fixed_prices(projects)
    selected: list[str] = []
    payments: dict[str, dict[str, Fraction]] = {}
    while heap:
        best: Entry | None = None
        priced: list[Entry] = []
        while heap and (best is None or heap[0][:3] <= best[:3]):
            _, _, rank, key = heapq.heappop(heap)
            one = fixed.get(key)
            if one is not None:  # one supporter: its price, if it can pay the whole cost
                if left[one[0]] < one[1]:
                    continue  # budgets only fall: never affordable again
                entry = one[2]
            else:
                rho = _price(by_key[key], left)
                if rho is None:
                    continue  # budgets only fall: never affordable again
                entry = _entry(rho, rank, key)
            priced.append(entry)
            if best is None or entry[:3] < best[:3]:
                best = entry
        if best is None:
            break
        _, rho, _, key = best
        chosen = by_key[key]
        paid = {v: min(left[v], rho * u) for v, u in chosen.utilities.items()}
        for voter, amount in paid.items():
            left[voter] -= amount
        payments[key] = paid
        selected.append(key)
        for entry in priced:
            if entry[3] != key:
                heapq.heappush(heap, entry)
    return EqualShares(tuple(selected), payments, left)


def completed_equal_shares(projects: Sequence[Project], weights: Mapping[str, Fraction],
                           budget: Fraction, step: Fraction, *,
                           runs: int = 0) -> tuple[EqualShares, Fraction]:
    """Equal shares completed by raising every budget ("Add1", pabutools'
    `voter_budget_increment`): run again with the notional total raised by `step` (shared by
    the weights) until the outcome leaves no affordable initiative out, and keep the last
    outcome that fits `budget`; at most `runs` runs (0: `COMPLETION_RUNS`). Returns the
    outcome and the notional total it ran with."""
    # initiatives some P&L with a budget wants (the others are never affordable)
    eligible = [p for p in projects if p.cost > 0 and any(weights.get(v, 0) > 0
                                                          for v in p.utilities)]
    total = budget
    start, fixed = bounds(projects), fixed_prices(projects)  # the same for every run
    previous = equal_shares(projects, {v: total * w for v, w in weights.items()}, start=start,
                            fixed=fixed)
    ran_with = total
    if step <= 0:
        return previous, ran_with
    outcome = previous
    for _ in range(runs or COMPLETION_RUNS):
        chosen = set(outcome.selected)
        cost = sum((p.cost for p in projects if p.key in chosen), Fraction(0))
        if cost > budget:
            return previous, ran_with
        previous, ran_with = outcome, total
        if all(cost + p.cost > budget for p in eligible if p.key not in chosen):
            return outcome, total
        total += step
        outcome = equal_shares(projects, {v: total * w for v, w in weights.items()},
                               start=start, fixed=fixed)
    return previous, ran_with  # the runs are spent: the last outcome that fitted


# --- the read row -------------------------------------------------------------------------


class PnlShare(ReadRow):
    """One P&L's part of a plan: what it is entitled to, what it gets and pays."""

    pnl: str
    entitlement: DecimalText  # its budget share (0..1)
    spend: DecimalText  # cost of its initiatives + its OpEx share of cross-P&L ones
    spend_share: DecimalText | None  # of the plan's cost (None: the plan spends nothing)
    value: DecimalText  # CIP that falls to it (its utility)
    value_share: DecimalText | None  # of the plan's value
    paid: DecimalText | None  # Method of Equal Shares: what its budget paid (else None)


class FairPlan(ReadRow):
    """A selection for the remaining pool and how it treats each P&L."""

    rule: str  # greedy | optimal | equal_shares | equal_shares_completed
    keys: list[str | None]
    total_cost: DecimalText
    total_value: DecimalText
    unspent: DecimalText
    value_given_up: DecimalText | None  # against the exact optimum (None: no optimum)
    by_pnl: list[PnlShare]
    notional_budget: DecimalText | None = None  # equal shares: the total the P&Ls shared


class FairShares(ReadRow):
    """Fair shares of a period's remaining pool: the proportional plan beside the others."""

    period: str
    currency: str
    available: DecimalText
    basis: str  # "opex": budgets follow the P&Ls' OpEx; "equal": equal budgets
    voters: list[str]
    plans: list[FairPlan]
    value_given_up: DecimalText | None  # optimum's value - completed equal shares' value
    value_given_up_percent: DecimalText | None
    problem: str | None


def _money(x: Fraction | Decimal) -> str:
    value = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else x
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))


def _value(x: Fraction) -> str:
    """Customer impact points, to four places."""
    return str((Decimal(x.numerator) / Decimal(x.denominator)).quantize(SHARE, ROUND_HALF_EVEN))


def _share(part: Fraction, whole: Fraction) -> str | None:
    if whole == 0:
        return None
    x = part / whole
    return str((Decimal(x.numerator) / Decimal(x.denominator)).quantize(SHARE, ROUND_HALF_EVEN))


def entitlements(pnls: Sequence[PnlRow]) -> tuple[str, dict[str, Fraction]]:
    """Each P&L's budget share: by OpEx when every P&L has one (and they add up to more than
    nothing), else equal."""
    if not pnls:
        return "equal", {}
    opex = [Fraction(Decimal(p.opex)) if p.opex is not None else None for p in pnls]
    if all(o is not None and o >= 0 for o in opex):
        total = sum((o for o in opex if o is not None), Fraction(0))
        if total > 0:
            return "opex", {p.code: (o or Fraction(0)) / total
                            for p, o in zip(pnls, opex, strict=True)}
    return "equal", {p.code: Fraction(1, len(pnls)) for p in pnls}


def projects_of(rows: Sequence[RankingRow], weights: Mapping[str, Fraction]) -> list[Project]:
    """The undecided initiatives as projects, with each P&L's utility (module docstring)."""
    found = []
    for r in rows:
        if r.status not in UNDECIDED or r.code is None:
            continue
        cip = max(Fraction(Decimal(r.cip)), Fraction(0))
        if r.pnl is None:
            utilities = {v: cip * w for v, w in weights.items()}
        else:
            utilities = {r.pnl: cip} if r.pnl in weights else {}
        found.append(Project(key=r.code, cost=Fraction(Decimal(r.cost)), rank=r.rank,
                             utilities={v: u for v, u in utilities.items() if u > 0}))
    return found


def _plan(rule: str, keys: Sequence[str], projects: Mapping[str, Project],
          weights: Mapping[str, Fraction], budget: Fraction, best: Fraction | None,
          outcome: tuple[EqualShares, Fraction] | None = None) -> tuple[FairPlan, Fraction]:
    paid: dict[str, Fraction] | None = None
    if outcome is not None:
        paid = {v: Fraction(0) for v in weights}
        for payment in outcome[0].payments.values():
            for voter, amount in payment.items():
                paid[voter] += amount
    chosen = [projects[k] for k in keys if k in projects]
    cost = sum((p.cost for p in chosen), Fraction(0))
    spend = {v: Fraction(0) for v in weights}
    value = {v: Fraction(0) for v in weights}
    total_value = Fraction(0)
    for p in chosen:
        total_value += sum(p.utilities.values(), Fraction(0))
        cip = sum(p.utilities.values(), Fraction(0))
        for voter, u in p.utilities.items():
            value[voter] += u
            spend[voter] += p.cost * u / cip
    rows = [PnlShare(pnl=v, entitlement=_share(w, Fraction(1)) or "0", spend=_money(spend[v]),
                     spend_share=_share(spend[v], cost), value=_value(value[v]),
                     value_share=_share(value[v], total_value),
                     paid=None if paid is None else _money(paid.get(v, Fraction(0))))
            for v, w in weights.items()]
    return FairPlan(rule=rule, keys=list(keys), total_cost=_money(cost),
                    total_value=_value(total_value), unspent=_money(budget - cost),
                    value_given_up=None if best is None else _value(best - total_value),
                    by_pnl=rows,
                    notional_budget=None if outcome is None else _money(outcome[1])), total_value


#: Fair shares kept per process, by everything they are computed from (issue 17).
MEMO_SIZE = 8
_MEMO: OrderedDict[tuple[object, ...], FairShares] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _inputs(rows: Sequence[RankingRow], ledger: Ledger, pnls: Sequence[PnlRow],
            rec: Recommendation) -> tuple[object, ...]:
    """Every value `fair_shares` reads, as a key: equal keys, equal fair shares."""
    return (ledger.period, ledger.currency, ledger.available,
            tuple((p.code, p.opex) for p in pnls),
            tuple((r.status, r.code, r.cip, r.pnl, r.cost, r.rank) for r in rows),
            tuple(rec.greedy.keys),
            None if rec.optimal is None else tuple(rec.optimal.keys), rec.problem)


def fair_shares(rows: Sequence[RankingRow], ledger: Ledger, pnls: Sequence[PnlRow],
                rec: Recommendation) -> FairShares:
    """The greedy and exact plans of the recommendation and the Method of Equal Shares plan,
    each with every P&L's share of spend and of value.

    Memoised by its inputs (`_inputs`; the newest MEMO_SIZE): the completed rule runs the
    method about a hundred times (2 s of CPU at 1,000 initiatives, loaded box), and a period's fair
    shares change only when its ranking, pool, P&Ls or plans do, not at every position."""
    key = _inputs(rows, ledger, pnls, rec)
    with _MEMO_LOCK:
        found = _MEMO.get(key)
        if found is not None:
            _MEMO.move_to_end(key)
            return found
    found = compute_fair_shares(rows, ledger, pnls, rec)
    with _MEMO_LOCK:
        _MEMO[key] = found
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return found


def compute_fair_shares(rows: Sequence[RankingRow], ledger: Ledger, pnls: Sequence[PnlRow],
                        rec: Recommendation) -> FairShares:
    """`fair_shares` computed afresh (no memo)."""
    basis, weights = entitlements(pnls)
    budget = Fraction(Decimal(ledger.available))
    projects = projects_of(rows, weights)
    by_key = {p.key: p for p in projects}
    outcome = equal_shares(projects, {v: budget * w for v, w in weights.items()})
    completed = completed_equal_shares(projects, weights, budget, budget * COMPLETION_STEP)
    best: Fraction | None = None
    if rec.optimal is not None:
        best = sum((sum(by_key[k].utilities.values(), Fraction(0))
                    for k in rec.optimal.keys if k in by_key), Fraction(0))
    plans = [_plan("greedy", [k for k in rec.greedy.keys if k], by_key, weights, budget, best)[0]]
    if rec.optimal is not None:
        plans.append(_plan("optimal", [k for k in rec.optimal.keys if k], by_key, weights,
                           budget, best)[0])
    plans.append(_plan("equal_shares", outcome.selected, by_key, weights, budget, best,
                       (outcome, budget))[0])
    fair, fair_value = _plan("equal_shares_completed", completed[0].selected, by_key, weights,
                             budget, best, completed)
    plans.append(fair)
    given_up = None if best is None else best - fair_value
    return FairShares(
        period=ledger.period, currency=ledger.currency, available=_money(budget), basis=basis,
        voters=list(weights), plans=plans,
        value_given_up=None if given_up is None else _value(given_up),
        value_given_up_percent=None if given_up is None or not best
        else _share(given_up * 100, best),
        problem=rec.problem)
