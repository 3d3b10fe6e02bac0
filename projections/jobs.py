"""Jobs to be done on the read side (issue 15, part 5): the job map and the metric weights
the opportunity scores propose.

The fold keeps each job as a plain value in the state's core (`PortfolioState.jobs`; the
handlers below are registered into the portfolio fold), so the job map is computed when asked
and replays as of any position without loading an initiative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from domain.jobs import UNDERSERVED, Job, ServedJobs, opportunity, proposed_weights
from projections.rows import DecimalText, ReadRow, TimeText

if TYPE_CHECKING:
    from projections.state import PortfolioState


class ServingInitiative(ReadRow):
    """An initiative that says it serves a job."""

    code: str
    id: str
    period: str


class JobRow(ReadRow):
    """One job to be done, its ratings and opportunity, and the metrics that measure it."""

    code: str
    defined_at: TimeText
    importance: DecimalText
    metrics: list[str]
    opportunity: DecimalText = Field(description="importance + max(importance - "
                                                 "satisfaction, 0), 0 to 20.")
    rank: int = Field(description="1 = the highest opportunity (ties by code).")
    ratings: int = Field(description="How many times it was rated (the definition included).")
    satisfaction: DecimalText
    scenario: str | None
    statement: str
    underserved: bool = Field(description="Opportunity above 10 (ODI's underserved jobs).")
    initiatives: list[ServingInitiative] = Field(default_factory=list, description=(
        "The initiatives that say they serve it (those the reader may read whole)."))


class JobMap(ReadRow):
    """Every job by opportunity, and the metric weights the opportunities propose."""

    jobs: list[JobRow]
    proposed_weights: dict[str, int] = Field(description=(
        "Whole policy points summing to 100 per metric, in proportion to the opportunity of "
        "the jobs it measures: a proposal to preview (POST /v1/scoring-policy/preview), never "
        "adopted by itself. Empty when no job names a metric."))


def _defined(s: PortfolioState, e: Job.Defined) -> set[str]:
    s.jobs[e.code] = {"code": e.code, "statement": e.statement, "scenario": e.scenario,
                      "metrics": list(e.metrics), "importance": e.importance,
                      "satisfaction": e.satisfaction, "defined_at": e.timestamp, "ratings": 1}
    return set()


def _rated(s: PortfolioState, e: Job.Rated) -> set[str]:
    job = s.jobs.get(e.code)
    if job is not None:
        job.update(importance=e.importance, satisfaction=e.satisfaction,
                   ratings=job["ratings"] + 1)
    return set()


def _served_opened(s: PortfolioState, e: ServedJobs.Opened) -> set[str]:
    s.served_jobs[e.initiative_id] = {"period": e.period, "code": e.code, "jobs": []}
    return set()


def _served_linked(s: PortfolioState, e: ServedJobs.Linked) -> set[str]:
    found = s.served_jobs.setdefault(e.initiative_id, {"period": e.period, "code": e.code})
    found["jobs"] = list(e.jobs)
    return {f"period:{found['period']}"}  # the ranking row lists the jobs


JOB_HANDLERS: dict[type, Any] = {Job.Defined: _defined, Job.Rated: _rated,
                                 ServedJobs.Opened: _served_opened,
                                 ServedJobs.Linked: _served_linked}


def served_by(state: PortfolioState, initiative_id: str) -> list[str]:
    """The job codes an initiative says it serves (sorted; none when it said none)."""
    found = state.served_jobs.get(initiative_id)
    return list(found["jobs"]) if found else []


def job_map(state: PortfolioState) -> JobMap:
    """The job map: jobs by opportunity (highest first, ties by code), proposed weights, and
    the initiatives serving each job (in period and code order)."""
    serving: dict[str, list[ServingInitiative]] = {}
    for initiative_id, found in sorted(state.served_jobs.items(),
                                       key=lambda t: (t[1]["period"], t[1]["code"])):
        for code in found["jobs"]:
            serving.setdefault(code, []).append(ServingInitiative(
                id=initiative_id, period=found["period"], code=found["code"]))
    scored = sorted(((opportunity(j["importance"], j["satisfaction"]), code, j)
                     for code, j in state.jobs.items()), key=lambda t: (-t[0], t[1]))
    rows = [JobRow(code=code, statement=j["statement"], scenario=j["scenario"],
                   metrics=list(j["metrics"]), importance=str(j["importance"]),
                   satisfaction=str(j["satisfaction"]), opportunity=str(score), rank=n,
                   underserved=score > UNDERSERVED, ratings=j["ratings"],
                   defined_at=_time(j["defined_at"]), initiatives=serving.get(code, []))
            for n, (score, code, j) in enumerate(scored, start=1)]
    per_metric: dict[str, list[Any]] = {}
    for score, _code, j in scored:
        for metric in j["metrics"]:
            per_metric.setdefault(metric, []).append(score)
    return JobMap(jobs=rows, proposed_weights=proposed_weights(per_metric))


def _time(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
