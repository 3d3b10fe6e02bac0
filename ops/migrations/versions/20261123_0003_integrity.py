"""Integrity: the hash chain, signed checkpoints, append-only tables and the cxgov_app role.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

- cxgov_chain: one entry per event position (same transaction as the events, written by
  governance.stores.integrity's recorder after the events table lock is held). prev_hash is UNIQUE,
  so no two entries can share a predecessor (the chain cannot fork).
- cxgov_checkpoints: Ed25519-signed (position, count, head) statements, themselves chained.
- A deferred constraint trigger refuses to commit any event without its chain entry.
- A statement trigger refuses UPDATE and DELETE on all three tables, for every role, and
  TRUNCATE for every role but superusers (who could disable the trigger anyway; the test
  harness empties tables that way).
- cxgov_lock_events(): SECURITY DEFINER wrapper for the writers' EXCLUSIVE table lock, since
  PostgreSQL requires UPDATE/DELETE/TRUNCATE privilege for LOCK TABLE in that mode.
- Role cxgov_app (NOLOGIN, created if absent): SELECT and INSERT on the three tables, USAGE on
  the notification sequence, EXECUTE on the lock function; nothing else. Grant it to the
  login role the service uses.
- Events that exist at upgrade time are chained here, in position order (online mode only).

The chain encoding below is a frozen copy of auditverify.encoding.entry_hash (format v1).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROLE = "cxgov_app"
TABLES = ("cxgov_events", "cxgov_chain", "cxgov_checkpoints")
SEQUENCE = "cxgov_events_notification_id_seq"
BACKFILL_BATCH = 2000

UPGRADE_STATEMENTS = (
    "CREATE TABLE public.cxgov_chain ("
    "position bigint PRIMARY KEY REFERENCES public.cxgov_events (notification_id), "
    "prev_position bigint NOT NULL, "
    "prev_hash bytea NOT NULL, "
    "entry_hash bytea NOT NULL, "
    "recorded_at timestamptz NOT NULL, "
    "CONSTRAINT cxgov_chain_prev_hash_key UNIQUE (prev_hash), "
    "CONSTRAINT cxgov_chain_prev_before CHECK (prev_position >= 0 AND prev_position < position), "
    "CONSTRAINT cxgov_chain_hash_sizes "
    "CHECK (octet_length(prev_hash) = 32 AND octet_length(entry_hash) = 32))",
    "CREATE TABLE public.cxgov_checkpoints ("
    "seq bigint PRIMARY KEY CHECK (seq >= 1), "
    "position bigint NOT NULL CHECK (position >= 0), "
    "count bigint NOT NULL CHECK (count >= 0), "
    "head bytea NOT NULL, "
    "issued_at timestamptz NOT NULL, "
    "prev_hash bytea NOT NULL UNIQUE, "
    "checkpoint_hash bytea NOT NULL UNIQUE, "
    "key_id text NOT NULL, "
    "public_key bytea NOT NULL, "
    "signature bytea NOT NULL)",
    "CREATE FUNCTION public.cxgov_lock_events() RETURNS void LANGUAGE plpgsql "
    "SECURITY DEFINER SET search_path = pg_catalog AS $BODY$BEGIN "
    "LOCK TABLE public.cxgov_events IN EXCLUSIVE MODE; END;$BODY$",
    "CREATE FUNCTION public.cxgov_append_only() RETURNS trigger LANGUAGE plpgsql AS $BODY$BEGIN "
    "IF TG_OP = 'TRUNCATE' AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles "
    "WHERE rolname = current_user AND rolsuper) THEN RETURN NULL; END IF; "
    "RAISE EXCEPTION 'cxgov: % on %.% refused: the table is append-only', "
    "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
    "END;$BODY$",
    "CREATE FUNCTION public.cxgov_require_chain() RETURNS trigger LANGUAGE plpgsql AS $BODY$BEGIN "
    "IF NOT EXISTS (SELECT 1 FROM public.cxgov_chain WHERE position = NEW.notification_id) THEN "
    "RAISE EXCEPTION 'cxgov: event % has no hash-chain entry; write events through "
    "governance.stores.integrity (PERSISTENCE_MODULE)', NEW.notification_id; END IF; "
    "RETURN NULL; END;$BODY$",
    "CREATE CONSTRAINT TRIGGER cxgov_events_chained AFTER INSERT ON public.cxgov_events "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.cxgov_require_chain()",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        f"ON public.{table} FOR EACH STATEMENT EXECUTE FUNCTION public.cxgov_append_only()"
        for table in TABLES
    ),
    f"""DO $BODY$BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
    BEGIN
      CREATE ROLE {ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END;$BODY$""",
    *(f"REVOKE ALL ON public.{table} FROM {ROLE}" for table in TABLES),
    *(f"GRANT SELECT, INSERT ON public.{table} TO {ROLE}" for table in TABLES),
    f"GRANT USAGE ON SEQUENCE public.{SEQUENCE} TO {ROLE}",
    "REVOKE ALL ON FUNCTION public.cxgov_lock_events() FROM PUBLIC",
    f"GRANT EXECUTE ON FUNCTION public.cxgov_lock_events() TO {ROLE}",
)

DOWNGRADE_STATEMENTS = (
    *(f"DROP TRIGGER {table}_append_only ON public.{table}" for table in TABLES),
    "DROP TRIGGER cxgov_events_chained ON public.cxgov_events",
    f"REVOKE ALL ON public.cxgov_events FROM {ROLE}",
    f"REVOKE ALL ON SEQUENCE public.{SEQUENCE} FROM {ROLE}",
    "DROP TABLE public.cxgov_checkpoints",
    "DROP TABLE public.cxgov_chain",
    "DROP FUNCTION public.cxgov_require_chain()",
    "DROP FUNCTION public.cxgov_append_only()",
    "DROP FUNCTION public.cxgov_lock_events()",
    # The role is cluster-wide: drop it only if no database still grants it anything and no
    # login role was made a member of it.
    f"""DO $BODY$DECLARE r oid;
BEGIN
  SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}';
  IF r IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend WHERE refobjid = r)
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members WHERE roleid = r) THEN
    DROP ROLE {ROLE};
  END IF;
END;$BODY$""",
)

# --- frozen chain encoding (format v1) --------------------------------------------------

_TAG = b"cxgov-chain-v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _int64(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def _entry_hash(prev_hash: bytes, prev_position: int, position: int, originator_id: str,
                originator_version: int, topic: str, state: bytes, recorded_at: datetime) -> bytes:
    fields = (
        _TAG, prev_hash, _int64(prev_position), _int64(position),
        originator_id.encode("utf-8"), _int64(originator_version), topic.encode("utf-8"),
        state, _int64((recorded_at - _EPOCH) // timedelta(microseconds=1)),
    )
    return hashlib.sha256(b"".join(len(f).to_bytes(8, "big") + f for f in fields)).digest()


def _backfill() -> None:
    """Chain every event already stored, in position order, under the writers' lock."""
    bind = op.get_bind()
    bind.execute(sa.text("LOCK TABLE public.cxgov_events IN EXCLUSIVE MODE"))
    recorded_at = bind.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
    select = sa.text(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM public.cxgov_events WHERE notification_id > :after "
        "ORDER BY notification_id LIMIT :limit")
    insert = sa.text(
        "INSERT INTO public.cxgov_chain "
        "(position, prev_position, prev_hash, entry_hash, recorded_at) "
        "VALUES (:position, :prev_position, :prev_hash, :entry_hash, :recorded_at)")
    prev_position, prev_hash = 0, bytes(32)
    while True:
        rows = bind.execute(select, {"after": prev_position, "limit": BACKFILL_BATCH}).all()
        if not rows:
            return
        entries = []
        for position, originator_id, version, topic, state in rows:
            digest = _entry_hash(prev_hash, prev_position, position, str(originator_id),
                                 version, topic, bytes(state), recorded_at)
            entries.append({"position": position, "prev_position": prev_position,
                            "prev_hash": prev_hash, "entry_hash": digest,
                            "recorded_at": recorded_at})
            prev_position, prev_hash = position, digest
        bind.execute(insert, entries)


def upgrade() -> None:
    """Create the chain and checkpoint tables, chain existing events, lock the tables down."""
    statements = iter(UPGRADE_STATEMENTS)
    for statement in statements:
        op.execute(statement)
        if statement.startswith("CREATE TABLE public.cxgov_checkpoints"):
            break
    if op.get_context().as_sql:
        op.execute("-- offline mode: existing events are NOT chained; run this revision online")
    else:
        _backfill()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    """Drop the chain, the checkpoints, the triggers and the grants (events stay)."""
    for statement in DOWNGRADE_STATEMENTS:
        op.execute(statement)
