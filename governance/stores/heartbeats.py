"""Projector heartbeats (rm_projector_heartbeats, alembic revision 0008).

While a projection's runner is up, `run_projectors` upserts the projection's row every
HEARTBEAT_EVERY seconds, idle or busy, with the server's clock; /readyz reads the age of each
row on the server's clock too, so the API's and the projector's clocks need not agree.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder

#: Seconds between two beats of a running projection.
HEARTBEAT_EVERY = 2.0


def beat(datastore: PostgresDatastore, projection: str, position: int) -> None:
    """Record that the projection's projector is running, at `position`."""
    with datastore.transaction(commit=True) as curs:
        curs.execute(
            "INSERT INTO rm_projector_heartbeats (projection, beat_at, position) "
            "VALUES (%s, now(), %s) ON CONFLICT (projection) DO UPDATE SET "
            "beat_at = EXCLUDED.beat_at, position = EXCLUDED.position",
            (projection, position))


def heartbeat_ages(view: Any) -> dict[str, float] | None:
    """Seconds since each projection's last beat, on the database server's clock; None for a
    view outside PostgreSQL (in-process read models, caught up by the reader itself)."""
    if not isinstance(view, PostgresTrackingRecorder):
        return None
    with view.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT projection, extract(epoch FROM now() - beat_at) AS age "
                     "FROM rm_projector_heartbeats")
        rows = curs.fetchall()
    return {row["projection"]: max(float(row["age"]), 0.0) for row in rows}
