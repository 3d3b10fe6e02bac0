"""Alembic environment of cxgov: the revisions that own every table."""
