"""Reviews (the decision meetings) and benefit plans."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
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
    BenefitPlanCreate,
    BenefitPlanListPublic,
    BenefitPlanRevise,
    BenefitPointIn,
    Code,
    ReviewClose,
    ReviewCreate,
    ReviewListPublic,
    ReviewPublic,
    WrittenPublic,
)
from domain.benefits import BenefitPoint
from domain.errors import ReviewNotFound
from governance.read_access import require_initiative_reader

router = APIRouter(prefix="/v1", tags=["reviews"])
Period = Annotated[Code | None, Query(description="Only this period's.")]


def points(items: list[BenefitPointIn]) -> list[BenefitPoint]:
    """Plan points from request items."""
    return [BenefitPoint(p.metric, p.by, p.expected) for p in items]


@router.get("/reviews", response_model=ReviewListPublic, responses=READ)
def list_reviews(s: ServicesDep, who: PrincipalDep, period: Period = None, as_of: AsOf = None,
                 min_position: MinPosition = None) -> ReviewListPublic:
    """Reviews in the order they were opened."""
    require_initiative_reader(who)
    view = s.models.loop(**at(s.models, as_of, min_position))
    return ReviewListPublic(items=view.reviews(period), position=view.position)


@router.get("/reviews/{review_id}", response_model=ReviewPublic, responses=READ)
def get_review(review_id: UUID, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> ReviewPublic:
    """One review: the signals and ranking it opened on, the acts taken in it, its minutes."""
    require_initiative_reader(who)
    view = s.models.loop(**at(s.models, as_of, min_position))
    found = view.review(str(review_id))
    if found is None:
        raise ReviewNotFound(f"no review {review_id}")
    return ReviewPublic(item=found, position=view.position)


@router.post("/reviews", status_code=201, response_model=WrittenPublic, responses=WRITE)
def open_review(body: ReviewCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Open a review of a period (CX executive)."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.open_review(who, period=body.period, title=body.title)
    return written(s.gov, result, status=201, location=f"/v1/reviews/{result.id}")


@router.post("/reviews/{review_id}/close", response_model=WrittenPublic, responses=WRITE)
def close_review(review_id: UUID, body: ReviewClose, request: Request, s: ServicesDep,
                 who: PrincipalDep, idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Close a review with its minutes (CX executive)."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.close_review(who, review_id=review_id, minutes=body.minutes)
    return written(s.gov, result)


@router.get("/benefit-plans", response_model=BenefitPlanListPublic, responses=READ)
def list_benefit_plans(s: ServicesDep, who: PrincipalDep, period: Period = None,
                       as_of: AsOf = None,
                       min_position: MinPosition = None) -> BenefitPlanListPublic:
    """Benefit plans: owner, promised trajectory, realisation at each date, metrics at risk."""
    require_initiative_reader(who)
    view = s.models.loop(**at(s.models, as_of, min_position))
    return BenefitPlanListPublic(items=view.benefit_plans(period), position=view.position,
                                 now=view.now)


@router.post("/initiatives/{initiative_id}/benefit-plan", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def plan_benefits(initiative_id: UUID, body: BenefitPlanCreate, request: Request,
                  s: ServicesDep, who: PrincipalDep,
                  idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Plan an approved or delivered initiative's benefits (CX executive, or the P&L owner who
    submitted it)."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.plan_benefits(who, initiative_id=initiative_id, owner=body.owner,
                                   points=points(body.points))
    return written(s.gov, result, status=201)


@router.post("/initiatives/{initiative_id}/benefit-plan/revisions",
             response_model=WrittenPublic, responses=WRITE)
def revise_benefits(initiative_id: UUID, body: BenefitPlanRevise, request: Request,
                    s: ServicesDep, who: PrincipalDep,
                    idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Revise a benefit plan, with a reason."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.revise_benefits(who, initiative_id=initiative_id, owner=body.owner,
                                     points=points(body.points), reason=body.reason)
    return written(s.gov, result)
