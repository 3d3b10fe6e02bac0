"""Ingest services (and CX executives): readings of the customer success metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import AlreadyExists, InvalidInput, MetricNotFound
from domain.metric import CustomerSuccessMetric, ObservationBatch
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
        self._check_bulk_size(batches)
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
            _refuse_repeats(created)
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

    def _check_bulk_size(self, batches: Sequence[Batch]) -> None:
        if not batches:
            raise InvalidInput("send at least one batch", field="batches")
        if len(batches) > self.max_bulk_batches:
            raise InvalidInput(f"at most {self.max_bulk_batches:,} batches per call, got "
                               f"{len(batches):,}", field="batches")
        readings_count = sum(len(readings) for _, _, readings, _ in batches)
        if readings_count > self.max_bulk_readings:
            raise InvalidInput(f"at most {self.max_bulk_readings:,} readings per call, got "
                               f"{readings_count:,}", field="batches")


def _refuse_repeats(created: Sequence[ObservationBatch]) -> None:
    seen: set[UUID] = set()
    repeated = []
    for b in created:
        if b.id in seen:
            repeated.append(b)
        seen.add(b.id)
    if repeated:
        raise InvalidInput(
            f"{len(repeated)} batch key(s) appear more than once in the call: "
            f"{listed(repeated)}; none of the {len(created)} batches was written",
            field="batches", repeated=keys(repeated))


def listed(batches: Sequence[ObservationBatch], most: int = 20) -> str:
    """`metric/batch_key` of the first batches, for an error message."""
    names = [f"{b.metric}/{b.batch_key}" for b in batches]
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


def keys(batches: Sequence[ObservationBatch]) -> list[dict[str, str]]:
    """The batches' metric and batch key, for an error's details."""
    return [{"metric": b.metric, "batch_key": b.batch_key} for b in batches]
