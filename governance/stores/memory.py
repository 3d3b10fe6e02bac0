"""The in-memory event store's side of `EventStore`: everything is local, nothing is cached."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from governance.stores.turns import StreamTurns

A = TypeVar("A", bound=Aggregate)


class MemoryStore:
    """Reads straight from the repository (each read is a private copy already); turns are
    one process's locks; positions are found by scanning the log (tests and demos only)."""

    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._turns = StreamTurns(None)

    def fetch_at(self, ids: Iterable[UUID]) -> tuple[dict[UUID, Aggregate], int]:
        found: dict[UUID, Aggregate] = {}
        for aggregate_id in dict.fromkeys(ids):
            try:
                found[aggregate_id] = self._app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
        return found, self._app.recorder.max_notification_id() or 0

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        return None

    def private(self, aggregate: A) -> A:
        return aggregate

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        return None

    def turn(self, stream_id: UUID) -> AbstractContextManager[None]:
        return self._turns.turn(stream_id)

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        return {i for i in ids if i in self._app.repository}

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        start = None
        recorder = self._app.recorder
        while batch := recorder.select_notifications(start=start, limit=1000,
                                                     inclusive_of_start=False):
            for n in batch:
                if n.originator_id == aggregate_id and n.originator_version == version:
                    return int(n.id)
            start = batch[-1].id
        return 0

    def forget_chained(self) -> None:
        return None

    def chained(self, position: int) -> bytes | None:
        return None
