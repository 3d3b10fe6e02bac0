"""Key drivers of a customer success metric (issue 15, part 4): which operational metrics
move the outcome, and how sure we are (projections/drivers.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AsOf, MinPosition, PrincipalDep, ServicesDep, at
from api.routes.docs import READ
from api.schemas import CODE_PATTERN, DriversPublic
from domain.errors import MetricNotFound
from projections.drivers import MOST_LAG

router = APIRouter(prefix="/v1", tags=["drivers"])
MetricCode = Annotated[str, Path(pattern=CODE_PATTERN, examples=["M1"])]


@router.get("/metrics/{code}/drivers", response_model=DriversPublic, responses=READ)
def get_drivers(
    code: MetricCode, s: ServicesDep, who: PrincipalDep,
    drivers: Annotated[str | None, Query(
        max_length=400, pattern=r"^[A-Za-z0-9_.-]+(@\d{1,2})?(,[A-Za-z0-9_.-]+(@\d{1,2})?)*$",
        description="Driver metric codes, comma-separated (default: the operational metrics "
                    "mapped to the metric whose source is 'metric:<CODE>'); `CODE@k` makes "
                    "one driver lead by its own k months, e.g. `M2,M4,M9,STAFF@1` with an "
                    "employee-experience metric a month earlier.")] = None,
    lag: Annotated[int, Query(ge=0, le=MOST_LAG, description=(
        "Months by which each driver without its own `@k` leads the outcome (e.g. 1: does "
        "last month's employee satisfaction explain this month's customer "
        "satisfaction?)."))] = 0,
    segment: Annotated[str | None, Query(max_length=80, description=(
        "One cohort only (empty: the whole); omitted: every cohort pooled."))] = None,
    as_of: AsOf = None, min_position: MinPosition = None,
) -> DriversPublic:
    """A key-driver analysis of a customer success metric over months and cohorts: an OLS
    regression of the outcome on its drivers with 95% intervals and p-values, which drivers
    move it, and the scoring weights that proposes (every authenticated caller)."""
    names = drivers.split(",") if drivers else None
    position, found = s.models.drivers(code, names=names, lag=lag, segment=segment,
                                       **at(s.models, as_of, min_position))
    if found is None:
        raise MetricNotFound(f"no metric {code!r}", metric=code)
    return DriversPublic(item=found, position=position)
