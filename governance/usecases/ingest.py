"""Ingest services (and CX executives): readings of the customer success metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from eventsourcing.domain import Aggregate

from domain.errors import AlreadyExists, InvalidInput, MetricNotFound
from domain.metric import (
    CustomerSuccessMetric,
    ObservationBatch,
    check_bulk,
    keys,
    listed,
    refuse_repeated,
)
from domain.values import Reading
from governance.access import require_role
from governance.principal import CX_EXEC, INGEST, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands

#: One batch of a bulk call: metric, batch key, readings, source.
Batch = tuple[str, str, Sequence[Reading], str]


class IngestUseCases(Commands):
    """What ingest services do."""

    #: Limits of one `record_observation_batches` call (one transaction).
    max_bulk_batches: ClassVar[int] = 1_000
    max_bulk_readings: ClassVar[int] = 10_000

    def record_observations(self, principal: Principal, *, metric: str, batch_key: str,
                            readings: Sequence[Reading], source: str) -> CommandResult:
        """Record a batch of readings; a retried batch key is refused, never applied twice."""
        require_role(principal, INGEST, CX_EXEC, action="recording observations")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            unit.metric(metric)
            batch = ObservationBatch.record(metric=metric, batch_key=batch_key,
                                            readings=tuple(readings), source=source,
                                            actor=principal.actor, now=self.clock())
            unit.require_absent(batch.id, f"batch {batch_key} of {metric} was recorded already",
                                field="batch_key")
            return [batch]

        return self.transact(build)

    def record_observation_batches(self, principal: Principal, *,
                                   batches: Sequence[Batch]) -> CommandResult:
        """Record many `(metric, batch_key, readings, source)` batches in one transaction.

        All or nothing: a batch key given twice, or recorded already, refuses the whole call
        and names every such batch. One query asks which of the distinct metrics (their ids
        are namespaced: an existing metric id is a metric) and which batches exist. At most
        `max_bulk_batches` batches and `max_bulk_readings` readings in total. The result
        names the last batch; its position is the position of the call's last event.
        """
        require_role(principal, INGEST, CX_EXEC, action="recording observations")
        check_bulk(len(batches), sum(len(readings) for _, _, readings, _ in batches),
                   most_batches=self.max_bulk_batches, most_readings=self.max_bulk_readings)
        now = self.clock()

        def build(unit: UnitOfWork) -> list[Aggregate]:
            created = []
            for index, (metric, key, readings, source) in enumerate(batches):
                try:
                    created.append(ObservationBatch.record(
                        metric=metric, batch_key=key, readings=tuple(readings), source=source,
                        actor=principal.actor, now=now))
                except InvalidInput as exc:
                    raise exc.within(f"batches.{index}") from None
            refuse_repeated(created)
            metrics = {CustomerSuccessMetric.create_id(code): code
                       for code in dict.fromkeys(b.metric for b in created)}
            found = unit.store.existing([*metrics, *(b.id for b in created)])
            for metric_id, code in metrics.items():
                if metric_id not in found:
                    raise MetricNotFound(f"no metric {code}", field="metric", code=code)
            dupes = [b for b in created if b.id in found]
            if dupes:
                raise AlreadyExists(
                    f"{len(dupes)} of {len(created)} batches were recorded already: "
                    f"{listed(dupes)}; none of the {len(created)} batches was written",
                    field="batches", duplicates=keys(dupes))
            return list(created)

        return self.transact(build)
