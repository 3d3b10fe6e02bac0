"""Witnesses, their cosignatures, and signed key rotations (issue 18, parts 3 and 4).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

cxgov_witnesses: the witnesses whose cosignatures the service accepts, by name and Ed25519
public key (`cxgov audit witness-add`). cxgov_cosignatures: one C2SP tlog-cosignature per
witness and checkpoint (origin, tree size, root), stored only after the service checked it
against the witness's registered key (POST /v1/audit/cosignatures), served with the checkpoint.
cxgov_key_rotations: a statement "key A hands over to key B", signed by the old key A, so an
auditor holding only A's public key can trust B (auditverify.rotation).

All three are append-only like the chain (the same trigger function): a witness's key is never
replaced in place (register another name), a cosignature never withdrawn. SELECT and INSERT for
cxgov_app. No foreign keys (as for the seals: TRUNCATE would fail on the key first); the
service checks a cosignature's witness before storing it, and the verifier trusts only the
witness keys the auditor gives it, never these rows.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ROLE = "cxgov_app"
TABLES = ("cxgov_witnesses", "cxgov_cosignatures", "cxgov_key_rotations")

UPGRADE_STATEMENTS = (
    "CREATE TABLE public.cxgov_witnesses ("
    "name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._+/-]{1,64}$'), "
    "public_key bytea NOT NULL CHECK (length(public_key) = 32), "
    "registered_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE TABLE public.cxgov_cosignatures ("
    "witness text NOT NULL, "
    "origin text NOT NULL, "
    "size bigint NOT NULL CHECK (size >= 0), "
    "root bytea NOT NULL CHECK (length(root) = 32), "
    "cosigned_at bigint NOT NULL CHECK (cosigned_at >= 0), "
    "signature bytea NOT NULL CHECK (length(signature) = 64), "
    "received_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
    "PRIMARY KEY (size, root, witness))",
    "CREATE TABLE public.cxgov_key_rotations ("
    "new_key_id text PRIMARY KEY, "
    "old_public_key bytea NOT NULL CHECK (length(old_public_key) = 32), "
    "new_public_key bytea NOT NULL CHECK (length(new_public_key) = 32), "
    "rotated_at_us bigint NOT NULL, "
    "signature bytea NOT NULL CHECK (length(signature) = 64))",
    *(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
      f"ON public.{table} FOR EACH STATEMENT EXECUTE FUNCTION public.cxgov_append_only()"
      for table in TABLES),
    *(f"REVOKE ALL ON public.{table} FROM {ROLE}" for table in TABLES),
    *(f"GRANT SELECT, INSERT ON public.{table} TO {ROLE}" for table in TABLES),
)


def upgrade() -> None:
    """Create the witnesses, cosignatures and key rotations tables, append-only."""
    for statement in UPGRADE_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop them (the log, its checkpoints and seals stay)."""
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE public.{table}")
