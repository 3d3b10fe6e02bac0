"""Deterministic aggregate ids derived from natural keys."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1d0c6e-3c8a-5b7e-9a51-0c9f2f4b7d10")


def natural_id(kind: str, *parts: str) -> UUID:
    """Return the uuid5 of a natural key such as ("pool", "FY2027")."""
    return uuid5(NAMESPACE, "/".join((kind, *parts)))
