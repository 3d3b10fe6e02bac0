"""The audit trail: raw events and decision records (auditors and CX executives)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import MAX_POSITION, MinPosition, PrincipalDep, ServicesDep, at
from api.routes import audit_log
from api.routes.audit_decisions import DecisionFromLogPublic, explain_from_log
from api.routes.docs import READ
from api.schemas import (
    AuditPagePublic,
    DeparturesPublic,
    DeparturesRegister,
)
from domain.errors import NotFound
from governance.read_access import require_audit_reader

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class DecisionNotFound(NotFound):
    """No decision with this id."""

    code = "decision.not_found"


@router.get("/events", response_model=AuditPagePublic, responses=READ)
def list_events(s: ServicesDep, who: PrincipalDep,
                after: Annotated[int, Query(ge=0, le=MAX_POSITION,
                                            description="Cursor: events after this position.")
                                 ] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                aggregate_id: UUID | None = None,
                min_position: MinPosition = None) -> AuditPagePublic:
    """Every event, flattened, in log order (cursor pagination on `after`)."""
    require_audit_reader(who)
    at(s.models, None, min_position)
    rows = s.models.audit_events(after=after, limit=limit, min_position=min_position,
                                 aggregate_id=str(aggregate_id) if aggregate_id else None)
    return AuditPagePublic(items=rows, limit=limit,
                           next_after=rows[-1].position if len(rows) == limit else None)


@router.get("/decisions/{decision_id}", response_model=DecisionFromLogPublic, responses=READ)
def get_decision(decision_id: UUID, s: ServicesDep, who: PrincipalDep,
                 min_position: MinPosition = None) -> DecisionFromLogPublic:
    """One decision explained: who, when, why, the ranking it was taken against (replayed at
    its log position), the cut line, departure and justification, approvers, pool before and
    after, policy version. The record is the log's (the initiative's stored event);
    `log_check` lists where the read model, or the ranking then's row of the initiative,
    disagrees with it (api/routes/audit_decisions.py)."""
    require_audit_reader(who)
    window = at(s.models, None, min_position)
    explained = s.models.explain_decision(str(decision_id), **window)
    found = None if explained is None else explain_from_log(s.gov, s.models, who,
                                                            decision_id, explained)
    if found is None:
        raise DecisionNotFound(f"no decision {decision_id} in the log")
    return found


@router.get("/departures/{code}", response_model=DeparturesPublic, responses=READ)
def get_departures(code: str, s: ServicesDep, who: PrincipalDep,
                   as_of: Annotated[str | None, Query(
                       description="Log position or ISO 8601 time.")] = None,
                   min_position: MinPosition = None) -> DeparturesPublic:
    """The departures register of a period: decisions against the recommendation."""
    require_audit_reader(who)
    window = at(s.models, as_of, min_position)
    rows = s.models.departures(code, **window)
    return DeparturesPublic(item=DeparturesRegister(period=code, departures=rows),
                            position=s.models.position())


router.include_router(audit_log.router)  # the Merkle log: checkpoints, proofs, cosignatures
