"""A rebuild's COPYs are binary (decision 280): texts go as they are, JSON text goes into jsonb
as it is, and what is stored is exactly what the live path's statements store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import Tracking

from governance.stores.readside import postgres_views
from projections.views import AUDIT_TYPES, PostgresAuditLogView, copy_in

pytestmark = pytest.mark.pg

#: Texts the text format of COPY has to escape, and some it does not.
AWKWARD = ["back\\slash", "tab\there", "new\nline", "cr\rhere", "\\N", "quote \" ' `",
           "é, 漢字, 🙂 and \u202eright-to-left", "", " padded "]


def _details(text: str) -> dict[str, object]:
    return {"title": text, "amount": "1.50", "nested": {"list": [text, 1, None, True]}}


def test_copy_in_stores_what_a_statement_with_parameters_stores(pg_url: str) -> None:
    # given the same values written by COPY (JSON as str and as bytes) and by an INSERT
    at = datetime(2026, 12, 7, 12, 30, 15, 123456, tzinfo=UTC)
    with psycopg.connect(pg_url) as conn, conn.cursor() as curs:
        curs.execute("CREATE TEMP TABLE copied (n int8, at timestamptz, id uuid, label text, "
                     "doc jsonb)")
        curs.execute("CREATE TEMP TABLE inserted (LIKE copied)")
        rows = [(n, at, uuid4(), text, json.dumps(_details(text), ensure_ascii=False))
                for n, text in enumerate(AWKWARD)]
        # when
        with copy_in(curs, "copied", ("int8", "timestamptz", "uuid", "text", "jsonb")) as copy:
            for n, when, ident, label, doc in rows:
                copy.write_row((n, when, ident, label, doc if n % 2 else doc.encode()))
        for row in rows:
            curs.execute("INSERT INTO inserted VALUES (%s, %s, %s, %s, %s::jsonb)", row)
        # then: the same values, and the same jsonb text
        read = "SELECT n, at, id, label, doc::text FROM {} ORDER BY n"
        copied = curs.execute(read.format("copied")).fetchall()
        assert copied == curs.execute(read.format("inserted")).fetchall()
        assert [r[3] for r in copied] == AWKWARD
        assert [json.loads(r[4]) for r in copied] == [_details(t) for t in AWKWARD]


def test_audit_rows_replaced_by_a_rebuild_read_as_rows_appended_live(
        pg_env: dict[str, str]) -> None:
    # given plain rows (times and ids as text, as audit_row makes them) with awkward texts
    _, audit = postgres_views(pg_env)
    rows = [{"position": n + 1, "at": datetime(2026, 1, 1, n, tzinfo=UTC).isoformat(),
             "topic": "cxgov.Test.Happened", "aggregate_id": str(uuid4()),
             "aggregate_version": n + 1, "actor": f"issuer|{text}" if n % 3 else None,
             "summary": f"Test.Happened: {text}", "details": _details(text)}
            for n, text in enumerate(AWKWARD)]
    audit.append(Tracking("cxgov", len(rows)), rows)
    live = audit.rows(limit=100)
    # when the rebuild's COPY replaces them
    audit.replace_all("cxgov", rows, len(rows))
    # then
    assert audit.rows(limit=100) == live
    assert [r["summary"] for r in live] == [f"Test.Happened: {t}" for t in AWKWARD]
    assert len(AUDIT_TYPES) == len(PostgresAuditLogView.COLUMNS)  # a type for each column
