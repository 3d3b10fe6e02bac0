"""The audit trail: raw events and decision records (auditors and CX executives)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import MAX_POSITION, MinPosition, PrincipalDep, ServicesDep, at
from api.routes.docs import READ
from api.schemas import AuditPagePublic, DocumentPublic
from domain.errors import NotFound
from governance.read_access import require_audit_reader
from projections.codec import plain

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
    return AuditPagePublic(items=plain(rows), limit=limit,
                           next_after=rows[-1]["position"] if len(rows) == limit else None)


@router.get("/decisions/{decision_id}", response_model=DocumentPublic, responses=READ)
def get_decision(decision_id: UUID, s: ServicesDep, who: PrincipalDep,
                 min_position: MinPosition = None) -> DocumentPublic:
    """One decision: who, when, why, rank and score then, policy version, pool before/after."""
    require_audit_reader(who)
    snapshot = s.models.snapshot(**at(s.models, None, min_position))
    for row in snapshot.documents("initiative"):
        for decision in row.get("decisions", []):
            if str(decision.get("decision_id")) == str(decision_id):
                item = {**plain(decision), "initiative_id": row["id"],
                        "initiative_code": row["code"], "period": row["period"]}
                return DocumentPublic(item=item, position=snapshot.position)
    raise DecisionNotFound(f"no decision {decision_id}")
