"""Reading the global event log: decoded events in position order, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.application import Application

PAGE = 1000


class LogReader(Protocol):
    """What replay needs from the event store."""

    def max_position(self) -> int:
        """The newest position (0 when empty)."""
        ...

    def read(self, *, after: int, upto: int | None = None) -> Iterator[tuple[int, Any]]:
        """Decoded events with after < position <= upto, in order."""
        ...


class ApplicationLog:
    """A LogReader over an eventsourcing application's recorder and mapper."""

    def __init__(self, app: Application[Any], page: int = PAGE) -> None:
        self.app = app
        self.page = page

    def max_position(self) -> int:
        """The newest position (0 when empty)."""
        return self.app.recorder.max_notification_id() or 0

    def whole(self, position: int) -> int:
        """The newest position at or before `position` that ends a write transaction, when
        the store records transactions (the chained PostgreSQL store); else the position."""
        floor = getattr(self.app.recorder, "transaction_floor", None)
        return position if floor is None else int(floor(position))

    def at_time(self, moment: datetime) -> int | None:
        """The newest position the log itself recorded at or before `moment`, when the store
        records times (the chained PostgreSQL store); else None."""
        found = getattr(self.app.recorder, "position_at_time", None)
        return None if found is None else int(found(moment))

    def read(self, *, after: int, upto: int | None = None) -> Iterator[tuple[int, Any]]:
        """Decoded events with after < position <= upto, in order."""
        start = after
        while True:
            batch = self.app.recorder.select_notifications(
                start=start, limit=self.page, stop=upto, inclusive_of_start=False)
            for notification in batch:
                yield notification.id, self.app.mapper.to_domain_event(notification)
            if len(batch) < self.page:
                return
            start = batch[-1].id

    def read_stored(self, *, after: int) -> Iterator[tuple[int, Any, bytes | None]]:
        """Decoded events after a position, in order, each with its stored JSON (None when
        the store compresses or encrypts it): what a rebuild reads (decision 230)."""
        mapper = self.app.mapper
        plain = mapper.cipher is None and mapper.compressor is None
        start = after
        while True:
            batch = self.app.recorder.select_notifications(
                start=start, limit=self.page, inclusive_of_start=False)
            for notification in batch:
                state = notification.state if plain else None
                yield notification.id, mapper.to_domain_event(notification), state
            if len(batch) < self.page:
                return
            start = batch[-1].id
