"""Funding plans (issue 16): named what-ifs of a period's portfolio, and the plan of record.

A plan fixes a budget level (what the period may commit in all, funded work included), a
scoring policy version (its weights and guardrails) and initiatives forced in or out, each
with a reason. Saving one computes its selection there and then (the recommendation's rule,
`domain.portfolio.assess`, over the period's initiatives: forced-out ones left out, forced-in
ones mandatory, with `budget - net committed` available) and records it in the event, with
each selected initiative's cost, value, P&L, kind and claimed metrics: a plan shows forever
what it said when it was saved, whatever is submitted or decided later.

A CX executive adopts one plan as the period's plan of record (`PlanOfRecord`, one stream per
period; adopting another replaces it). From then on comply or explain judges decisions
against the adopted plan instead of the recommendation's cut line
(`domain.decisions.decide`): approving an initiative the plan does not fund, or rejecting or
deferring one it funds, is a departure and needs a written justification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, InvalidTransition, PlanInfeasible
from domain.ids import natural_id
from domain.lifecycle import FUNDED, UNDECIDED
from domain.policy import PolicyTerms
from domain.portfolio import Assessment, assess
from domain.scoring import Candidate, MetricTarget, Scorer, score_candidate
from domain.text import clean_text, optional_text
from domain.values import require_amount, require_code

#: How many plans a comparison shows side by side.
COMPARE_AT_MOST: Final = 4
NAME_MAX: Final = 80


@dataclass(frozen=True)
class Forced:
    """An initiative forced into or out of a plan, and why."""

    code: str
    reason: str


def plan_name(name: str) -> str:
    """A plan's name: one line of visible text, at most 80 characters, without '/' (it is a
    path segment of the API) and not "compare" (the comparison's path)."""
    text = clean_text(name, field="name", max_length=NAME_MAX)
    if "/" in text or text.casefold() == "compare":
        raise InvalidInput("a plan's name has no '/' and is not 'compare'", field="name")
    return text


def plan_key(name: str) -> str:
    """The name as plans are told apart (case and surrounding space ignored)."""
    return plan_name(name).casefold()


@dataclass(frozen=True)
class Selection:
    """What a plan funds: the assessment it rests on and one row per selected initiative."""

    assessment: Assessment
    items: tuple[dict[str, Any], ...]
    available: Decimal

    @property
    def codes(self) -> list[str]:
        """The selected initiatives' codes, in rank order."""
        return [item["code"] for item in self.items]


def check_forced(forced_in: Sequence[Forced], forced_out: Sequence[Forced]) -> None:
    """Codes are well formed, reasons written, and no initiative is forced both ways."""
    for name, forced in (("forced_in", forced_in), ("forced_out", forced_out)):
        seen: set[str] = set()
        for at, f in enumerate(forced):
            require_code(f.code, field=f"{name}.{at}.code")
            clean_text(f.reason, field=f"{name}.{at}.reason", max_length=2000)
            if f.code in seen:
                raise InvalidInput(f"{f.code} is named twice in {name}", field=name)
            seen.add(f.code)
    both = sorted({f.code for f in forced_in} & {f.code for f in forced_out})
    if both:
        raise PlanInfeasible(f"{', '.join(both)} cannot be forced both in and out",
                             field="forced_out", codes=both)


def select(candidates: Iterable[Candidate], metrics: Mapping[str, MetricTarget],
           terms: PolicyTerms, *, budget: Decimal, net_committed: Decimal,
           forced_in: Sequence[Forced] = (), forced_out: Sequence[Forced] = (),
           score: Scorer = score_candidate) -> Selection:
    """The plan's selection: funded work stays; of the undecided, the recommendation's rule
    under `terms` picks within `budget - net_committed`, forced-in ones first (mandatory),
    forced-out ones never. Refused (PlanInfeasible) when a forced initiative is not undecided
    work of the period, or the forced-in ones (with what they need) do not fit."""
    require_amount(budget, field="budget")
    check_forced(forced_in, forced_out)
    available = budget - net_committed
    if available < 0:
        raise PlanInfeasible(f"the budget {budget} is below what the period has committed "
                             f"already ({net_committed})", field="budget")
    pool = list(candidates)
    status = {c.code: c.status for c in pool}
    for name, forced in (("forced_in", forced_in), ("forced_out", forced_out)):
        for f in forced:
            if f.code not in status:
                raise PlanInfeasible(f"{f.code} is not an initiative of this period",
                                     field=name, code=f.code)
            if status[f.code] not in UNDECIDED:
                raise PlanInfeasible(f"{f.code} is {status[f.code]}: only undecided work is "
                                     "forced in or out", field=name, code=f.code)
    ins, outs = {f.code for f in forced_in}, {f.code for f in forced_out}
    chosen = [replace(c, mandatory=True) if c.code in ins else c
              for c in pool if c.code not in outs]
    found = assess(chosen, metrics, terms, available=available, pool=budget, score=score)
    short = [e for e in found.entries if e.code in ins and not e.recommended]
    if short:
        raise PlanInfeasible(
            "forced in but not funded within the budget: " + "; ".join(
                f"{e.code} ({e.reason or 'not funded'})" for e in short),
            field="forced_in", codes=[e.code for e in short])
    by_code = {c.code: c for c in pool}
    items = []
    for e in found.entries:
        if not e.above_cut_line:
            continue
        c = by_code[e.code]
        items.append({
            "code": e.code, "cost": c.cost, "value": e.scored.cip, "rank": e.rank,
            "pnl": c.pnl, "kind": c.kind, "funded": c.status in FUNDED,
            "forced": e.code in ins,
            "metrics": sorted({claim.metric for claim in c.impacts})})
    return Selection(found, tuple(items), available)


class FundingPlan(Aggregate):
    """One named plan of a period (immutable once saved: another plan is another name)."""

    TOPIC = "cxgov.FundingPlan"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.FundingPlan.Created"

    class Saved(Created):
        TOPIC = "cxgov.FundingPlan.Saved"
        period: str
        name: str
        description: str
        budget: Decimal
        policy_version: int
        forced_in: list[dict[str, str]]
        forced_out: list[dict[str, str]]
        position: int  # the log position the selection was computed at
        available: Decimal  # budget - net committed then: what the selection could add
        items: list[dict[str, Any]]  # selected: code, cost, value, rank, pnl, kind, funded,
        # forced, metrics
        unmet: list[str]  # guardrails the selection could not meet
        actor: str

    @staticmethod
    def create_id(period: str, name: str) -> UUID:
        """One plan per period and name (case-insensitive)."""
        return natural_id("funding-plan", period, plan_key(name))

    @event(Saved)
    def __init__(self, *, period: str, name: str, description: str, budget: Decimal,
                 policy_version: int, forced_in: list[dict[str, str]],
                 forced_out: list[dict[str, str]], position: int, available: Decimal,
                 items: list[dict[str, Any]], unmet: list[str], actor: str) -> None:
        self.period = period
        self.name = name
        self.budget = budget
        self.policy_version = policy_version
        self.codes = [item["code"] for item in items]

    @classmethod
    def save(cls, *, period: str, name: str, description: str, budget: Decimal,
             policy_version: int, forced_in: Sequence[Forced], forced_out: Sequence[Forced],
             position: int, selection: Selection, actor: str) -> FundingPlan:
        """Record a plan and its selection."""
        return cls(period=require_code(period, field="period"), name=plan_name(name),
                   description=optional_text(description, field="description",
                                             max_length=4000),
                   budget=require_amount(budget, field="budget"),
                   policy_version=policy_version,
                   forced_in=[{"code": f.code, "reason": clean_text(
                       f.reason, field="forced_in.reason", max_length=2000)}
                              for f in forced_in],
                   forced_out=[{"code": f.code, "reason": clean_text(
                       f.reason, field="forced_out.reason", max_length=2000)}
                               for f in forced_out],
                   position=position, available=selection.available,
                   items=[dict(item) for item in selection.items],
                   unmet=list(getattr(selection.assessment.greedy, "unmet", ())),
                   actor=actor)


@dataclass(frozen=True)
class AdoptedPlan:
    """The plan of record as decisions are judged against it."""

    name: str
    codes: frozenset[str]

    def funds(self, code: str) -> bool:
        """The plan of record funds this initiative."""
        return code in self.codes


class PlanOfRecord(Aggregate):
    """A period's plan of record: which saved plan was adopted, by whom and why."""

    TOPIC = "cxgov.PlanOfRecord"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.PlanOfRecord.Created"

    class Started(Created):
        TOPIC = "cxgov.PlanOfRecord.Started"
        period: str
        actor: str

    class Adopted(Aggregate.Event):
        TOPIC = "cxgov.PlanOfRecord.Adopted"
        plan_id: str
        name: str
        codes: list[str]  # what the plan funds: decisions are judged against these
        rationale: str
        replaces: str | None  # the name of the plan it replaces as the plan of record
        actor: str

    @staticmethod
    def create_id(period: str) -> UUID:
        """One plan of record per period."""
        return natural_id("plan-of-record", period)

    @event(Started)
    def __init__(self, *, period: str, actor: str) -> None:
        self.period = period
        self.adopted: AdoptedPlan | None = None
        self.plan_id: str | None = None

    @classmethod
    def start(cls, *, period: str, actor: str) -> PlanOfRecord:
        """The period's stream, before any adoption."""
        return cls(period=require_code(period, field="period"), actor=actor)

    def adopt(self, plan: FundingPlan, *, rationale: str, actor: str) -> None:
        """Adopt a saved plan of this period (a written rationale; not the one in force)."""
        if plan.period != self.period:
            raise InvalidInput(f"plan {plan.name!r} is a plan of {plan.period}", field="name")
        if self.plan_id == str(plan.id):
            raise InvalidTransition(f"{plan.name!r} is the plan of record already",
                                    status="adopted")
        self._adopted(plan_id=str(plan.id), name=plan.name, codes=list(plan.codes),
                      rationale=clean_text(rationale, field="rationale", max_length=4000,
                                           multiline=True),
                      replaces=self.adopted.name if self.adopted else None, actor=actor)

    @event(Adopted)
    def _adopted(self, *, plan_id: str, name: str, codes: list[str], rationale: str,
                 replaces: str | None, actor: str) -> None:
        self.plan_id = plan_id
        self.adopted = AdoptedPlan(name, frozenset(codes))
