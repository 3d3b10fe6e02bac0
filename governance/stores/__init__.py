"""Adapters to the event store and the read side: PostgreSQL or in memory, chosen once in the
composition root (governance/bootstrap.py)."""
