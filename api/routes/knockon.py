"""What-if reads (issue 17): a decision's knock-on effects before it is taken, and the exact
optimum at any budget (a point of the efficient frontier). Nothing is written.

Both compute on the whole ranking (so the answer is the same for everyone) and blank the
codes and titles the caller may not read, as the recommendation does (governance.read_access).
The dashboard's initiative and what-if pages call `knock_on_for` and `optimum_for` too."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import AsOf, MinPosition, PrincipalDep, ServicesDep
from api.routes.docs import problems
from api.routes.periods import PeriodCode, reader
from api.web.amounts import money_amount
from domain.errors import InitiativeNotFound, InvalidInput, InvalidTransition, PeriodNotFound
from domain.lifecycle import UNDECIDED
from governance.read_access import PortfolioReader
from projections.knockon import (
    BudgetOptimum,
    KnockOn,
    Outcome,
    budget_bounds,
    guardrails_of,
    knock_ons,
    optimum_at,
)
from projections.rows import Ledger

router = APIRouter(prefix="/v1", tags=["periods"])
BudgetText = Annotated[str, Query(min_length=1, max_length=40, description=(
    'The pool level to look at: an amount as people type it ("130000000", "$130M", '
    '"130,000,000", "130 million").'), examples=["$130M"])]
OutcomeQuery = Annotated[Literal["approve", "reject", "defer"], Query(
    description="The decision to look at.")]


class KnockOnPublic(BaseModel):
    """What a decision would change in its period's recommendation, as of a log position."""

    item: KnockOn
    position: int


class BudgetOptimumPublic(BaseModel):
    """The exact optimum at one pool level beside the recommendation, as of a log position."""

    item: BudgetOptimum
    position: int


def _shown(snapshot: PortfolioReader, period: str) -> set[str] | None:
    """The codes the caller reads (None: every code)."""
    if snapshot.sees_all:
        return None
    return {r.code for r in snapshot.ranking(period) if r.code is not None}


def _ledger(snapshot: PortfolioReader, period: str) -> Ledger:
    found = snapshot.ledger(period)
    if found is None:
        raise PeriodNotFound(f"no period {period}", period=period)
    return found


def knock_on_for(snapshot: PortfolioReader, period: str, initiative_id: str,
                 outcomes: Sequence[Outcome]) -> dict[Outcome, KnockOn]:
    """The knock-on of deciding each of `outcomes` on an initiative the caller reads (404
    otherwise, or when it is not of `period`; 409 when it is decided already)."""
    ledger = _ledger(snapshot, period)
    card = snapshot.initiative(initiative_id)
    if card is None or card.period != period:
        raise InitiativeNotFound(f"no initiative {initiative_id} in {period}",
                                 initiative_id=initiative_id)
    if card.status not in UNDECIDED:
        raise InvalidTransition(
            f"initiative {card.code} is {card.status}; it can no longer be decided",
            status=card.status)
    policy = snapshot.policy()
    four_eyes = policy.terms.four_eyes_threshold if policy else None
    try:
        return knock_ons(snapshot.snapshot.ranking(period), ledger, code=card.code,
                         outcomes=outcomes, guardrails=guardrails_of(policy),
                         four_eyes=None if four_eyes is None else Decimal(four_eyes),
                         shown=_shown(snapshot, period))
    except ValueError:  # undecided work is always ranked once a policy is in force
        raise InvalidTransition(f"initiative {card.code} is not ranked (no scoring policy "
                                "in force)", status=card.status) from None


def parse_budget(text: str) -> Decimal:
    """The amount a budget text means (InvalidInput on the `budget` field otherwise)."""
    amount = money_amount(text)
    if amount is None:
        raise InvalidInput(f'budget: "{text[:40]}" is not an amount (try "130000000" or '
                           '"$130M")', field="budget")
    return amount


def optimum_for(snapshot: PortfolioReader, period: str, budget: Decimal) -> BudgetOptimum:
    """The optimum if the pool were `budget` (InvalidInput outside the frontier's range)."""
    ledger = _ledger(snapshot, period)
    rows = snapshot.snapshot.ranking(period)
    low, high = budget_bounds(rows, ledger)
    if not low <= budget <= high:
        raise InvalidInput(
            f"budget {budget:,.0f} is out of range: from {low:,.0f} (what is committed) to "
            f"{high:,.0f} (everything undecided funded)", field="budget",
            budget_min=str(low), budget_max=str(high))
    policy = snapshot.policy()
    return optimum_at(rows, ledger, budget, guardrails=guardrails_of(policy),
                      shown=_shown(snapshot, period))


@router.get("/periods/{code}/initiatives/{initiative_id}/knock-on",
            response_model=KnockOnPublic, responses=problems(403, 404, 409, 503))
def get_knock_on(code: PeriodCode, initiative_id: Annotated[UUID, Path()],
                 outcome: OutcomeQuery, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                 min_position: MinPosition = None) -> KnockOnPublic:
    """What approving, rejecting or deferring one undecided initiative would change in the
    recommendation: who crosses the cut line, committed and available money, the exact
    optimum (read as the initiative is: its P&L's owners and the governance roles; nothing
    is written). 409 state.invalid_transition when it is decided already."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    found = knock_on_for(snapshot, code, str(initiative_id), (outcome,))
    return KnockOnPublic(item=found[outcome], position=snapshot.position)


@router.get("/periods/{code}/optimum", response_model=BudgetOptimumPublic,
            responses=problems(403, 404, 503))
def get_optimum(code: PeriodCode, budget: BudgetText, s: ServicesDep, who: PrincipalDep,
                as_of: AsOf = None, min_position: MinPosition = None) -> BudgetOptimumPublic:
    """The efficient frontier at one pool level: the value the exact optimum reaches if the
    pool were `budget`, what it funds, and what it adds to and drops from the greedy cut line
    as it is (not ingest; the same for everyone, with the codes a caller may not read
    blanked). 422 validation.invalid for a budget that is not an amount or is below what is
    committed or above what every undecided initiative asks."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    return BudgetOptimumPublic(item=optimum_for(snapshot, code, parse_budget(budget)),
                               position=snapshot.position)
