"""Write receipts: the log position of a write and its entry in the integrity chain."""

from __future__ import annotations

from governance.app import Governance
from governance.stores.integrity import entry_hash


def receipt(app: Governance, position: int, known: bytes | None = None) -> dict[str, object]:
    """The receipt of a write: position and chain entry hash (hex; null on the memory store).

    `known` is the hash the save itself chained (`Written.entry_hash`), which spares a query.
    An auditor who keeps receipts can prove a later cut of the log's tail
    (`cxgov audit verify --receipts`).
    """
    digest = known if known is not None else entry_hash(app, position)
    return {"position": position, "entry_hash": digest.hex() if digest is not None else None}
