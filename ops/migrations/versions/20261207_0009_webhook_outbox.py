"""Webhook outbox: the deliveries of outbound webhooks, and where the hand-off has reached.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

The webhook process (`cxgov deliver`, governance/webhooks.py) reads the event log after its
tracking position and, in ONE transaction, updates the subscriptions it has seen
(wh_subscriptions: their URL, kinds and status as of the tracked position), inserts one
wh_outbox row per (event, matching active subscription) and advances wh_tracking: an event is
handed to the outbox exactly once, whatever crashes. Deliverers claim due rows with SELECT ...
FOR UPDATE SKIP LOCKED and a lease, POST them, and mark a row delivered only after a 2xx;
failures are retried with exponential back-off and jitter and end, after the maximum attempts
or age, in state 'dead' (the dead-letter list, replayed by a subscription event).

None of this is the event log: the subscriptions are events (cxgov.WebhookSubscription.*);
these rows are delivery bookkeeping. Dropping them and the tracking row re-delivers the whole
log to every subscription (same delivery ids: they are derived from subscription and position).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create wh_tracking, wh_subscriptions and wh_outbox."""
    op.execute("CREATE TABLE wh_tracking (name text PRIMARY KEY, position bigint NOT NULL)")
    op.execute("CREATE TABLE wh_subscriptions (subscription_id uuid PRIMARY KEY, "
               "url text NOT NULL, kinds text[] NOT NULL, status text NOT NULL, "
               "position bigint NOT NULL)")
    op.execute("CREATE TABLE wh_outbox ("
               "delivery_id uuid PRIMARY KEY, "
               "subscription_id uuid NOT NULL, "
               "position bigint NOT NULL, "
               "topic text NOT NULL, "
               "body text NOT NULL, "
               "state text NOT NULL DEFAULT 'pending' "
               "CHECK (state IN ('pending', 'delivered', 'dead', 'cancelled')), "
               "attempts integer NOT NULL DEFAULT 0, "
               "created_at timestamptz NOT NULL DEFAULT now(), "
               "next_attempt_at timestamptz NOT NULL DEFAULT now(), "
               "last_attempt_at timestamptz, "
               "last_status integer, "
               "last_error text, "
               "delivered_at timestamptz, "
               "dead_at timestamptz, "
               "UNIQUE (subscription_id, position))")
    op.execute("CREATE INDEX wh_outbox_due ON wh_outbox (next_attempt_at) "
               "WHERE state = 'pending'")
    op.execute("CREATE INDEX wh_outbox_dead ON wh_outbox (subscription_id, dead_at) "
               "WHERE state = 'dead'")


def downgrade() -> None:
    """Drop the webhook tables (deliveries not yet made are lost; the log keeps the events)."""
    op.execute("DROP TABLE wh_outbox")
    op.execute("DROP TABLE wh_subscriptions")
    op.execute("DROP TABLE wh_tracking")
