"""Jobs to be done (issue 15, part 5): CX executives define jobs and record their ratings."""

from __future__ import annotations

from decimal import Decimal

from eventsourcing.domain import Aggregate

from domain.errors import JobNotFound
from domain.jobs import Job
from governance.access import require_role
from governance.principal import CX_EXEC, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands


class JobUseCases(Commands):
    """What CX executives do with jobs to be done."""

    def define_job(self, principal: Principal, *, code: str, statement: str,
                   importance: Decimal, satisfaction: Decimal, scenario: str | None = None,
                   metrics: list[str] | None = None) -> CommandResult:
        """Define a job to be done with its ODI ratings, its scenario and the customer success
        metrics that measure it (each must exist)."""
        require_role(principal, CX_EXEC, action="defining a job to be done")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            if scenario is not None:
                unit.scenario(scenario)
            job = Job.define(code=code, statement=statement, scenario=scenario,
                             metrics=list(metrics or []), importance=importance,
                             satisfaction=satisfaction, actor=principal.actor)
            for metric in job.metrics:
                unit.metric(metric)
            unit.require_absent(job.id, f"job {code} exists already", field="code")
            return [job]

        return self.transact(build)

    def rate_job(self, principal: Principal, *, code: str, importance: Decimal,
                 satisfaction: Decimal, source: str) -> CommandResult:
        """Record a job's new importance and satisfaction (a new survey), with its source."""
        require_role(principal, CX_EXEC, action="rating a job to be done")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            job = unit.load(Job, Job.create_id(code),
                            lambda: JobNotFound(f"no job {code}", code=code))
            job.rate(importance=importance, satisfaction=satisfaction, source=source,
                     actor=principal.actor)
            return [job]

        return self.transact(build)
