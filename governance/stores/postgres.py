"""The PostgreSQL event store's side of `EventStore`: the aggregate cache, advisory-lock
turns, and the queries a command needs beside the library's save and get."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from governance.stores.aggregate_cache import AggregateCache
from governance.stores.integrity import IntegrityRecorder
from governance.stores.turns import StreamTurns

A = TypeVar("A", bound=Aggregate)


class PostgresStore:
    """One per application (process)."""

    def __init__(self, app: Application[UUID], recorder: IntegrityRecorder) -> None:
        self._recorder = recorder
        self.datastore = recorder.datastore
        self._table = recorder.events_table_name
        self.cache = AggregateCache(app, recorder.datastore, self._table)
        self.turns = StreamTurns(recorder.datastore)

    def fetch_at(self, ids: Iterable[UUID]) -> tuple[dict[UUID, Aggregate], int]:
        return self.cache.fetch_at(ids)

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        return self.cache.peek(aggregate_id)

    def private(self, aggregate: A) -> A:
        return self.cache.private(aggregate)

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        self.cache.keep(aggregates)

    def turn(self, stream_id: UUID) -> AbstractContextManager[None]:
        return self.turns.turn(stream_id)

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        """One query; the ids travel as one text array."""
        with self._recorder.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT DISTINCT originator_id FROM {self._table} "
                         "WHERE originator_id = ANY(%s::uuid[])",
                         ("{" + ",".join(map(str, ids)) + "}",))
            return {row["originator_id"] for row in curs.fetchall()}

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        with self._recorder.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT notification_id FROM {self._table} "
                         "WHERE originator_id = %s AND originator_version = %s",
                         (aggregate_id, version))
            row = curs.fetchone()
            return int(row["notification_id"]) if row else 0

    def forget_chained(self) -> None:
        self._recorder.take_chained()

    def chained(self, position: int) -> bytes | None:
        found = self._recorder.take_chained()
        return found[1] if found is not None and found[0] == position else None
