"""Fair shares (issue 16, part 3): the Method of Equal Shares beside the greedy and exact plans."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AsOf, MinPosition, PrincipalDep, ServicesDep
from api.routes.docs import READ
from api.routes.periods import PeriodCode, reader
from api.schemas import FairSharesPublic
from domain.errors import PeriodNotFound

router = APIRouter(prefix="/v1", tags=["periods"])


@router.get("/periods/{code}/fair-shares", response_model=FairSharesPublic, responses=READ)
def get_fair_shares(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                    min_position: MinPosition = None) -> FairSharesPublic:
    """How the greedy and exact plans treat each P&L, and the proportional plan (Method of
    Equal Shares: the P&Ls are the voters, each with its OpEx share of the remaining pool),
    with the value it gives up against the optimum (not ingest; the same for everyone, with
    the codes a caller may not read blanked)."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    found = snapshot.fair_shares(code)
    if found is None:
        raise PeriodNotFound(f"no period {code}", period=code)
    return FairSharesPublic(item=found, position=snapshot.position)
