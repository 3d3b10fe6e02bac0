"""Alembic revisions, one dated file each (loaded by alembic, not imported)."""
