"""Limit/offset pagination of read-model lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.schemas import PagePublic
from projections.codec import plain


def page(rows: Sequence[Mapping[str, Any]], *, limit: int, offset: int,
         position: int) -> PagePublic:
    """One page of rows; `next_offset` is null on the last page."""
    items = rows[offset:offset + limit]
    following = offset + limit
    return PagePublic(items=plain(list(items)), total=len(rows), limit=limit, offset=offset,
                      next_offset=following if following < len(rows) else None,
                      position=position)
