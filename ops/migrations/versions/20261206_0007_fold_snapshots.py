"""Fold snapshots: the projector's saved fold states get their own name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

"Checkpoint" meant two things: the read side's saved fold state (resume and as-of replay
start there) and the auditor's signed checkpoint of the event log (cxgov_checkpoints). The
read side's are fold snapshots now, in the code and in the tables: rm_checkpoints and
rm_checkpoint_parts are renamed, their rows kept.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RENAMES = (("rm_checkpoints", "rm_fold_snapshots"),
           ("rm_checkpoint_parts", "rm_fold_snapshot_parts"))


def upgrade() -> None:
    """Rename the two fold snapshot tables."""
    for old, new in RENAMES:
        op.execute(f"ALTER TABLE {old} RENAME TO {new}")


def downgrade() -> None:
    """Give them their old names back."""
    for old, new in RENAMES:
        op.execute(f"ALTER TABLE {new} RENAME TO {old}")
