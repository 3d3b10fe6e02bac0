"""Projector heartbeats: when each projection's projector last showed it was running.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A projector (`cxgov project`, or the projectors `cxgov serve` and `cxgov demo` run in their
own process) upserts one row per projection every few seconds while its runner is up, busy or
idle: the projection, the server time of the beat and the position it has projected. /readyz
answers 503 `no_projector` when events wait to be projected and no projector has beaten for a
projection within the limit (CXGOV_READY_PROJECTOR_TIMEOUT_SECONDS). Nothing here is part of
the event log; the rows may be deleted at any time.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rm_projector_heartbeats."""
    op.execute("CREATE TABLE rm_projector_heartbeats (projection text PRIMARY KEY, "
               "beat_at timestamptz NOT NULL, position bigint NOT NULL)")


def downgrade() -> None:
    """Drop rm_projector_heartbeats."""
    op.execute("DROP TABLE rm_projector_heartbeats")
