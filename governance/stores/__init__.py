"""Adapters to the event store and the read side: PostgreSQL or in memory.

`EventStore` is everything the application needs of its store beyond the library's own save
and get: the batched, cached reads of a command, the turns on hot streams, existence and
position queries, and the chain entry a save just wrote. `store_for` picks the implementation
once, when the application is built, from the recorder the library made for its environment
(governance/bootstrap.py chooses that environment from the settings).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


class EventStore(Protocol):
    """The store behind the application's commands."""

    def fetch_at(self, ids: Iterable[UUID]) -> tuple[dict[UUID, Aggregate], int]:
        """The newest state of each existing aggregate among `ids` (shared: look, do not
        change), and the log position those states are as of."""
        ...

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        """A possibly stale state of an aggregate, as a hint (never for a rule), or None."""
        ...

    def private(self, aggregate: A) -> A:
        """A copy of a shared aggregate for a command to change."""
        ...

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        """Remember these just-saved states for later reads."""
        ...

    def turn(self, stream_id: UUID) -> AbstractContextManager[None]:
        """Hold the write turn on a hot stream (governance/stores/turns.py)."""
        ...

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of these streams exist (one query)."""
        ...

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        """The log position of one stored event (0 when there is none)."""
        ...

    def forget_chained(self) -> None:
        """Before a save: forget the chain entry an earlier save of this thread wrote."""
        ...

    def chained(self, position: int) -> bytes | None:
        """After a save: the chain entry hash it wrote at `position`, if it wrote one."""
        ...


def store_for(app: Application[UUID]) -> EventStore:
    """The store of an application: PostgreSQL when its recorder is the chained PostgreSQL
    recorder, else the library's in-memory store."""
    from governance.stores.integrity import IntegrityRecorder

    recorder: Any = app.recorder
    if isinstance(recorder, IntegrityRecorder):
        from governance.stores.postgres import PostgresStore

        return PostgresStore(app, recorder)
    from governance.stores.memory import MemoryStore

    return MemoryStore(app)
