"""One round trip for everything a command reads: a per-process cache of aggregates, brought
up to date by one query over many streams.

A command used to load each aggregate it reads (the pool, the P&L, the scenario, each metric,
the policy, its idempotency key) with one `select_events` each, replaying whole streams; the
pool's stream grows with every submission. Here every aggregate read is kept, as of its
version, in a bounded per-process cache, and `fetch(ids)` asks PostgreSQL once for the events
after each cached version (a join on `unnest(ids, versions)`, which the primary key serves).

Objects in the cache are shared and never mutated: a stream with new events is copied before
they are applied, and commands deep-copy whatever they will change (`Repository.get` does the
same with the library's own cache). Freshness is what it was without the cache: every fetch
reads the newest committed events, and the save's optimistic concurrency check still guards
every aggregate a command writes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore

A = TypeVar("A", bound=Aggregate)

CACHE_SIZE = 20_000  # aggregates per process (initiatives of a large period, registry, pools)


class AggregateCache:
    """The aggregate cache of one application on PostgreSQL (one per process), and the
    batched fetch behind it. (The in-memory store needs neither: governance/stores/memory.py.)
    """

    def __init__(self, app: Application[UUID], datastore: PostgresDatastore, table: str,
                 size: int = CACHE_SIZE) -> None:
        self._app = app
        self._datastore = datastore
        self._table = table
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[UUID, Aggregate] = OrderedDict()

    def fetch(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """The newest state of every existing aggregate among `ids` (shared, read-only)."""
        return self.fetch_at(ids)[0]

    def fetch_at(self, ids: Iterable[UUID]) -> tuple[dict[UUID, Aggregate], int]:
        """`fetch`, and the log position of the snapshot it read: every returned state is as
        of that position (one statement; commit order is position order, since inserts hold
        the events table lock until they commit)."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            known = {i: self._cache[i] for i in wanted if i in self._cache}
        versions = [known[i].version if i in known else 0 for i in wanted]
        # One statement on an autocommit connection: one round trip, one snapshot (a
        # transaction block would add BEGIN and ROLLBACK round trips).
        with self._datastore.get_connection() as conn:
            rows = conn.execute(
                f"WITH head AS (SELECT max(notification_id) AS position FROM {self._table}) "
                "SELECT head.position, e.originator_id, e.originator_version, e.topic, e.state "
                "FROM head LEFT JOIN ("
                f"{self._table} e JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, v) "
                "ON e.originator_id = k.id AND e.originator_version > k.v) ON true "
                "ORDER BY e.originator_id, e.originator_version",
                (_array(wanted), _array(versions))).fetchall()
        fresh: dict[UUID, Any] = {}
        mapper = self._app.mapper
        for row in rows:
            key = row["originator_id"]
            if key is None:
                continue  # the head row when nothing is new
            if key not in fresh:
                fresh[key] = self.private(known[key]) if key in known else None
            event: Any = mapper.to_domain_event(StoredEvent(
                originator_id=key, originator_version=row["originator_version"],
                topic=row["topic"], state=bytes(row["state"])))
            fresh[key] = event.mutate(fresh[key])
        self.keep(a for a in fresh.values() if a is not None)
        found = {**known, **{k: a for k, a in fresh.items() if a is not None}}
        return {i: found[i] for i in wanted if i in found}, int(rows[0]["position"] or 0)

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        """What the cache holds for an aggregate, however old (a hint, never for a rule)."""
        with self._lock:
            return self._cache.get(aggregate_id)

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        """Cache these states (newer versions replace older ones; saved aggregates too)."""
        with self._lock:
            for aggregate in aggregates:
                if aggregate.pending_events:
                    continue  # never cache unsaved changes
                cached = self._cache.get(aggregate.id)
                if cached is not None and cached.version >= aggregate.version:
                    self._cache.move_to_end(aggregate.id)
                    continue
                self._cache[aggregate.id] = aggregate
                self._cache.move_to_end(aggregate.id)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)

    def private(self, aggregate: A) -> A:
        """A copy of a shared aggregate for a command to change."""
        copied: A = object.__new__(type(aggregate))
        copied.__dict__.update({k: _copy(v) for k, v in vars(aggregate).items()})
        return copied


def _array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of uuids or integers: one text parameter that the server
    parses, instead of one Python-side dump per element (200 ids: ~10x cheaper)."""
    return "{" + ",".join(map(str, values)) + "}"


_IMMUTABLE = (str, int, float, bool, bytes, Decimal, UUID, datetime, date, type(None))
#: The exact types of `_IMMUTABLE` (a subclass instance, e.g. an enum member, is copied the
#: slow way, still shared by `_copy` when immutable).
_IMMUTABLE_TYPES = frozenset(_IMMUTABLE)


def _copy(value: Any) -> Any:
    """A deep copy that shares immutable values: strings, numbers, ids, times and frozen
    dataclasses (our value objects) are never copied, which makes copying a pool with
    thousands of initiative ids ~20x cheaper than `copy.deepcopy`."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, list):
        # a pool's thousands of initiative ids: one pass in C when every element is immutable
        if _IMMUTABLE_TYPES.issuperset(map(type, value)):
            return value.copy()
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        if _IMMUTABLE_TYPES.issuperset(map(type, value.values())):
            return value.copy()
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, tuple | frozenset) and all(isinstance(v, _IMMUTABLE) or _frozen(v)
                                                    for v in value):
        return value
    if _frozen(value):
        return value
    return deepcopy(value)


def _frozen(value: Any) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params is not None and params.frozen)

