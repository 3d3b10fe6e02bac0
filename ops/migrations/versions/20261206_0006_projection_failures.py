"""Projection failures: the event a projector could not project, where the API can see it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A projector that fails on an event stops that projection there (its rows and tracking stay
consistent), retries with a growing delay, and records the failure in this table in its own
transaction: the projection, the event's position and topic, the error and since when. The API
process reports the rows on /readyz and /metrics. The projector deletes its row once it has
projected past the position (a fixed release, or `cxgov rebuild`, which also deletes it).
Nothing here is part of the event log.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rm_projection_failures."""
    op.execute("CREATE TABLE rm_projection_failures (projection text PRIMARY KEY, "
               "position bigint NOT NULL, topic text NOT NULL, error text NOT NULL, "
               "since timestamptz NOT NULL, attempts integer NOT NULL, "
               "last_attempt timestamptz NOT NULL)")


def downgrade() -> None:
    """Drop rm_projection_failures (a failing projector records its failure again)."""
    op.execute("DROP TABLE rm_projection_failures")
