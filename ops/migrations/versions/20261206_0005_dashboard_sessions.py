"""Dashboard sessions and single-use tickets, kept server side.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

The dashboard's cookie holds an opaque random id; the server keeps only its sha256 with the
principal's claims (JSON text: sub, name, roles, pnls, iss), the idle timeout, the time of the
last request and the absolute expiry (governance/stores/sessions.py). Sign-out deletes the row.
Tickets are single-use secrets (a sign-in link printed by `cxgov sign-in-link`, a pending OIDC
authorization), kept as sha256 too and redeemed with DELETE ... RETURNING. Neither table is
part of the event log: losing them signs everyone out, nothing else.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create dashboard_sessions and dashboard_tickets."""
    op.execute("CREATE TABLE dashboard_sessions (id_hash bytea PRIMARY KEY, claims text NOT NULL, "
               "idle_seconds integer NOT NULL, created_at timestamptz NOT NULL, "
               "last_seen timestamptz NOT NULL, expires_at timestamptz NOT NULL)")
    op.execute("CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at)")
    op.execute("CREATE TABLE dashboard_tickets (code_hash bytea PRIMARY KEY, "
               "purpose text NOT NULL, payload text NOT NULL, expires_at timestamptz NOT NULL)")


def downgrade() -> None:
    """Drop the tables (everyone is signed out)."""
    op.execute("DROP TABLE dashboard_tickets")
    op.execute("DROP TABLE dashboard_sessions")
