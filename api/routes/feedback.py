"""Voice of the customer as evidence (issue 15, part 6): feedback batches, the feedback read,
and the items an initiative cites."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
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
from api.routes.docs import READ, WRITE
from api.schemas import CODE_PATTERN, EvidenceCreate, FeedbackCreate, FeedbackPublic, WrittenPublic

router = APIRouter(prefix="/v1", tags=["feedback"])
Tag = Annotated[str | None, Query(pattern=CODE_PATTERN)]


@router.post("/feedback", status_code=201, response_model=WrittenPublic, responses=WRITE)
def record_feedback(body: FeedbackCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                    key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record a batch of feedback items (ingest services, CX executives)."""
    items = [i.model_dump(exclude_none=True) for i in body.items]
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.record_feedback(who, batch_key=body.batch_key, items=items,
                                     source=body.source)
    return written(s.gov, result, status=201, location="/v1/feedback")


@router.get("/feedback", response_model=FeedbackPublic, responses=READ)
def list_feedback(s: ServicesDep, who: PrincipalDep, metric: Tag = None, scenario: Tag = None,
                  job: Tag = None, cited_by: UUID | None = None, limit: Limit = 100,
                  offset: Offset = 0, as_of: AsOf = None,
                  min_position: MinPosition = None) -> FeedbackPublic:
    """Feedback items, newest received first, by metric, scenario, job or the initiative
    citing them (every authenticated caller)."""
    position, found = s.models.feedback(
        metric=metric, scenario=scenario, job=job,
        cited_by=str(cited_by) if cited_by else None, limit=limit, offset=offset,
        **at(s.models, as_of, min_position))
    return FeedbackPublic(item=found, position=position)


@router.post("/initiatives/{initiative_id}/evidence", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def cite_feedback(initiative_id: UUID, body: EvidenceCreate, request: Request, s: ServicesDep,
                  who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Cite feedback items as evidence behind an initiative (its P&L's owners, CX
    executives); the ranking card counts them, the score does not change."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.cite_feedback(who, initiative_id=initiative_id, refs=list(body.refs),
                                   note=body.note)
    return written(s.gov, result, status=201, location="/v1/feedback")
