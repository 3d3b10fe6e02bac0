"""Jobs to be done (issue 15, part 5): define, rate, the job map, and the jobs an initiative
serves."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field

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
    Code,
    JobCreate,
    JobMapPublic,
    JobPreview,
    JobRate,
    RankingPublic,
    RequestBody,
    WrittenPublic,
)
from domain.errors import InvalidInput, PeriodNotFound
from domain.jobs import MOST_SERVED
from domain.policy import PolicyTerms
from governance.fields import OptionalReason
from governance.principal import Principal
from governance.read_access import read_as, require_policy_previewer
from projections.jobs import JobMap
from projections.query import ReadModels

router = APIRouter(prefix="/v1", tags=["jobs"])
JobCode = Annotated[str, Path(pattern=CODE_PATTERN, examples=["J1"])]


@router.post("/jobs", status_code=201, response_model=WrittenPublic, responses=WRITE)
def define_job(body: JobCreate, request: Request, s: ServicesDep, who: PrincipalDep,
               key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Define a job to be done with its importance and satisfaction (CX executive)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.define_job(who, code=body.code, statement=body.statement,
                                importance=body.importance, satisfaction=body.satisfaction,
                                scenario=body.scenario, metrics=list(body.metrics))
    return written(s.gov, result, status=201, location="/v1/jobs")


@router.post("/jobs/{code}/ratings", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def rate_job(code: JobCode, body: JobRate, request: Request, s: ServicesDep,
             who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record a job's new importance and satisfaction, with their source (CX executive)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.rate_job(who, code=code, importance=body.importance,
                              satisfaction=body.satisfaction, source=body.source)
    return written(s.gov, result, status=201, location="/v1/jobs")


@router.get("/jobs", response_model=JobMapPublic, responses=READ)
def job_map(s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
            min_position: MinPosition = None) -> JobMapPublic:
    """The job map: every job by opportunity score (importance + max(importance -
    satisfaction, 0)), and the metric weights the opportunities propose, to preview with
    `POST /v1/scoring-policy/preview` (every authenticated caller)."""
    when = at(s.models, as_of, min_position)
    position, found = s.models.jobs(**when)
    return JobMapPublic(item=readable(s.models, who, found, **when), position=position)


def readable(models: ReadModels, who: Principal, found: JobMap, **when: Any) -> JobMap:
    """The job map with only the serving initiatives `who` reads whole (the read rule:
    governance.read_access; an ingest account reads none), read as of the same `when`."""
    if not any(job.initiatives for job in found.jobs):
        return found
    seen = {card.id for card in read_as(who, models.snapshot(**when)).initiatives()}
    return found.model_copy(update={"jobs": [
        job.model_copy(update={"initiatives": [i for i in job.initiatives if i.id in seen]})
        for job in found.jobs]})


class JobsServe(RequestBody):
    """The whole set of jobs to be done an initiative serves (empty: none), and why."""

    jobs: list[Code] = Field(max_length=MOST_SERVED)
    reason: OptionalReason = ""


@router.post("/initiatives/{initiative_id}/jobs", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def link_jobs(initiative_id: UUID, body: JobsServe, request: Request, s: ServicesDep,
              who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Say which jobs to be done an initiative serves: the whole set, each job defined (its
    P&L's owners for a P&L initiative, CX executives for any); the job map and the initiative
    page show the link, the score does not change."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.link_jobs(who, initiative_id=initiative_id, jobs=list(body.jobs),
                               reason=body.reason)
    return written(s.gov, result, status=201, location="/v1/jobs")


@router.post("/jobs/preview", response_model=RankingPublic, responses=READ)
def preview_job_weights(body: JobPreview, s: ServicesDep, who: PrincipalDep) -> RankingPublic:
    """What-if: a period's ranking under the policy in force with its weights replaced by
    the weights the job map proposes (the scoring-policy preview's ranking; nothing is
    adopted: adopting stays `PUT /v1/scoring-policy`) (CX executive)."""
    require_policy_previewer(who)
    _, found = s.models.jobs()
    if not found.proposed_weights:
        raise InvalidInput("no job names a metric: there are no weights to preview",
                           field="jobs")
    current = s.models.core_at().policy
    terms = (replace(current, weights=dict(found.proposed_weights)) if current is not None
             else PolicyTerms(weights=dict(found.proposed_weights)))
    position, rows = s.models.preview_ranking(body.period, terms.check())
    if rows is None:
        raise PeriodNotFound(f"no period {body.period}", period=body.period)
    return RankingPublic(items=rows, position=position)
