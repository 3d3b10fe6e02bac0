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
    DocumentPublic,
    ItemsPublic,
    PeriodCreate,
    ReasonCreate,
    RestatementCreate,
    WrittenPublic,
)
from domain.errors import PeriodNotFound
from governance.principal import Principal
from governance.read_access import PortfolioReader, read_as, require_initiative_reader
from projections.codec import plain

router = APIRouter(prefix="/v1", tags=["periods"])
PeriodCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
                                 examples=["FY2027"])]


@router.post("/periods", status_code=201, response_model=WrittenPublic, responses=WRITE)
def open_period(body: PeriodCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Open a fiscal period's pool at cap percent of company OpEx (finance)."""
    with keyed(s.gov, who, request, key, body):
        result = s.gov.open_period(who, code=body.code, currency=body.currency,
                                   opex_total=body.opex_total, cap_percent=body.cap_percent)
    return written(s.gov, result, status=201, location=f"/v1/periods/{body.code}")


@router.post("/periods/{code}/restatements", response_model=WrittenPublic, responses=WRITE)
def restate_opex(code: PeriodCode, body: RestatementCreate, request: Request, s: ServicesDep,
                 who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Restate company OpEx; refused below what is committed (finance)."""
    with keyed(s.gov, who, request, key, body):
        result = s.gov.restate_opex(who, period=code, opex_total=body.opex_total,
                                    reason=body.reason)
    return written(s.gov, result)


@router.post("/periods/{code}/close", response_model=WrittenPublic, responses=WRITE)
def close_period(code: PeriodCode, body: ReasonCreate, request: Request, s: ServicesDep,
                 who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Close a period: no more submissions or commitments (finance)."""
    with keyed(s.gov, who, request, key, body):
        result = s.gov.close_period(who, period=code, reason=body.reason)
    return written(s.gov, result)


def reader(s: ServicesDep, who: Principal, as_of: str | None, min_position: int | None, *,
           initiatives: bool = False) -> PortfolioReader:
    """The read models as the caller may read them (governance.read_access); with
    `initiatives`, 403 first for callers who read no initiatives (ingest)."""
    if initiatives:
        require_initiative_reader(who)
    return read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))


def _ledger(s: ServicesDep, who: Principal, code: str, as_of: str | None,
            min_position: int | None) -> DocumentPublic:
    snapshot = reader(s, who, as_of, min_position)
    found = snapshot.documents("ledger", key=code)
    if not found:
        raise PeriodNotFound(f"no period {code}", period=code)
    return DocumentPublic(item=plain(found[0]), position=snapshot.position)


@router.get("/periods/{code}", response_model=DocumentPublic, responses=READ)
def get_period(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> DocumentPublic:
    """The pool: amount, committed, released, available, by P&L (everyone)."""
    return _ledger(s, who, code, as_of, min_position)


@router.get("/periods/{code}/ledger", response_model=DocumentPublic, responses=READ)
def get_ledger(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> DocumentPublic:
    """The pool ledger (everyone)."""
    return _ledger(s, who, code, as_of, min_position)


@router.get("/periods/{code}/ranking", response_model=ItemsPublic, responses=READ)
def get_ranking(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                min_position: MinPosition = None) -> ItemsPublic:
    """The priority ranking under the policy in force (not ingest; a P&L owner sees only the
    place of another P&L's undecided initiatives)."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    if not snapshot.documents("ledger", key=code):
        raise PeriodNotFound(f"no period {code}", period=code)
    return ItemsPublic(items=plain(snapshot.documents("ranking", period=code)),
                       position=snapshot.position)


@router.get("/periods/{code}/recommendation", response_model=DocumentPublic, responses=READ)
def get_recommendation(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                       min_position: MinPosition = None) -> DocumentPublic:
    """Greedy cut line, exact optimum and efficient frontier for the remaining pool
    (not ingest; the same for everyone, with the codes a caller may not read blanked)."""
    snapshot = reader(s, who, as_of, min_position, initiatives=True)
    if not snapshot.documents("ledger", key=code):
        raise PeriodNotFound(f"no period {code}", period=code)
    return DocumentPublic(item=plain(snapshot.recommendation(code)), position=snapshot.position)


@router.get("/scorecard", response_model=ItemsPublic, responses=READ)
def get_scorecard(period: Annotated[Code, Query(description="Fiscal period code.")],
                  s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                  min_position: MinPosition = None) -> ItemsPublic:
    """One card per customer success metric (everyone; ingest without its initiatives)."""
    snapshot = reader(s, who, as_of, min_position)
    return ItemsPublic(items=plain(snapshot.documents("scorecard", period=period)),
                       position=snapshot.position)
