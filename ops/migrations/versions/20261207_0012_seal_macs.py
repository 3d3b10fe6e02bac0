"""Write-seal MACs under write epochs, and the signed disclosures of the epochs' keys.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Decision 287 (TESLA-style write seals). Checking one Ed25519 signature per write transaction
makes verifying a real log (a seal per one or two events) fifty times slower than checking its
hashes, so each seal also carries a MAC (keyed BLAKE2b, auditverify.encoding.seal_mac) over the
seal's fields (auditverify.encoding.seal_mac_input) under the key of its write epoch, which the
service derives from its signing key (auditverify.encoding.epoch_key) and keeps secret until
the epoch is over:

- cxgov_seals gains `epoch` and `mac`, both NULL (a seal written before this revision: checked
  by its signature) or both set, the epoch numbered from 1. The signature stays: it
  authenticates the seals whose epoch key is not disclosed yet.
- cxgov_key_disclosures: one row per ended epoch, written under the writers' events lock: the
  chain head and count when the epoch ended (position, count, head), the epoch's MAC key, and
  the service's Ed25519 signature over them (auditverify.encoding.disclosure_payload). A writer
  reads its epoch (1 + the newest disclosed) under the same lock, so every seal of epoch e lies
  at or before the position of e's disclosure and every later seal uses a key still secret:
  the verifier checks a seal's MAC with the disclosed key, and refuses a seal of a disclosed
  epoch after its disclosure (made with a key that was public by then).

Append-only like the chain (the same trigger function), SELECT and INSERT for cxgov_app: the
INSERT-only role can add a disclosure row, but not sign one, and a MAC made with a disclosed key
only fits positions the verifier refuses. No foreign keys (as for the seals). An epoch is at
most 2^62: a forged row with the largest bigint would otherwise make every writer's
`max(epoch) + 1` overflow and refuse every write; with the bound, the worst a forged row does
is end disclosures (the seals are then checked by their signatures, and the forged row is a
`bad_disclosure` finding).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ROLE = "cxgov_app"

UPGRADE_STATEMENTS = (
    "ALTER TABLE public.cxgov_seals ADD COLUMN epoch bigint, ADD COLUMN mac bytea, "
    "ADD CONSTRAINT cxgov_seals_epoch_mac "
    "CHECK ((epoch IS NULL) = (mac IS NULL) AND (epoch IS NULL OR epoch >= 1))",
    "CREATE TABLE public.cxgov_key_disclosures ("
    "epoch bigint PRIMARY KEY CHECK (epoch BETWEEN 1 AND 4611686018427387904), "
    "position bigint NOT NULL CHECK (position >= 0), "
    "count bigint NOT NULL CHECK (count >= 0), "
    "head bytea NOT NULL, "
    "epoch_key bytea NOT NULL, "
    "key_id text NOT NULL, "
    "signature bytea NOT NULL, "
    "disclosed_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE TRIGGER cxgov_key_disclosures_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
    "ON public.cxgov_key_disclosures FOR EACH STATEMENT "
    "EXECUTE FUNCTION public.cxgov_append_only()",
    f"REVOKE ALL ON public.cxgov_key_disclosures FROM {ROLE}",
    f"GRANT SELECT, INSERT ON public.cxgov_key_disclosures TO {ROLE}",
)


def upgrade() -> None:
    """Add the seals' epoch and MAC; create cxgov_key_disclosures, append-only."""
    for statement in UPGRADE_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the disclosures and the seals' MACs (the seals' signatures stay and still verify)."""
    op.execute("DROP TABLE public.cxgov_key_disclosures")
    op.execute("ALTER TABLE public.cxgov_seals DROP CONSTRAINT cxgov_seals_epoch_mac, "
               "DROP COLUMN mac, DROP COLUMN epoch")
