"""Event store: the cxgov_events table, its composite type, index and insert function.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

A frozen copy of what eventsourcing 9.5.6's PostgresApplicationRecorder creates for the
application named "cxgov" in schema public (recorder.sql_create_statements, rendered with
the default settings, so POSTGRES_LOCK_TIMEOUT=10 appears in the function body). cxgov runs
the library with CREATE_TABLE=n, so this revision is the only thing that creates them.
tests/pg/test_migrations.py fails if the library's statements ever drift from these.
The function es_insert_events_uuid is only called when POSTGRES_ENABLE_DB_FUNCTIONS=y.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE_STATEMENTS = (
    'CREATE TABLE IF NOT EXISTS "public"."cxgov_events" ('
    'originator_id "uuid" NOT NULL, originator_version bigint NOT NULL, topic text, '
    "state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) "
    "WITH (    autovacuum_enabled = true,    autovacuum_vacuum_threshold = 100000000,    "
    "autovacuum_vacuum_scale_factor = 0.5,    autovacuum_analyze_threshold = 1000,    "
    "autovacuum_analyze_scale_factor = 0.01)",
    'CREATE TYPE "public"."stored_event_uuid" AS ('
    'originator_id "uuid", originator_version bigint, topic text, state bytea)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "cxgov_events_notification_id_idx" '
    'ON "public"."cxgov_events" (notification_id ASC);',
    'CREATE OR REPLACE FUNCTION "public"."es_insert_events_uuid"('
    'events "public"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS '
    "$BODY$BEGIN    SET LOCAL lock_timeout = '10s';    NOTIFY \"cxgov_events\";    "
    'RETURN QUERY    INSERT INTO "public"."cxgov_events" AS t (    '
    "originator_id, originator_version, topic, state)    "
    "SELECT originator_id, originator_version, topic, state    FROM unnest(events)    "
    "RETURNING notification_id;END;$BODY$",
)

DOWNGRADE_STATEMENTS = (
    'DROP FUNCTION "public"."es_insert_events_uuid"("public"."stored_event_uuid"[])',
    'DROP TYPE "public"."stored_event_uuid"',
    'DROP TABLE "public"."cxgov_events"',
)


def upgrade() -> None:
    """Create the event store exactly as the eventsourcing recorder would."""
    for statement in UPGRADE_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the event store (and every event in it)."""
    for statement in DOWNGRADE_STATEMENTS:
        op.execute(statement)
