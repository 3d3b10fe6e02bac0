"""The webhook outbox (migration 0009): PostgreSQL, and an in-memory one for the memory store.

The logic (what to insert, when to retry) is governance/webhooks.py; here are the
transactions. PostgreSQL: the hand-off locks the tracking row (one hand-off at a time) and
writes subscriptions, deliveries and the new position in one transaction; a claim picks one
due row with FOR UPDATE SKIP LOCKED and leases it (moves its next attempt past the lease and
counts the attempt) in the same statement, so two deliverers never hold the same row and a
killed deliverer's row is tried again once the lease runs out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain.webhooks import ACTIVE, DELETED
from governance.webhooks import (
    Batch,
    Claimed,
    Delivery,
    OutboxStats,
    SubscriptionState,
)

TRACKING = "webhooks"
_COLUMNS = ("delivery_id, subscription_id, position, topic, state, attempts, created_at, "
            "next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, dead_at")


def conninfo(env: Mapping[str, str]) -> str:
    """A libpq connection string from the eventsourcing environment (POSTGRES_*)."""
    parts = {"dbname": env.get("POSTGRES_DBNAME", ""), "host": env.get("POSTGRES_HOST", ""),
             "port": env.get("POSTGRES_PORT", ""), "user": env.get("POSTGRES_USER", ""),
             "password": env.get("POSTGRES_PASSWORD", ""),
             "connect_timeout": env.get("POSTGRES_CONNECT_TIMEOUT", "5")}
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


class PostgresOutbox:
    """wh_tracking, wh_subscriptions, wh_outbox; one short connection per thread."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._conninfo = conninfo(env)
        self._local = threading.local()

    def _conn(self) -> psycopg.Connection[dict[str, Any]]:
        conn: psycopg.Connection[dict[str, Any]] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self._conninfo, row_factory=dict_row, autocommit=False)
            self._local.conn = conn
        return conn

    def _run(self, work: Callable[[psycopg.Cursor[dict[str, Any]]], Any]) -> Any:
        conn = self._conn()
        try:
            with conn.transaction(), conn.cursor() as cur:
                return work(cur)
        except psycopg.OperationalError:
            conn.close()
            raise

    def tracked(self) -> int:
        """The log position the hand-off has reached."""
        def work(cur: psycopg.Cursor[dict[str, Any]]) -> int:
            cur.execute("SELECT position FROM wh_tracking WHERE name = %s", (TRACKING,))
            row = cur.fetchone()
            return int(row["position"]) if row else 0
        return int(self._run(work))

    def hand_off(self, build: Callable[[int, dict[UUID, SubscriptionState]], Batch]) -> int:
        """One transaction: lock tracking, read subscriptions, write the batch, advance."""
        def work(cur: psycopg.Cursor[dict[str, Any]]) -> int:
            cur.execute("INSERT INTO wh_tracking (name, position) VALUES (%s, 0) "
                        "ON CONFLICT (name) DO NOTHING", (TRACKING,))
            cur.execute("SELECT position FROM wh_tracking WHERE name = %s FOR UPDATE",
                        (TRACKING,))
            row = cur.fetchone()
            after = int(row["position"]) if row else 0
            cur.execute("SELECT subscription_id, url, kinds, status, position "
                        "FROM wh_subscriptions WHERE status <> %s", (DELETED,))
            subs = {r["subscription_id"]: SubscriptionState(
                r["subscription_id"], r["url"], tuple(r["kinds"]), r["status"], r["position"])
                for r in cur.fetchall()}
            batch = build(after, subs)
            if batch.upto <= after:
                return 0
            for state in batch.changed.values():
                cur.execute(
                    "INSERT INTO wh_subscriptions (subscription_id, url, kinds, status, "
                    "position) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (subscription_id) DO "
                    "UPDATE SET url = EXCLUDED.url, kinds = EXCLUDED.kinds, "
                    "status = EXCLUDED.status, position = EXCLUDED.position",
                    (state.id, state.url, list(state.kinds), state.status, state.position))
            if batch.deliveries:
                cur.executemany(
                    "INSERT INTO wh_outbox (delivery_id, subscription_id, position, topic, "
                    "body) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(d.delivery_id, d.subscription_id, d.position, d.topic, d.body)
                     for d in batch.deliveries])
            for sid, ids, position in batch.replays:
                cur.execute(
                    "UPDATE wh_outbox SET state = 'pending', attempts = 0, dead_at = NULL, "
                    "next_attempt_at = now(), created_at = now() WHERE subscription_id = %s "
                    "AND state = 'dead' AND position < %s "
                    "AND (cardinality(%s::uuid[]) = 0 OR delivery_id = ANY(%s::uuid[]))",
                    (sid, position, list(ids), list(ids)))
            for sid in batch.deleted:
                cur.execute("UPDATE wh_outbox SET state = 'cancelled' "
                            "WHERE subscription_id = %s AND state = 'pending'", (sid,))
            cur.execute("UPDATE wh_tracking SET position = %s WHERE name = %s",
                        (batch.upto, TRACKING))
            return batch.upto - after
        return int(self._run(work))

    def claim(self, lease_seconds: float) -> Claimed | None:
        """One due delivery of an active subscription, leased; None when none is due."""
        def work(cur: psycopg.Cursor[dict[str, Any]]) -> Claimed | None:
            cur.execute(
                "WITH due AS (SELECT o.delivery_id FROM wh_outbox o JOIN wh_subscriptions s "
                "USING (subscription_id) WHERE o.state = 'pending' AND s.status = %s "
                "AND o.next_attempt_at <= now() ORDER BY o.next_attempt_at, o.position "
                "LIMIT 1 FOR UPDATE OF o SKIP LOCKED) "
                "UPDATE wh_outbox o SET attempts = o.attempts + 1, last_attempt_at = now(), "
                "next_attempt_at = now() + make_interval(secs => %s) FROM due, "
                "wh_subscriptions s WHERE o.delivery_id = due.delivery_id "
                "AND s.subscription_id = o.subscription_id "
                "RETURNING o.delivery_id, o.subscription_id, s.url, o.topic, o.body, "
                "o.attempts, o.created_at", (ACTIVE, lease_seconds))
            row = cur.fetchone()
            if row is None:
                return None
            return Claimed(row["delivery_id"], row["subscription_id"], row["url"],
                           row["topic"], row["body"], row["attempts"], row["created_at"])
        found: Claimed | None = self._run(work)
        return found

    def succeeded(self, claimed: Claimed, status: int) -> None:
        """Mark delivered (whoever's lease it is now: it reached the receiver)."""
        self._run(lambda cur: cur.execute(
            "UPDATE wh_outbox SET state = 'delivered', delivered_at = now(), "
            "last_status = %s, last_error = NULL WHERE delivery_id = %s "
            "AND state = 'pending'", (status, claimed.delivery_id)))

    def failed(self, claimed: Claimed, *, status: int | None, error: str,
               retry_in: float | None) -> None:
        """Retry later or dead-letter; only while this claim's attempt is the newest."""
        if retry_in is None:
            sql = ("UPDATE wh_outbox SET state = 'dead', dead_at = now(), last_status = %s, "
                   "last_error = %s WHERE delivery_id = %s AND attempts = %s "
                   "AND state = 'pending'")
            args: tuple[Any, ...] = (status, error, claimed.delivery_id, claimed.attempts)
        else:
            sql = ("UPDATE wh_outbox SET next_attempt_at = now() + make_interval(secs => %s), "
                   "last_status = %s, last_error = %s WHERE delivery_id = %s "
                   "AND attempts = %s AND state = 'pending'")
            args = (retry_in, status, error, claimed.delivery_id, claimed.attempts)
        self._run(lambda cur: cur.execute(sql, args))

    def deliveries(self, *, subscription_id: UUID | None = None, state: str | None = None,
                   limit: int = 100, offset: int = 0) -> list[Delivery]:
        """Deliveries, newest position first."""
        def work(cur: psycopg.Cursor[dict[str, Any]]) -> list[Delivery]:
            cur.execute(
                f"SELECT {_COLUMNS} FROM wh_outbox WHERE (%s::uuid IS NULL OR "
                "subscription_id = %s::uuid) AND (%s::text IS NULL OR state = %s::text) "
                "ORDER BY position DESC, delivery_id LIMIT %s OFFSET %s",
                (subscription_id, subscription_id, state, state, limit, offset))
            return [Delivery(**r) for r in cur.fetchall()]
        found: list[Delivery] = self._run(work)
        return found

    def stats(self) -> OutboxStats:
        """Depth, dead letters, oldest undelivered age (server clock)."""
        def work(cur: psycopg.Cursor[dict[str, Any]]) -> OutboxStats:
            cur.execute(
                "SELECT count(*) FILTER (WHERE state = 'pending') AS pending, "
                "count(*) FILTER (WHERE state = 'dead') AS dead, "
                "coalesce(extract(epoch FROM now() - min(created_at) FILTER "
                "(WHERE state = 'pending')), 0) AS oldest FROM wh_outbox")
            row = cur.fetchone() or {"pending": 0, "dead": 0, "oldest": 0}
            return OutboxStats(int(row["pending"]), int(row["dead"]),
                               max(float(row["oldest"]), 0.0))
        found: OutboxStats = self._run(work)
        return found

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class MemoryOutbox:
    """The same outbox in this process's memory (the in-memory store: tests, CLI)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._position = 0
        self._subs: dict[UUID, SubscriptionState] = {}
        self._rows: dict[UUID, Delivery] = {}
        self._bodies: dict[UUID, str] = {}

    def tracked(self) -> int:
        """The log position the hand-off has reached."""
        return self._position

    def hand_off(self, build: Callable[[int, dict[UUID, SubscriptionState]], Batch]) -> int:
        """Apply one batch atomically (under the lock)."""
        with self._lock:
            after = self._position
            live = {k: v for k, v in self._subs.items() if v.status != DELETED}
            batch = build(after, live)
            if batch.upto <= after:
                return 0
            now = self.clock()
            self._subs.update(batch.changed)
            for d in batch.deliveries:
                if d.delivery_id not in self._rows:
                    self._rows[d.delivery_id] = Delivery(
                        d.delivery_id, d.subscription_id, d.position, d.topic, "pending", 0,
                        now, now, None, None, None, None, None)
                    self._bodies[d.delivery_id] = d.body
            for sid, ids, position in batch.replays:
                for key, row in self._rows.items():
                    if (row.subscription_id == sid and row.state == "dead"
                            and row.position < position and (not ids or key in ids)):
                        self._rows[key] = replace(row, state="pending", attempts=0,
                                                  dead_at=None, next_attempt_at=now,
                                                  created_at=now)
            for sid in batch.deleted:
                for key, row in self._rows.items():
                    if row.subscription_id == sid and row.state == "pending":
                        self._rows[key] = replace(row, state="cancelled")
            self._position = batch.upto
            return batch.upto - after

    def claim(self, lease_seconds: float) -> Claimed | None:
        """One due delivery of an active subscription, leased."""
        with self._lock:
            now = self.clock()
            due = sorted((r for r in self._rows.values()
                          if r.state == "pending" and r.next_attempt_at is not None
                          and r.next_attempt_at <= now
                          and self._subs[r.subscription_id].status == ACTIVE),
                         key=lambda r: (r.next_attempt_at or now, r.position))
            if not due:
                return None
            row = replace(due[0], attempts=due[0].attempts + 1, last_attempt_at=now,
                          next_attempt_at=now + timedelta(seconds=lease_seconds))
            self._rows[row.delivery_id] = row
            return Claimed(row.delivery_id, row.subscription_id,
                           self._subs[row.subscription_id].url, row.topic,
                           self._bodies[row.delivery_id], row.attempts, row.created_at)

    def succeeded(self, claimed: Claimed, status: int) -> None:
        """Mark delivered."""
        with self._lock:
            row = self._rows[claimed.delivery_id]
            if row.state == "pending":
                self._rows[row.delivery_id] = replace(row, state="delivered",
                                                      delivered_at=self.clock(),
                                                      last_status=status, last_error=None)

    def failed(self, claimed: Claimed, *, status: int | None, error: str,
               retry_in: float | None) -> None:
        """Retry later or dead-letter."""
        with self._lock:
            row = self._rows[claimed.delivery_id]
            if row.state != "pending" or row.attempts != claimed.attempts:
                return
            now = self.clock()
            if retry_in is None:
                row = replace(row, state="dead", dead_at=now, last_status=status,
                              last_error=error)
            else:
                row = replace(row, next_attempt_at=now + timedelta(seconds=retry_in),
                              last_status=status, last_error=error)
            self._rows[row.delivery_id] = row

    def deliveries(self, *, subscription_id: UUID | None = None, state: str | None = None,
                   limit: int = 100, offset: int = 0) -> list[Delivery]:
        """Deliveries, newest position first."""
        with self._lock:
            rows = [r for r in self._rows.values()
                    if (subscription_id is None or r.subscription_id == subscription_id)
                    and (state is None or r.state == state)]
        rows.sort(key=lambda r: (-r.position, str(r.delivery_id)))
        return rows[offset:offset + limit]

    def stats(self) -> OutboxStats:
        """Depth, dead letters, oldest undelivered age."""
        with self._lock:
            pending = [r for r in self._rows.values() if r.state == "pending"]
            dead = sum(1 for r in self._rows.values() if r.state == "dead")
        oldest = min((r.created_at for r in pending), default=None)
        age = (self.clock() - oldest).total_seconds() if oldest else 0.0
        return OutboxStats(len(pending), dead, max(age, 0.0))

    def close(self) -> None:
        """Nothing to release."""


def outbox_for(env: Mapping[str, str]) -> PostgresOutbox | MemoryOutbox:
    """The outbox of a runtime's store: PostgreSQL, or a new in-memory one."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.popo":
        return MemoryOutbox()
    return PostgresOutbox(env)
