"""A document's canonical text (decision 272): the projector writes the text it compared,
without walking the payload twice, and the in-memory view keeps it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

import pytest
from eventsourcing.persistence import Tracking

from projections.codec import canonical, canonical_plain, plain
from projections.documents import Doc
from projections.views import MemoryPortfolioView


class _Kind(StrEnum):
    PNL = "pnl"


RAW = {
    "cost": Decimal("2.50"), "id": UUID(int=7), "on": date(2026, 12, 7), "kind": _Kind.PNL,
    "tags": ("b", "a"), "set": frozenset({"y", "x"}), 3: None, "ok": True, "n": 4,
    "lines": [{"reach": Decimal("0.4"), "warning": None, "points": [Decimal("1E+1"), 2]}],
}


def test_plain_converts_what_json_cannot_write_and_keeps_the_rest() -> None:
    row = plain(RAW)
    assert row["cost"] == "2.50" and row["id"] == str(UUID(int=7)) and row["on"] == "2026-12-07"
    assert row["tags"] == ["b", "a"] and row["set"] == ["x", "y"] and row["3"] is None
    assert row["lines"] == [{"reach": "0.4", "warning": None, "points": ["1E+1", 2]}]
    assert row["ok"] is True and row["n"] == 4 and row["kind"] == "pnl"


def test_the_text_of_a_plain_row_is_the_canonical_text() -> None:
    row = plain(RAW)
    assert canonical_plain(row) == canonical(RAW) == canonical(row)
    assert json.loads(canonical_plain(row)) == json.loads(json.dumps(row))


@pytest.mark.parametrize("bad", [Decimal("1.0"), frozenset({"a"}), date(2026, 1, 1),
                                 UUID(int=1)])
def test_a_row_that_is_not_plain_is_refused_never_written_otherwise(bad: object) -> None:
    with pytest.raises(TypeError):
        canonical_plain({"value": bad})


def test_the_memory_view_keeps_the_writers_text() -> None:
    view = MemoryPortfolioView()
    doc = Doc("ledger", "FY2027", "FY2027", 0, {"available": "1.50", "period": "FY2027"})
    text = canonical_plain(doc.payload)
    view.write(Tracking("portfolio", 1), [doc], periods=[], fold_snapshot=None,
               texts={("ledger", "FY2027"): text})
    assert view._texts[("ledger", "FY2027")] == (doc, text)
    assert view.documents("ledger") == [doc.payload]
