"""Operational metrics with owners and the department view (issue 15, part 3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
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
    CODE_PATTERN,
    DepartmentPublic,
    DepartmentsPublic,
    OperationalMetricsCreate,
    WrittenPublic,
)
from domain.errors import DepartmentNotFound

router = APIRouter(prefix="/v1", tags=["departments"])
MetricCode = Annotated[str, Path(pattern=CODE_PATTERN, examples=["M1"])]
DepartmentName = Annotated[str, Path(min_length=1, max_length=80,
                                     examples=["Onboarding Operations"])]


@router.post("/metrics/{code}/operational-metrics", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def map_operational_metrics(code: MetricCode, body: OperationalMetricsCreate, request: Request,
                            s: ServicesDep, who: PrincipalDep,
                            key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Map a customer success metric to its operational metrics, each with its data source,
    aggregation rule and owning department (CX executive); the whole mapping, replacing the
    one before."""
    items = [m.model_dump() for m in body.operational_metrics]
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.map_operational_metrics(who, code=code, operational_metrics=items)
    return written(s.gov, result, status=201, location=f"/v1/metrics/{code}")


@router.get("/departments", response_model=DepartmentsPublic, responses=READ)
def list_departments(s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                     min_position: MinPosition = None) -> DepartmentsPublic:
    """Every department that owns an operational metric: how many it owns, the customer
    outcomes they serve and how many of those are green, amber, red or grey (every
    authenticated caller)."""
    position, found = s.models.departments(**at(s.models, as_of, min_position))
    return DepartmentsPublic(items=found, position=position)


@router.get("/departments/{name}", response_model=DepartmentPublic, responses=READ)
def get_department(name: DepartmentName, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                   min_position: MinPosition = None) -> DepartmentPublic:
    """One department (its name case-insensitive): its operational metrics and the customer
    outcomes they serve, with the scorecard's status of each (every authenticated caller)."""
    position, found = s.models.department(name, **at(s.models, as_of, min_position))
    if found is None:
        raise DepartmentNotFound(f"no operational metric is owned by {name!r}", department=name)
    return DepartmentPublic(item=found, position=position)
