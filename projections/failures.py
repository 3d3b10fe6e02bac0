"""Projection failures: the event a projection could not project, kept where readers see it.

A projector that fails on an event stops that projection there (its rows and tracking stay as
they were), retries after a growing delay and records the failure beside the view: in the
table rm_projection_failures (alembic revision 0006) on PostgreSQL, so an API process sees
what a `cxgov project` process met, and in memory beside an in-memory view. The record is
cleared once the projection has projected past the position.
"""

from __future__ import annotations

import threading
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder

from projections.codec import storable

#: Longest error text kept (the first line of a long message is what an operator needs).
ERROR_CHARS = 500


@dataclass(frozen=True)
class ProjectionFailure:
    """A projection stopped before the event at `position`."""

    projection: str
    position: int
    topic: str
    error: str  # "ErrorClass: message"
    since: datetime  # the first failure at this position
    attempts: int = 1
    last_attempt: datetime | None = None

    def details(self) -> dict[str, Any]:
        """JSON-ready fields (for /readyz)."""
        return {"projection": self.projection, "position": self.position, "topic": self.topic,
                "error": self.error, "since": self.since.isoformat(),
                "attempts": self.attempts}


def describe(exc: BaseException) -> str:
    """An error as one storable line: its class and message."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").strip()
    return storable(text[:ERROR_CHARS])


def backoff(attempts: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds before the next try after `attempts` failures in a row: base, 2 base, 4 base...
    up to cap."""
    return min(cap, base * 2.0 ** min(max(attempts - 1, 0), 30))


class FailureLog(ABC):
    """Where a view's projection failures are kept."""

    @abstractmethod
    def record(self, failure: ProjectionFailure) -> ProjectionFailure:
        """Store a failure; one at the same position as the stored one counts another attempt
        and keeps its `since`. Returns what is stored."""

    @abstractmethod
    def get(self, projection: str) -> ProjectionFailure | None:
        """The projection's failure, if it has one."""

    @abstractmethod
    def clear(self, projection: str) -> None:
        """Forget the projection's failure."""


class MemoryFailureLog(FailureLog):
    """A dictionary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, ProjectionFailure] = {}

    def record(self, failure: ProjectionFailure) -> ProjectionFailure:
        """Store a failure."""
        with self._lock:
            old = self._failures.get(failure.projection)
            if old is not None and old.position == failure.position:
                failure = replace(failure, since=old.since, attempts=old.attempts + 1)
            self._failures[failure.projection] = failure
            return failure

    def get(self, projection: str) -> ProjectionFailure | None:
        """The projection's failure."""
        with self._lock:
            return self._failures.get(projection)

    def clear(self, projection: str) -> None:
        """Forget it."""
        with self._lock:
            self._failures.pop(projection, None)


class PostgresFailureLog(FailureLog):
    """rm_projection_failures, each statement in its own transaction."""

    COLUMNS = "projection, position, topic, error, since, attempts, last_attempt"

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def record(self, failure: ProjectionFailure) -> ProjectionFailure:
        """Upsert the failure."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"INSERT INTO rm_projection_failures AS f ({self.COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, 1, %s) ON CONFLICT (projection) DO UPDATE SET "
                "attempts = CASE WHEN f.position = EXCLUDED.position THEN f.attempts + 1 "
                "ELSE 1 END, since = CASE WHEN f.position = EXCLUDED.position THEN f.since "
                "ELSE EXCLUDED.since END, position = EXCLUDED.position, topic = EXCLUDED.topic, "
                f"error = EXCLUDED.error, last_attempt = EXCLUDED.last_attempt "
                f"RETURNING {self.COLUMNS}",
                (failure.projection, failure.position, storable(failure.topic),
                 storable(failure.error), failure.since,
                 failure.last_attempt or failure.since))
            row = curs.fetchone()
        return _failure(row)

    def get(self, projection: str) -> ProjectionFailure | None:
        """The projection's failure."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT {self.COLUMNS} FROM rm_projection_failures "
                         "WHERE projection = %s", (projection,))
            row = curs.fetchone()
        return _failure(row) if row else None

    def clear(self, projection: str) -> None:
        """Delete the row."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("DELETE FROM rm_projection_failures WHERE projection = %s",
                         (projection,))


def _failure(row: Any) -> ProjectionFailure:
    return ProjectionFailure(row["projection"], int(row["position"]), row["topic"],
                             row["error"], row["since"], int(row["attempts"]),
                             row["last_attempt"])


_MEMORY: weakref.WeakKeyDictionary[TrackingRecorder, MemoryFailureLog] = (
    weakref.WeakKeyDictionary())
_MEMORY_LOCK = threading.Lock()


def failure_log(view: TrackingRecorder) -> FailureLog:
    """The failure log kept beside a view: its database's table, or the view's memory."""
    if isinstance(view, PostgresTrackingRecorder):
        return PostgresFailureLog(view.datastore)
    with _MEMORY_LOCK:
        found = _MEMORY.get(view)
        if found is None:
            found = _MEMORY[view] = MemoryFailureLog()
        return found


def projection_failures(portfolio: TrackingRecorder, audit: TrackingRecorder,
                        ) -> list[ProjectionFailure]:
    """The failures of the portfolio and audit-log projections (none when both keep up)."""
    found = [failure_log(view).get(name)
             for name, view in (("portfolio", portfolio), ("auditlog", audit))]
    return [failure for failure in found if failure is not None]
