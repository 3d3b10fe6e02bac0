"""Partitioned projection checkpoints: a core part plus one part per fiscal period.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A checkpoint writes its core (the portfolio state without initiatives, naming the position of
each period's part) and only the periods whose initiatives changed since the previous
checkpoint, so writing one costs what changed and an as-of query loads only the periods it
needs. The whole-state rows of rm_checkpoints (revision 0002) are still read when they are the
newest at or before a position; new checkpoints are only written here.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rm_checkpoint_parts."""
    op.execute("CREATE TABLE rm_checkpoint_parts (part text NOT NULL, position bigint NOT NULL, "
               "state text NOT NULL, PRIMARY KEY (part, position))")


def downgrade() -> None:
    """Drop rm_checkpoint_parts (checkpoints are rebuilt from the event log)."""
    op.execute("DROP TABLE rm_checkpoint_parts")
