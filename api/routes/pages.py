"""Limit/offset pagination of read-model lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.rows import ReadRow


def page(rows: Sequence[ReadRow], *, limit: int, offset: int, position: int) -> dict[str, Any]:
    """The fields of one page of rows (a `PagePublic`); `next_offset` is null on the last
    page."""
    following = offset + limit
    return {"items": list(rows[offset:following]), "total": len(rows), "limit": limit,
            "offset": offset, "next_offset": following if following < len(rows) else None,
            "position": position}
