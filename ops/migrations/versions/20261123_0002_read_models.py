"""Read models: documents, projection checkpoints, the audit log and two tracking tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Projections write their rows and their tracking position in one transaction (exactly once).
The tracking tables follow eventsourcing 9.5.6's single-row layout, with the library's
('__migration__', 1) marker row so that a process started with CREATE_TABLE=y never renames
them (EVENTSOURCING.md, pitfall 6).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TRACKING = ("portfolio_tracking", "auditlog_tracking")

UPGRADE_STATEMENTS = (
    "CREATE TABLE rm_documents ("
    "model text NOT NULL, key text NOT NULL, period text, sort integer NOT NULL DEFAULT 0, "
    "payload jsonb NOT NULL, PRIMARY KEY (model, key))",
    "CREATE INDEX rm_documents_model_period_sort ON rm_documents (model, period, sort)",
    "CREATE TABLE rm_checkpoints (position bigint PRIMARY KEY, state text NOT NULL)",
    "CREATE TABLE rm_audit_log ("
    "position bigint PRIMARY KEY, at timestamptz NOT NULL, topic text NOT NULL, "
    "aggregate_id uuid NOT NULL, aggregate_version bigint NOT NULL, actor text, "
    "summary text NOT NULL, details jsonb NOT NULL)",
    "CREATE INDEX rm_audit_log_at ON rm_audit_log (at, position)",
    "CREATE INDEX rm_audit_log_aggregate ON rm_audit_log (aggregate_id, aggregate_version)",
    *(
        f"CREATE TABLE {name} (application_name text PRIMARY KEY, notification_id bigint)"
        for name in TRACKING
    ),
    *(f"INSERT INTO {name} VALUES ('__migration__', 1)" for name in TRACKING),
)


def upgrade() -> None:
    """Create the read-model tables."""
    for statement in UPGRADE_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the read-model tables (they can be rebuilt from the event log)."""
    for name in (*TRACKING, "rm_audit_log", "rm_checkpoints", "rm_documents"):
        op.execute(f"DROP TABLE {name}")
