"""A metric's scorecard by segment (issue 15, part 7): P&L, cohort, channel or region."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import AsOf, MinPosition, PrincipalDep, ServicesDep, at
from api.routes.docs import READ
from api.schemas import CODE_PATTERN
from domain.errors import MetricNotFound
from projections.segments import MetricSegments, metric_segments

router = APIRouter(prefix="/v1", tags=["register"])
MetricCode = Annotated[str, Path(pattern=CODE_PATTERN, examples=["M1"])]
By = Annotated[Literal["pnl", "cohort", "channel", "region"] | None, Query(
    description="The segment dimension; default the first the metric's readings carry.")]


class MetricSegmentsPublic(BaseModel):
    """A metric by segment as of a log position."""

    item: MetricSegments
    position: int


@router.get("/metrics/{code}/segments", response_model=MetricSegmentsPublic, responses=READ)
def get_metric_segments(code: MetricCode, s: ServicesDep, who: PrincipalDep, by: By = None,
                        as_of: AsOf = None,
                        min_position: MinPosition = None) -> MetricSegmentsPublic:
    """One metric's current value, intervals and tested trend per segment of one dimension,
    beside the whole; a segment with fewer responses than the policy's `min_sample_size`
    says so and shows no interval or trend (every authenticated caller)."""
    state = s.models.core_at(**at(s.models, as_of, min_position))
    found = metric_segments(state, code, by)
    if found is None:
        raise MetricNotFound(f"no metric {code}", code=code)
    return MetricSegmentsPublic(item=found, position=state.position)
