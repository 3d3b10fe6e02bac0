"""Funding plans (issue 16): save, list, compare side by side, adopt as the plan of record."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

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
    ForcedIn,
    PlanAdopt,
    PlanComparisonPublic,
    PlanCreate,
    PlanPublic,
    PlansPublic,
    WrittenPublic,
)
from domain.errors import PeriodNotFound, PlanNotFound
from domain.plans import COMPARE_AT_MOST, Forced, plan_key
from governance.access import require_role
from governance.principal import Principal
from governance.read_access import SEE_ALL_INITIATIVES

router = APIRouter(prefix="/v1", tags=["plans"])
PeriodCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
                                 examples=["FY2027"])]
PlanName = Annotated[str, Path(min_length=1, max_length=80, examples=["Cross-P&L first"])]
Names = Annotated[list[str], Query(
    min_length=1, max_length=COMPARE_AT_MOST,
    description=f"The names of 1 to {COMPARE_AT_MOST} plans of the period, in column order.")]


def require_plan_reader(principal: Principal) -> None:
    """Plans name, cost and value undecided work of every P&L: they are read by the roles
    that see every initiative whole (CX executives, finance, auditors)."""
    require_role(principal, *SEE_ALL_INITIATIVES, action="reading funding plans")


def forced(items: list[ForcedIn]) -> list[Forced]:
    """Forced initiatives from request items."""
    return [Forced(f.code, f.reason) for f in items]


@router.get("/periods/{code}/plans", response_model=PlansPublic, responses=READ)
def list_plans(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> PlansPublic:
    """A period's funding plans in the order they were saved, its plan of record and every
    adoption so far (CX executives, finance, auditors)."""
    require_plan_reader(who)
    position, found = s.models.plans(code, **at(s.models, as_of, min_position))
    if found is None:
        raise PeriodNotFound(f"no period {code}", period=code)
    return PlansPublic(item=found, position=position)


@router.get("/periods/{code}/plans/compare", response_model=PlanComparisonPublic,
            responses=READ)
def compare_plans(code: PeriodCode, s: ServicesDep, who: PrincipalDep, names: Names,
                  as_of: AsOf = None,
                  min_position: MinPosition = None) -> PlanComparisonPublic:
    """Up to four plans side by side: value, cost, per-P&L and per-kind shares, metrics
    moved, the initiatives they disagree on and the settings that differ."""
    require_plan_reader(who)
    position, found = s.models.compare_plans(code, names,
                                             **at(s.models, as_of, min_position))
    if found is None:
        raise PeriodNotFound(f"no period {code}", period=code)
    return PlanComparisonPublic(item=found, position=position)


@router.get("/periods/{code}/plans/{name}", response_model=PlanPublic, responses=READ)
def get_plan(code: PeriodCode, name: PlanName, s: ServicesDep, who: PrincipalDep,
             as_of: AsOf = None, min_position: MinPosition = None) -> PlanPublic:
    """One plan (its name, case-insensitive)."""
    require_plan_reader(who)
    position, found = s.models.plans(code, **at(s.models, as_of, min_position))
    if found is None:
        raise PeriodNotFound(f"no period {code}", period=code)
    plan = next((p for p in found.plans if p.name.casefold() == name.strip().casefold()),
                None)
    if plan is None:
        raise PlanNotFound(f"{code} has no plan named {name!r}", name=name)
    return PlanPublic(item=plan, position=position)


@router.post("/periods/{code}/plans", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def save_plan(code: PeriodCode, body: PlanCreate, request: Request, s: ServicesDep,
              who: PrincipalDep, idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Save a named plan (finance, CX executive): budget level, policy version, forced in and
    out with reasons; its selection is computed now and recorded."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.save_plan(who, period=code, name=body.name, budget=body.budget,
                               policy_version=body.policy_version,
                               forced_in=forced(body.forced_in),
                               forced_out=forced(body.forced_out),
                               description=body.description)
    location = f"/v1/periods/{code}/plans/{quote(plan_key(body.name), safe='')}"
    return written(s.gov, result, status=201, location=location)


@router.post("/periods/{code}/plans/{name}/adopt", response_model=WrittenPublic,
             responses=WRITE)
def adopt_plan(code: PeriodCode, name: PlanName, body: PlanAdopt, request: Request,
               s: ServicesDep, who: PrincipalDep,
               idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Adopt a plan as the period's plan of record (CX executive): comply or explain then
    judges the period's decisions against it."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.adopt_plan(who, period=code, name=name, rationale=body.rationale)
    return written(s.gov, result)
