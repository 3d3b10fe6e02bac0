"""Write seals: the service's signature over each write transaction's chain entries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

cxgov_seals holds one row per write transaction, at the transaction's last position: the head
it extended (prev_position, prev_hash), its last entry hash, how many entries it wrote, the
key id and an Ed25519 signature (auditverify.encoding.seal_payload). The service signs it with
a key the database does not hold (CXGOV_AUDIT_SIGNING_KEY or its key file), in the same
transaction as the events and the chain, so a role that can only INSERT (cxgov_app) can append
well-chained events but not their seal: the verifier reports such entries with their
position (issue 18, part 1).

Append-only like the chain (the same trigger function), SELECT and INSERT for cxgov_app. No
foreign key to the chain: a seal is checked by the verifier against the entry at its position
(and a key would make TRUNCATE of the chain fail on the key before the append-only trigger).
Events already stored are not sealed (no key here): the verifier reports them as one
`unsealed_history` warning, vouched for by the checkpoints only.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROLE = "cxgov_app"

UPGRADE_STATEMENTS = (
    "CREATE TABLE public.cxgov_seals ("
    "position bigint PRIMARY KEY, "
    "prev_position bigint NOT NULL, "
    "prev_hash bytea NOT NULL, "
    "entry_hash bytea NOT NULL, "
    "entries integer NOT NULL CHECK (entries >= 1), "
    "key_id text NOT NULL, "
    "signature bytea NOT NULL, "
    "CONSTRAINT cxgov_seals_prev_before CHECK (prev_position >= 0 AND prev_position < position))",
    "CREATE TRIGGER cxgov_seals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
    "ON public.cxgov_seals FOR EACH STATEMENT EXECUTE FUNCTION public.cxgov_append_only()",
    f"REVOKE ALL ON public.cxgov_seals FROM {ROLE}",
    f"GRANT SELECT, INSERT ON public.cxgov_seals TO {ROLE}",
)


def upgrade() -> None:
    """Create cxgov_seals, append-only, writable by cxgov_app."""
    for statement in UPGRADE_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop cxgov_seals (the chain and the events stay; the history is then unsealed)."""
    op.execute("DROP TABLE public.cxgov_seals")
