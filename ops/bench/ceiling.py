"""The ceilings: what the eventsourcing library itself does on the same PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from projections.log import ApplicationLog


class Tick(Aggregate):
    """A trivial aggregate: one Created event, no fields."""


class Bare(Application[UUID]):
    """A bare application with the same recorder and env as cxgov (in its own database)."""

    name = "cxgov"  # the migrated tables and lock function carry the application's name


def save_rate(app: Application[Any], *, saves: int, per_save: int = 1,
              threads: int = 1) -> float:
    """Events per second of `saves` save() calls of `per_save` new aggregates each."""
    def work(_: int) -> None:
        app.save(*[Tick() for _ in range(per_save)])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(saves)))
    return saves * per_save / (time.perf_counter() - start)


def single_save(app: Application[Any]) -> Callable[[], object]:
    """One single-event save (the unit whose latency is the ceiling)."""
    return lambda: app.save(Tick())


def decode_rate(app: Application[Any]) -> tuple[int, float]:
    """(events, events/s) of reading and decoding the whole log (select_notifications + mapper)."""
    start = time.perf_counter()
    count = sum(1 for _ in ApplicationLog(app).read(after=0))
    return count, count / (time.perf_counter() - start)
