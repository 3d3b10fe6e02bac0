"""Jobs to be done (issue 15, part 5): CX executives define jobs and record their ratings; an
initiative's owners (or a CX executive) say which jobs it serves."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import JobNotFound
from domain.jobs import Job, ServedJobs, check_served
from governance.access import require_initiative_owner, require_role
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

    def link_jobs(self, principal: Principal, *, initiative_id: UUID, jobs: list[str],
                  reason: str = "") -> CommandResult:
        """Say which jobs to be done an initiative serves: the whole set (empty: none), each
        job defined (its P&L's owners for a P&L initiative, CX executives for any)."""
        codes = check_served(jobs)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            if not principal.has(CX_EXEC):
                require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                         action="saying which jobs an initiative serves")
            unit.prefetch([Job.create_id(c) for c in codes])
            for n, code in enumerate(codes):
                unit.read(Job, Job.create_id(code), _no_job(code, n))
            served_id = ServedJobs.create_id(initiative_id)
            found = unit.seen(served_id)
            served = (unit.store.private(found) if isinstance(found, ServedJobs) else
                      ServedJobs.open(initiative_id=str(initiative_id),
                                      period=initiative.period, code=initiative.code,
                                      actor=principal.actor))
            served.link(jobs=codes, reason=reason, actor=principal.actor)
            return [served]

        return self.transact(build, lambda: [initiative_id, ServedJobs.create_id(initiative_id)])


def _no_job(code: str, n: int) -> Callable[[], Exception]:
    """The refusal of a link naming a job that is not defined."""
    return lambda: JobNotFound(f"no job {code}", code=code, field=f"jobs.{n}")
