"""Jobs to be done (issue 15, part 5): what customers hire the company to get done, with the
importance and satisfaction they give it (outcome-driven innovation, ODI, 0-10 scales) and
the customer success metrics that measure it.

A job's opportunity score is importance + max(importance - satisfaction, 0): important and
unsatisfied jobs score highest (up to 20). Opportunity scores can *propose* metric weights
(`proposed_weights`): a proposal, never adopted by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.ids import natural_id
from domain.policy import whole_points
from domain.text import clean_text
from domain.values import require_code, require_text

SCALE = (Decimal(0), Decimal(10))
MOST_METRICS = 20  # customer success metrics measuring one job
UNDERSERVED = Decimal(10)  # ODI: an opportunity above 10 is an underserved job


def opportunity(importance: Decimal, satisfaction: Decimal) -> Decimal:
    """The ODI opportunity score: importance + max(importance - satisfaction, 0)."""
    return importance + max(importance - satisfaction, Decimal(0))


def check_rating(value: Decimal, *, field: str) -> Decimal:
    """An importance or satisfaction: a finite number in [0, 10]."""
    if not isinstance(value, Decimal) or not value.is_finite() or not (
            SCALE[0] <= value <= SCALE[1]):
        raise InvalidInput(f"{field} must be a number in [0, 10]", field=field)
    return value


def proposed_weights(opportunities: Mapping[str, Iterable[Decimal]]) -> dict[str, int]:
    """Whole policy points summing to 100, per metric, in proportion to the opportunity of the
    jobs it measures (each job's opportunity counts once for each metric measuring it);
    largest remainder, ties to the metric code. Empty when no opportunity is above zero."""
    totals = {code: sum(values, Decimal(0)) for code, values in opportunities.items()}
    return whole_points(totals)


class Job(Aggregate):
    """A job to be done, its ODI ratings and the metrics that measure it."""

    TOPIC = "cxgov.Job"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.Job.Created"

    class Defined(Created):
        TOPIC = "cxgov.Job.Defined"
        code: str
        statement: str
        scenario: str | None
        metrics: list[str]
        importance: Decimal
        satisfaction: Decimal
        actor: str

    class Rated(Aggregate.Event):
        """New importance and satisfaction (a new survey), with where they came from."""

        TOPIC = "cxgov.Job.Rated"
        code: str
        importance: Decimal
        satisfaction: Decimal
        previous_importance: Decimal
        previous_satisfaction: Decimal
        source: str
        actor: str

    @staticmethod
    def create_id(code: str) -> UUID:
        """Job ids are derived from their code."""
        return natural_id("job", code)

    @classmethod
    def define(cls, *, code: str, statement: str, scenario: str | None, metrics: list[str],
               importance: Decimal, satisfaction: Decimal, actor: str) -> Job:
        """Define a job after checking its fields (the metrics named once each)."""
        codes = [require_code(m, field=f"metrics.{n}") for n, m in enumerate(metrics)]
        if len(codes) > MOST_METRICS:
            raise InvalidInput(f"at most {MOST_METRICS} metrics per job", field="metrics")
        if len(set(codes)) != len(codes):
            raise InvalidInput("a metric is named twice", field="metrics")
        created: Job = cls(
            code=require_code(code, field="code"),
            statement=require_text(statement, field="statement", max_length=300),
            scenario=scenario, metrics=codes,
            importance=check_rating(importance, field="importance"),
            satisfaction=check_rating(satisfaction, field="satisfaction"), actor=actor)
        return created

    @event(Defined)
    def __init__(self, *, code: str, statement: str, scenario: str | None, metrics: list[str],
                 importance: Decimal, satisfaction: Decimal, actor: str) -> None:
        self.code = code
        self.statement = statement
        self.scenario = scenario
        self.metrics = list(metrics)
        self.importance = importance
        self.satisfaction = satisfaction

    @property
    def opportunity(self) -> Decimal:
        """The job's ODI opportunity score now."""
        return opportunity(self.importance, self.satisfaction)

    def rate(self, *, importance: Decimal, satisfaction: Decimal, source: str,
             actor: str) -> None:
        """Record new ratings; ratings that change nothing are refused."""
        check_rating(importance, field="importance")
        check_rating(satisfaction, field="satisfaction")
        if (importance, satisfaction) == (self.importance, self.satisfaction):
            raise InvalidInput(f"job {self.code} is rated so already: nothing changes",
                               field="importance")
        self._rated(code=self.code, importance=importance, satisfaction=satisfaction,
                    previous_importance=self.importance,
                    previous_satisfaction=self.satisfaction,
                    source=require_text(source, field="source", max_length=200), actor=actor)

    @event(Rated)
    def _rated(self, *, code: str, importance: Decimal, satisfaction: Decimal,
               previous_importance: Decimal, previous_satisfaction: Decimal, source: str,
               actor: str) -> None:
        self.importance = importance
        self.satisfaction = satisfaction


#: The most jobs one initiative may say it serves.
MOST_SERVED = 20


def check_served(jobs: list[str]) -> list[str]:
    """The job codes an initiative serves: codes, each once, at most `MOST_SERVED`."""
    if not isinstance(jobs, list) or len(jobs) > MOST_SERVED:
        raise InvalidInput(f"name at most {MOST_SERVED} jobs", field="jobs")
    codes = [require_code(j, field=f"jobs.{n}") for n, j in enumerate(jobs)]
    if len(set(codes)) != len(codes):
        raise InvalidInput("a job is named twice", field="jobs")
    return codes


class ServedJobs(Aggregate):
    """The jobs to be done an initiative says it serves (issue 15, part 5; decision 120): one
    stream per initiative, beside the initiative's own (whose events stay as they were)."""

    TOPIC = "cxgov.ServedJobs"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.ServedJobs.Created"

    class Opened(Created):
        TOPIC = "cxgov.ServedJobs.Opened"
        initiative_id: str
        period: str
        code: str
        actor: str

    class Linked(Aggregate.Event):
        """The whole set of jobs the initiative serves now, and the set before."""

        TOPIC = "cxgov.ServedJobs.Linked"
        initiative_id: str
        period: str
        code: str
        jobs: list[str]
        previous: list[str]
        reason: str
        actor: str

    @staticmethod
    def create_id(initiative_id: UUID | str) -> UUID:
        """One stream per initiative."""
        return natural_id("served-jobs", str(initiative_id))

    @classmethod
    def open(cls, *, initiative_id: str, period: str, code: str, actor: str) -> ServedJobs:
        """The initiative's stream, before its first link."""
        created: ServedJobs = cls(initiative_id=initiative_id, period=period, code=code,
                                  actor=actor)
        return created

    @event(Opened)
    def __init__(self, *, initiative_id: str, period: str, code: str, actor: str) -> None:
        self.initiative_id = initiative_id
        self.period = period
        self.code = code
        self.jobs: list[str] = []

    def link(self, *, jobs: list[str], reason: str, actor: str) -> None:
        """Say which jobs the initiative serves (the whole set, sorted; empty: none); a set
        equal to the one recorded is refused."""
        codes = sorted(check_served(jobs))
        if codes == self.jobs:
            raise InvalidInput(f"{self.code} serves exactly these jobs already: nothing "
                               "changes", field="jobs")
        self._linked(initiative_id=self.initiative_id, period=self.period, code=self.code,
                     jobs=codes, previous=list(self.jobs),
                     reason=clean_text(reason, field="reason", max_length=500, required=False),
                     actor=actor)

    @event(Linked)
    def _linked(self, *, initiative_id: str, period: str, code: str, jobs: list[str],
                previous: list[str], reason: str, actor: str) -> None:
        self.jobs = list(jobs)
