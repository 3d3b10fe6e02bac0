"""Initiatives: submit, revise (If-Match), withdraw, decide, deliver, record outcomes, stop
(cancel), descope, record spend."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
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
    written,
)
from api.routes.docs import READ, WRITE, problems
from api.routes.pages import page
from api.schemas import (
    CarryOverCreate,
    Code,
    DecisionCreate,
    DeliveryCreate,
    DescopeCreate,
    ImpactIn,
    InitiativeCreate,
    InitiativePagePublic,
    InitiativePublic,
    InitiativeUpdate,
    OutcomeCreate,
    ReasonCreate,
    SpendCreate,
    StopCreate,
    TrancheReleaseCreate,
    WrittenPublic,
)
from domain.errors import InitiativeNotFound
from domain.initiative import Gate, Proposal
from domain.values import ImpactClaim
from governance.read_access import read_as, require_initiative_reader

router = APIRouter(prefix="/v1/initiatives", tags=["initiatives"])
IfMatch = Annotated[str, Header(
    alias="If-Match", pattern=r'^(W/)?"?[0-9]{1,18}"?$',
    description="The initiative's version (its ETag) that this revision is based on.")]
NULLABLE = frozenset({"scenario", "mandate_reason"})
Status = Annotated[str | None, Query(
    pattern=r"^(submitted|pending_second_approval|deferred|approved|rejected|withdrawn|"
            r"delivered|cancelled|carried_over)$", description="Only initiatives in this status.")]


def claims(impacts: list[ImpactIn]) -> tuple[ImpactClaim, ...]:
    """Impact claims from request items."""
    return tuple(ImpactClaim(i.metric, i.expected_value, i.reach) for i in impacts)


def location(initiative_id: UUID) -> str:
    """The URL of an initiative."""
    return f"/v1/initiatives/{initiative_id}"


@router.post("", status_code=201, response_model=WrittenPublic, responses=WRITE)
def submit(body: InitiativeCreate, request: Request, s: ServicesDep, who: PrincipalDep,
           key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Submit an initiative: P&L owners for their own P&L, CX executives for cross-P&L work."""
    proposal = Proposal(
        title=body.title, problem=body.problem, scenario=body.scenario,
        touchpoints=tuple(body.touchpoints), functional_areas=tuple(body.functional_areas),
        cost=body.cost, confidence=body.confidence, expected_impacts=claims(body.expected_impacts),
        dependencies=tuple(body.dependencies), mandatory=body.mandatory,
        mandate_reason=body.mandate_reason)
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.submit_initiative(who, period=body.period, kind=body.kind, pnl=body.pnl,
                                         proposal=proposal, code=body.code)
    return written(s.gov, result, status=201, location=location(result.id), etag=True)


@router.get("", response_model=InitiativePagePublic, responses=READ)
def list_initiatives(s: ServicesDep, who: PrincipalDep,
                     period: Annotated[Code | None, Query(description="Fiscal period.")] = None,
                     pnl: Annotated[Code | None, Query(description="P&L code.")] = None,
                     status: Status = None, limit: Limit = 100, offset: Offset = 0,
                     as_of: AsOf = None, min_position: MinPosition = None
                     ) -> InitiativePagePublic:
    """Initiatives, filtered; P&L owners see other P&Ls' initiatives once decided."""
    require_initiative_reader(who)
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    rows = [r for r in snapshot.initiatives(period)
            if (pnl is None or r.pnl == pnl) and (status is None or r.status == status)]
    return InitiativePagePublic(**page(rows, limit=limit, offset=offset,
                                       position=snapshot.position))


@router.get("/{initiative_id}", response_model=InitiativePublic, responses=READ)
def get_initiative(initiative_id: UUID, response: Response, s: ServicesDep, who: PrincipalDep,
                   as_of: AsOf = None, min_position: MinPosition = None) -> InitiativePublic:
    """One initiative; its ETag is the aggregate version to send as If-Match. One the caller
    may not read answers 404, exactly like one that does not exist."""
    require_initiative_reader(who)
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    found = snapshot.initiative(str(initiative_id))
    if found is None:
        raise InitiativeNotFound(f"no initiative {initiative_id}")
    response.headers["ETag"] = f'"{found.version}"'
    return InitiativePublic(item=found, position=snapshot.position)


@router.patch("/{initiative_id}", response_model=WrittenPublic, responses={
    **WRITE, **problems(412)})
def revise(initiative_id: UUID, body: InitiativeUpdate, if_match: IfMatch, s: ServicesDep,
           who: PrincipalDep) -> JSONResponse:
    """Revise an undecided initiative (its P&L's owners); If-Match must name the version."""
    sent = body.model_dump(exclude_unset=True, exclude={"reason"})
    changes: dict[str, Any] = {k: v for k, v in sent.items() if v is not None or k in NULLABLE}
    for name in ("touchpoints", "functional_areas", "dependencies"):
        if changes.get(name) is not None:
            changes[name] = tuple(changes[name])
    if body.expected_impacts is not None:
        changes["expected_impacts"] = claims(body.expected_impacts)
    version = int(if_match.removeprefix("W/").strip('"'))
    result = s.gov.revise_initiative(who, initiative_id=initiative_id, changes=changes,
                                     reason=body.reason, expected_version=version)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/withdraw", response_model=WrittenPublic, responses=WRITE)
def withdraw(initiative_id: UUID, body: ReasonCreate, request: Request, s: ServicesDep,
             who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Withdraw an undecided initiative (its P&L's owners)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.withdraw_initiative(who, initiative_id=initiative_id, reason=body.reason)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/decisions", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def decide(initiative_id: UUID, body: DecisionCreate, request: Request, s: ServicesDep,
           who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Approve, reject or defer (CX executive); departures need a rationale."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.decide(who, initiative_id=initiative_id, outcome=body.outcome,
                            rationale=body.rationale, first_tranche=body.first_tranche,
                            gates=[Gate(g.name, g.amount) for g in body.gates],
                            review=body.review)
    where = (f"/v1/audit/decisions/{result.decision.decision_id}" if result.decision
             else location(initiative_id))
    return written(s.gov, result, status=201, location=where, etag=True)


@router.post("/{initiative_id}/carry-over", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def carry_over(initiative_id: UUID, body: CarryOverCreate, request: Request, s: ServicesDep,
               who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Carry a deferred initiative (or one left undecided when its period closed) into
    another period (CX executive), with a reason: the new initiative (201, `Location`) links
    back by `carried_from`; the original becomes `carried_over` and links on by `carried_to`.
    """
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.carry_over(who, initiative_id=initiative_id, to_period=body.to_period,
                                reason=body.reason, cost=body.cost, code=body.code,
                                dependencies=tuple(body.dependencies))
    return written(s.gov, result, status=201, location=location(result.id), etag=True)


@router.post("/{initiative_id}/tranche-releases", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def release_tranche(initiative_id: UUID, body: TrancheReleaseCreate, request: Request,
                    s: ServicesDep, who: PrincipalDep,
                    key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Release a gate's tranche of approved work (CX executive, not an author): within what
    the pool has, comply or explain, four eyes judged on the tranche (above the threshold
    the first call records a first approval and a different executive releases)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.release_tranche(who, initiative_id=initiative_id, gate=body.gate,
                                     rationale=body.rationale)
    where = (f"/v1/audit/decisions/{result.decision.decision_id}" if result.decision
             else location(initiative_id))
    return written(s.gov, result, status=201, location=where, etag=True)


@router.post("/{initiative_id}/delivery", response_model=WrittenPublic, responses=WRITE)
def report_delivery(initiative_id: UUID, body: DeliveryCreate, request: Request,
                    s: ServicesDep, who: PrincipalDep,
                    key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Report that approved work was delivered (its P&L's owners)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.report_delivery(who, initiative_id=initiative_id,
                                       delivered_on=body.delivered_on, note=body.note)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/outcomes", response_model=WrittenPublic, responses=WRITE)
def record_outcome(initiative_id: UUID, body: OutcomeCreate, request: Request, s: ServicesDep,
                   who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record an observed outcome of delivered work (its P&L's owners)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.record_outcome(who, initiative_id=initiative_id, metric=body.metric,
                                      observed_value=body.observed_value,
                                      observed_at=body.observed_at, note=body.note)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/cancel", response_model=WrittenPublic, responses=WRITE)
def cancel(initiative_id: UUID, body: StopCreate, request: Request, s: ServicesDep,
           who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Stop approved work (the older name of `/stop`; same command, same effect)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.cancel_initiative(who, initiative_id=initiative_id, reason=body.reason,
                                       review=body.review)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/stop", response_model=WrittenPublic, responses=WRITE)
def stop(initiative_id: UUID, body: StopCreate, request: Request, s: ServicesDep,
         who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Stop approved work (CX executive): what is committed and not spent goes back to the
    pool; the spent part stays committed. Recorded as `Initiative.Cancelled`; with `review`,
    also as an item of that open review, in the same transaction."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.stop_initiative(who, initiative_id=initiative_id, reason=body.reason,
                                     review=body.review)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/descope", response_model=WrittenPublic, responses=WRITE)
def descope(initiative_id: UUID, body: DescopeCreate, request: Request, s: ServicesDep,
            who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Cut an approved or delivered initiative's commitment to `new_cost` (CX executive; at
    least what was spent, below what is committed); the difference goes back to the pool."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.descope_initiative(who, initiative_id=initiative_id,
                                        new_cost=body.new_cost, reason=body.reason,
                                        review=body.review)
    return written(s.gov, result, etag=True)


@router.post("/{initiative_id}/spend", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def record_spend(initiative_id: UUID, body: SpendCreate, request: Request, s: ServicesDep,
                 who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record a spend actual against approved or delivered work (finance, ingest services).
    Spend beyond the commitment is recorded and reported (the ledger's `over_plan`)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.record_spend(who, initiative_id=initiative_id, amount=body.amount,
                                  spent_on=body.spent_on, reference=body.reference,
                                  note=body.note)
    return written(s.gov, result, status=201, location=location(initiative_id), etag=True)
