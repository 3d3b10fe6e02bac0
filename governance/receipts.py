"""Write receipts: the log position of a write and its entry in the integrity chain."""

from __future__ import annotations

from governance.app import Governance


def receipt(app: Governance, position: int) -> dict[str, object]:
    """The receipt of a write (placeholder until the hash chain fills in `entry_hash`)."""
    return {"position": position, "entry_hash": None}
