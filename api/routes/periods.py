"""Fiscal periods and their read models: pool, ranking, recommendation, ledger, scorecard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import (
    AsOf,
    IdempotencyKeyHeader,
    MinPosition,
    PrincipalDep,
    ServicesDep,
    at,
    keyed,
    written,
)
from api.routes.docs import READ, WRITE
from api.schemas import (
    Code,
    LedgerPublic,
    PeriodCreate,
    RankingPublic,
    ReasonCreate,
    RecommendationPublic,
    RestatementCreate,
    ScorecardPublic,
    WrittenPublic,
)
from domain.errors import PeriodNotFound
from governance.principal import Principal
from governance.read_access import PortfolioReader, read_as, require_initiative_reader
from projections.rows import Ledger

router = APIRouter(prefix="/v1", tags=["periods"])
PeriodCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
                                 examples=["FY2027"])]


@router.post("/periods", status_code=201, response_model=WrittenPublic, responses=WRITE)
def open_period(body: PeriodCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Open a fiscal period's pool at cap percent of company OpEx (finance)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.open_period(who, code=body.code, currency=body.currency,
                                   opex_total=body.opex_total, cap_percent=body.cap_percent)
    return written(s.gov, result, status=201, location=f"/v1/periods/{body.code}")


@router.post("/periods/{code}/restatements", response_model=WrittenPublic, responses=WRITE)
def restate_opex(code: PeriodCode, body: RestatementCreate, request: Request, s: ServicesDep,
                 who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Restate company OpEx; refused below what is committed (finance)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.restate_opex(who, period=code, opex_total=body.opex_total,
                                    reason=body.reason)
    return written(s.gov, result)


@router.post("/periods/{code}/close", response_model=WrittenPublic, responses=WRITE)
def close_period(code: PeriodCode, body: ReasonCreate, request: Request, s: ServicesDep,
                 who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Close a period: no more submissions or commitments (finance)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.close_period(who, period=code, reason=body.reason)
    return written(s.gov, result)


def reader(s: ServicesDep, who: Principal, as_of: str | None, min_position: int | None, *,
           initiatives: bool = False) -> PortfolioReader:
    """The read models as the caller may read them (governance.read_access); with
    `initiatives`, 403 first for callers who read no initiatives (ingest)."""
    if initiatives:
        require_initiative_reader(who)
    return read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))


def _ledger(snapshot: PortfolioReader, code: str) -> Ledger:
    found = snapshot.ledger(code)
    if found is None:
        raise PeriodNotFound(f"no period {code}", period=code)
    return found


@router.get("/periods/{code}", response_model=LedgerPublic, responses=READ)
def get_period(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> LedgerPublic:
    """The pool: amount, committed, released, available, by P&L (everyone)."""
    snapshot = reader(s, who, as_of, min_position)
    return LedgerPublic(item=_ledger(snapshot, code), position=snapshot.position)


@router.get("/periods/{code}/ledger", response_model=LedgerPublic, responses=READ)
def get_ledger(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> LedgerPublic:
    """The pool ledger (everyone)."""
    snapshot = reader(s, who, as_of, min_position)
    return LedgerPublic(item=_ledger(snapshot, code), position=snapshot.position)


@router.get("/periods/{code}/ranking", response_model=RankingPublic, responses=READ)
def get_ranking(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                min_position: MinPosition = None) -> RankingPublic:
    """The priority ranking under the policy in force (not ingest; a P&L owner sees only the
    place of another P&L's undecided initiatives)."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    _ledger(snapshot, code)
    return RankingPublic(items=snapshot.ranking(code), position=snapshot.position)


UNFUNDED_PAGE = 100
UnfundedOffset = Annotated[int, Query(ge=0, le=1_000_000, description=(
    "First entry of the unfunded list to return (rank order)."))]
UnfundedLimit = Annotated[int, Query(ge=0, le=1_000, description=(
    "At most this many unfunded entries, each with its extra budget (0: none)."))]


@router.get("/periods/{code}/recommendation", response_model=RecommendationPublic,
            responses=READ)
def get_recommendation(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                       min_position: MinPosition = None,
                       unfunded_offset: UnfundedOffset = 0,
                       unfunded_limit: UnfundedLimit = UNFUNDED_PAGE) -> RecommendationPublic:
    """Greedy cut line, exact optimum and efficient frontier for the remaining pool
    (not ingest; the same for everyone, with the codes a caller may not read blanked). The
    unfunded initiatives come one page at a time, in rank order (`unfunded_total` counts them
    all): their extra budgets are the costly part (decision 130)."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    found = snapshot.recommendation(code, unfunded_offset=unfunded_offset,
                                    unfunded_limit=unfunded_limit)
    if found is None:
        raise PeriodNotFound(f"no period {code}", period=code)
    return RecommendationPublic(item=found, position=snapshot.position)


@router.get("/scorecard", response_model=ScorecardPublic, responses=READ)
def get_scorecard(period: Annotated[Code, Query(description="Fiscal period code.")],
                  s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                  min_position: MinPosition = None) -> ScorecardPublic:
    """One card per customer success metric (everyone; ingest without its initiatives)."""
    snapshot = reader(s, who, as_of, min_position)
    return ScorecardPublic(items=snapshot.scorecard(period), position=snapshot.position)
