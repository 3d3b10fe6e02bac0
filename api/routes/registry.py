"""The register: P&Ls, scenarios, customer success metrics and their observations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from api.deps import (
    AsOf,
    IdempotencyKeyHeader,
    Limit,
    MinPosition,
    Offset,
    PrincipalDep,
    ServicesDep,
    at,
    keyed,
    receipt_public,
    written,
)
from api.routes.docs import READ, WRITE
from api.routes.pages import page
from api.schemas import (
    CODE_PATTERN,
    MetricCreate,
    MetricPagePublic,
    MetricPublic,
    ObservationBatchCreate,
    ObservationBatchesCreate,
    ObservationBatchesPublic,
    PnlCreate,
    PnlPagePublic,
    RetargetCreate,
    ScenarioCreate,
    ScenarioPagePublic,
    WrittenPublic,
)
from domain.errors import MetricNotFound
from domain.metric import ObservationBatch
from domain.values import Reading
from governance.read_access import read_as

router = APIRouter(prefix="/v1", tags=["register"])
MetricCode = Annotated[str, Path(pattern=CODE_PATTERN, examples=["M1"])]


@router.post("/pnls", status_code=201, response_model=WrittenPublic, responses=WRITE)
def register_pnl(body: PnlCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                 key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Register a P&L and its owners (finance)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.register_pnl(who, code=body.code, name=body.name, owners=body.owners,
                                    opex=body.opex)
    return written(s.gov, result, status=201, location="/v1/pnls")


@router.get("/pnls", response_model=PnlPagePublic, responses=READ)
def list_pnls(s: ServicesDep, who: PrincipalDep, limit: Limit = 100, offset: Offset = 0,
              as_of: AsOf = None, min_position: MinPosition = None) -> PnlPagePublic:
    """P&Ls (every authenticated caller)."""
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    return PnlPagePublic(**page(snapshot.pnls(), limit=limit, offset=offset,
                                position=snapshot.position))


@router.post("/scenarios", status_code=201, response_model=WrittenPublic, responses=WRITE)
def define_scenario(body: ScenarioCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                    key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Define a customer's critical scenario (CX executive)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.define_scenario(who, code=body.code, name=body.name, pnl=body.pnl,
                                       description=body.description)
    return written(s.gov, result, status=201, location="/v1/scenarios")


@router.get("/scenarios", response_model=ScenarioPagePublic, responses=READ)
def list_scenarios(s: ServicesDep, who: PrincipalDep, limit: Limit = 100, offset: Offset = 0,
                   as_of: AsOf = None, min_position: MinPosition = None) -> ScenarioPagePublic:
    """Scenarios (every authenticated caller)."""
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    return ScenarioPagePublic(**page(snapshot.scenarios(), limit=limit, offset=offset,
                                     position=snapshot.position))


@router.post("/metrics", status_code=201, response_model=WrittenPublic, responses=WRITE)
def define_metric(body: MetricCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                  key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Define a customer success metric (CX executive)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.define_metric(
            who, code=body.code, customer_phrasing=body.customer_phrasing,
            operational_metric=body.operational_metric, unit=body.unit,
            direction=body.direction, baseline=body.baseline, target=body.target,
            scenario=body.scenario, pnl=body.pnl, target_date=body.target_date,
            customer_threshold=body.customer_threshold, importance=body.importance,
            satisfaction=body.satisfaction, kind=body.kind)
    return written(s.gov, result, status=201, location=f"/v1/metrics/{body.code}")


@router.get("/metrics", response_model=MetricPagePublic, responses=READ)
def list_metrics(s: ServicesDep, who: PrincipalDep, limit: Limit = 100, offset: Offset = 0,
                 as_of: AsOf = None, min_position: MinPosition = None) -> MetricPagePublic:
    """Customer success metrics (every authenticated caller)."""
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    return MetricPagePublic(**page(snapshot.metrics(), limit=limit, offset=offset,
                                   position=snapshot.position))


@router.get("/metrics/{code}", response_model=MetricPublic, responses=READ)
def get_metric(code: MetricCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> MetricPublic:
    """One metric (every authenticated caller)."""
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    found = snapshot.metric(code)
    if found is None:
        raise MetricNotFound(f"no metric {code}", code=code)
    return MetricPublic(item=found, position=snapshot.position)


@router.post("/metrics/{code}/targets", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def retarget_metric(code: MetricCode, body: RetargetCreate, request: Request, s: ServicesDep,
                    who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Re-baseline or retarget a metric (CX executive): a new target version with its reason;
    the metric's `targets` and the scorecard keep every version."""
    clear = "target_date" in body.model_fields_set and body.target_date is None
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.retarget_metric(who, code=code, baseline=body.baseline, target=body.target,
                                     target_date=body.target_date, reason=body.reason,
                                     clear_target_date=clear)
    return written(s.gov, result, status=201, location=f"/v1/metrics/{code}")


@router.post("/metrics/{code}/observations", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def record_observations(code: MetricCode, body: ObservationBatchCreate, request: Request,
                        s: ServicesDep, who: PrincipalDep,
                        key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record a batch of readings (ingest services, CX executives)."""
    readings = [Reading(**r.model_dump()) for r in body.readings]
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.record_observations(who, metric=code, batch_key=body.batch_key,
                                           readings=readings, source=body.source)
    return written(s.gov, result, status=201, location=f"/v1/metrics/{code}")


@router.post("/observations", status_code=201, response_model=ObservationBatchesPublic,
             responses=WRITE)
def record_observation_batches(body: ObservationBatchesCreate, request: Request,
                               s: ServicesDep, who: PrincipalDep,
                               key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record up to 1,000 batches of any metrics in one transaction, all or nothing
    (ingest services, CX executives). A batch key recorded already refuses the whole request
    (409 `resource.already_exists`, naming every such batch in `details.duplicates`)."""
    batches = [(b.metric, b.batch_key,
                [Reading(**r.model_dump()) for r in b.readings], b.source) for b in body.batches]
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.record_observation_batches(who, batches=batches)
    # The ids follow from metric and batch key, so a replay answers the same bytes.
    recorded = [{"metric": b.metric, "batch_key": b.batch_key,
                 "id": str(ObservationBatch.create_id(b.metric, b.batch_key))}
                for b in body.batches]
    out = {"count": len(recorded), "batches": recorded, "position": result.position,
           "receipt": receipt_public(s.gov, result.position, result.entry_hash).model_dump()}
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(out, status_code=201, headers=headers)
