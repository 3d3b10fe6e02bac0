"""Reading the history straight from a PostgreSQL database (psycopg 3), in one snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql
from psycopg.rows import dict_row

from auditverify.encoding import micros
from auditverify.model import ChainRow, Checkpoint, EventRow, Receipt, Report, Row, SealRow
from auditverify.rules import check_decisions
from auditverify.verifier import verify_rows

DEFAULT_PREFIX = "cxgov"
DEFAULT_SCHEMA = "public"
FETCH_SIZE = 2000


def _table(schema: str, prefix: str, suffix: str) -> sql.Identifier:
    return sql.Identifier(schema, f"{prefix}_{suffix}")


def read_checkpoints(conn: psycopg.Connection[Any], *, prefix: str = DEFAULT_PREFIX,
                     schema: str = DEFAULT_SCHEMA, latest_only: bool = False) -> list[Checkpoint]:
    """Every stored checkpoint in sequence order (or only the latest)."""
    query = sql.SQL(
        "SELECT seq, position, count, head, issued_at, prev_hash, key_id, signature, public_key "
        "FROM {} ORDER BY seq{}").format(
        _table(schema, prefix, "checkpoints"),
        sql.SQL(" DESC LIMIT 1" if latest_only else ""))
    with conn.cursor(row_factory=dict_row) as cur:
        return [
            Checkpoint(
                seq=r["seq"], position=r["position"], count=r["count"], head=bytes(r["head"]),
                issued_at_us=micros(r["issued_at"]), prev_hash=bytes(r["prev_hash"]),
                key_id=r["key_id"], signature=bytes(r["signature"]),
                public_key=bytes(r["public_key"]),
            )
            for r in cur.execute(query)
        ]


def iter_rows(conn: psycopg.Connection[Any], *, prefix: str = DEFAULT_PREFIX,
              schema: str = DEFAULT_SCHEMA, after: int = 0) -> Iterator[Row]:
    """Events joined to chain entries by position, in order (a server-side cursor).

    Must run inside a transaction; positions <= `after` are skipped. Each chain entry that
    ends a write transaction carries its seal (when the database has the seals table).
    """
    seals = has_seals(conn, prefix=prefix, schema=schema)
    query = sql.SQL(
        "SELECT coalesce(e.notification_id, c.position) AS position, "
        "e.originator_id, e.originator_version, e.topic, e.state, "
        "c.prev_position, c.prev_hash, c.entry_hash, c.recorded_at, {seal_columns} "
        "FROM (SELECT * FROM {events} WHERE notification_id > %(after)s) e "
        "FULL OUTER JOIN (SELECT * FROM {chain} WHERE position > %(after)s) c "
        "ON c.position = e.notification_id {seal_join} ORDER BY 1"
    ).format(
        events=_table(schema, prefix, "events"), chain=_table(schema, prefix, "chain"),
        seal_columns=sql.SQL(
            "s.prev_position AS s_prev_position, s.prev_hash AS s_prev_hash, "
            "s.entry_hash AS s_entry_hash, s.entries AS s_entries, s.key_id AS s_key_id, "
            "s.signature AS s_signature" if seals else
            "NULL AS s_prev_position, NULL AS s_prev_hash, NULL AS s_entry_hash, "
            "NULL AS s_entries, NULL AS s_key_id, NULL AS s_signature"),
        seal_join=sql.SQL("LEFT JOIN {} s ON s.position = c.position").format(
            _table(schema, prefix, "seals")) if seals else sql.SQL(""))
    with conn.cursor(name="auditverify_rows", row_factory=dict_row) as cur:
        cur.itersize = FETCH_SIZE
        cur.execute(query, {"after": after})
        for r in cur:
            yield Row(
                position=r["position"],
                event=None if r["originator_version"] is None else EventRow(
                    originator_id=str(r["originator_id"]),
                    originator_version=r["originator_version"],
                    topic=r["topic"],
                    state=bytes(r["state"]),
                ),
                chain=None if r["entry_hash"] is None else ChainRow(
                    prev_position=r["prev_position"],
                    prev_hash=bytes(r["prev_hash"]),
                    entry_hash=bytes(r["entry_hash"]),
                    recorded_at_us=micros(r["recorded_at"]),
                ),
                seal=None if r["s_signature"] is None else SealRow(
                    prev_position=r["s_prev_position"],
                    prev_hash=bytes(r["s_prev_hash"]),
                    entry_hash=bytes(r["s_entry_hash"]),
                    entries=r["s_entries"],
                    key_id=r["s_key_id"],
                    signature=bytes(r["s_signature"]),
                ),
            )


def has_seals(conn: psycopg.Connection[Any], *, prefix: str = DEFAULT_PREFIX,
              schema: str = DEFAULT_SCHEMA) -> bool:
    """Whether the database has the write seals table (migration 0010 and later)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                       (f'"{schema}"."{prefix}_seals"',)).fetchone()
    return bool(row and row[0])


def snapshot(url: str) -> psycopg.Connection[Any]:
    """A connection whose transactions are read-only, repeatable-read snapshots."""
    conn = psycopg.connect(url, autocommit=False)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def verify_database(
    url: str,
    *,
    public_keys: Iterable[Ed25519PublicKey],
    trusted_checkpoints: Sequence[Checkpoint] = (),
    receipts: Sequence[Receipt] = (),
    prefix: str = DEFAULT_PREFIX,
    schema: str = DEFAULT_SCHEMA,
) -> Report:
    """Verify the live history at `url` as of one consistent snapshot."""
    with snapshot(url) as conn, conn.transaction():
        return verify_connection(conn, public_keys=public_keys,
                                 trusted_checkpoints=trusted_checkpoints, receipts=receipts,
                                 prefix=prefix, schema=schema)


def verify_connection(
    conn: psycopg.Connection[Any],
    *,
    public_keys: Iterable[Ed25519PublicKey],
    trusted_checkpoints: Sequence[Checkpoint] = (),
    receipts: Sequence[Receipt] = (),
    prefix: str = DEFAULT_PREFIX,
    schema: str = DEFAULT_SCHEMA,
) -> Report:
    """Verify what an open transaction on `conn` sees."""
    checkpoints = read_checkpoints(conn, prefix=prefix, schema=schema)
    report = verify_rows(
        iter_rows(conn, prefix=prefix, schema=schema),
        public_keys=public_keys,
        checkpoints=checkpoints,
        trusted_checkpoints=trusted_checkpoints,
        receipts=receipts,
    )
    return report.with_decisions(*check_decisions(
        lambda: iter_rows(conn, prefix=prefix, schema=schema)))
