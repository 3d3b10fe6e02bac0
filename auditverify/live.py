"""Reading the history straight from a PostgreSQL database (psycopg 3), in one snapshot; and
the service's Merkle log over HTTP (`HttpLog`: checkpoints, proofs, cosignatures, key
rotations; urllib from the standard library, every answer size-capped and parsed as hostile)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql
from psycopg.rows import dict_row

from auditverify.encoding import micros
from auditverify.model import (
    ChainRow,
    Checkpoint,
    Disclosure,
    EventRow,
    Receipt,
    Report,
    Row,
    SealRow,
)
from auditverify.replay import DecisionReplay
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


def read_disclosures(conn: psycopg.Connection[Any], *, prefix: str = DEFAULT_PREFIX,
                     schema: str = DEFAULT_SCHEMA) -> list[Disclosure]:
    """Every stored write-epoch key disclosure in epoch order (decision 287); none on a
    database without the table (before migration 0012)."""
    if not _has_column(conn, schema, f"{prefix}_key_disclosures", "epoch"):
        return []
    query = sql.SQL("SELECT epoch, position, count, head, epoch_key, key_id, signature "
                    "FROM {} ORDER BY epoch").format(_table(schema, prefix, "key_disclosures"))
    with conn.cursor(row_factory=dict_row) as cur:
        return [
            Disclosure(epoch=r["epoch"], position=r["position"], count=r["count"],
                       head=bytes(r["head"]), epoch_key=bytes(r["epoch_key"]),
                       key_id=r["key_id"], signature=bytes(r["signature"]))
            for r in cur.execute(query)
        ]


def iter_rows(conn: psycopg.Connection[Any], *, prefix: str = DEFAULT_PREFIX,
              schema: str = DEFAULT_SCHEMA, after: int = 0) -> Iterator[Row]:
    """Events joined to chain entries by position, in order (a server-side cursor).

    Must run inside a transaction; positions <= `after` are skipped. Each chain entry that
    ends a write transaction carries its seal (when the database has the seals table), with
    its write epoch and MAC (when the seals have them: migration 0012; 0 and empty for a seal
    written without).
    """
    seals = has_seals(conn, prefix=prefix, schema=schema)
    macs = seals and _has_column(conn, schema, f"{prefix}_seals", "mac")
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
            "s.signature AS s_signature, " if seals else
            "NULL AS s_prev_position, NULL AS s_prev_hash, NULL AS s_entry_hash, "
            "NULL AS s_entries, NULL AS s_key_id, NULL AS s_signature, ")
        + sql.SQL("s.epoch AS s_epoch, s.mac AS s_mac" if macs else
                  "NULL::bigint AS s_epoch, NULL::bytea AS s_mac"),
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
                    epoch=r["s_epoch"] or 0,
                    mac=b"" if r["s_mac"] is None else bytes(r["s_mac"]),
                ),
            )


def has_seals(conn: psycopg.Connection[Any], *, prefix: str = DEFAULT_PREFIX,
              schema: str = DEFAULT_SCHEMA) -> bool:
    """Whether the database has the write seals table (migration 0010 and later)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                       (f'"{schema}"."{prefix}_seals"',)).fetchone()
    return bool(row and row[0])


def _has_column(conn: psycopg.Connection[Any], schema: str, table: str, column: str) -> bool:
    """Whether `schema.table` exists and has `column`."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                       "to_regclass(%s) AND attname = %s AND NOT attisdropped)",
                       (f'"{schema}"."{table}"', column)).fetchone()
    return bool(row and row[0])


def chain_entries(url: str, *, prefix: str = DEFAULT_PREFIX,
                  schema: str = DEFAULT_SCHEMA) -> list[tuple[int, bytes]]:
    """Every chain entry, (position, entry hash) in position order, of one snapshot."""
    with snapshot(url) as conn, conn.transaction():
        rows = conn.execute(sql.SQL("SELECT position, entry_hash FROM {} ORDER BY position")
                            .format(_table(schema, prefix, "chain"))).fetchall()
    return [(int(r[0]), bytes(r[1])) for r in rows]


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
    check_signatures: bool = False,
) -> Report:
    """Verify the live history at `url` as of one consistent snapshot."""
    with snapshot(url) as conn, conn.transaction():
        return verify_connection(conn, public_keys=public_keys,
                                 trusted_checkpoints=trusted_checkpoints, receipts=receipts,
                                 prefix=prefix, schema=schema,
                                 check_signatures=check_signatures)


def verify_connection(
    conn: psycopg.Connection[Any],
    *,
    public_keys: Iterable[Ed25519PublicKey],
    trusted_checkpoints: Sequence[Checkpoint] = (),
    receipts: Sequence[Receipt] = (),
    prefix: str = DEFAULT_PREFIX,
    schema: str = DEFAULT_SCHEMA,
    check_signatures: bool = False,
) -> Report:
    """Verify what an open transaction on `conn` sees (the write seals of an epoch whose
    key the service disclosed by their MACs, the others by their signatures; with
    `check_signatures`, every seal by its signature)."""
    checkpoints = read_checkpoints(conn, prefix=prefix, schema=schema)
    disclosures = read_disclosures(conn, prefix=prefix, schema=schema)
    # the decision replay reads the rows as the chain checks do, in the same read (decision 289)
    replay = DecisionReplay(lambda: iter_rows(conn, prefix=prefix, schema=schema))
    report = verify_rows(
        replay.tap(iter_rows(conn, prefix=prefix, schema=schema)),
        public_keys=public_keys,
        checkpoints=checkpoints,
        trusted_checkpoints=trusted_checkpoints,
        receipts=receipts,
        disclosures=disclosures,
        check_signatures=check_signatures,
    )
    return report.with_decisions(*replay.finish())


# --- the Merkle log over HTTP (issue 18, parts 2-3) ---------------------------------------

#: (method, url, body, headers) -> (status, body): how HttpLog talks to the service.
Fetch = Callable[[str, str, bytes | None, dict[str, str]], tuple[int, bytes]]
#: The largest answer read from the service (a proof is ~2 KB; a checkpoint less).
MAX_ANSWER_BYTES = 1 << 20
HTTP_TIMEOUT_S = 30.0


class LogUnavailable(ValueError):
    """The service did not answer as a cxgov Merkle log (an HTTP error, or not its format)."""


def urllib_fetch(method: str, url: str, body: bytes | None,
                 headers: dict[str, str]) -> tuple[int, bytes]:
    """One HTTP request with urllib (http and https only), the answer capped."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise LogUnavailable(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:
            return int(answer.status), answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(MAX_ANSWER_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise LogUnavailable(f"{url}: {exc}") from None


class HttpLog:
    """A cxgov service's /v1/audit Merkle log routes. Nothing it answers is trusted: every
    checkpoint and proof is checked by the caller against public keys."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None,
                 fetch: Fetch | None = None) -> None:
        self.base = base_url.rstrip("/") + "/v1/audit"
        self.headers = dict(headers or {})
        self.fetch = fetch or urllib_fetch

    def _call(self, method: str, path: str, query: dict[str, int | None] | None = None,
              body: dict[str, Any] | None = None) -> bytes:
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        url = self.base + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        status, answer = self.fetch(method, url, data, headers)
        if len(answer) > MAX_ANSWER_BYTES:
            raise LogUnavailable(f"{url}: the answer is over {MAX_ANSWER_BYTES} bytes")
        if not 200 <= status < 300:
            detail = answer[:500].decode("utf-8", "replace")
            raise LogUnavailable(f"{method} {url}: HTTP {status}: {detail}")
        return answer

    def _json(self, method: str, path: str, query: dict[str, int | None] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self._call(method, path, query, body)
        try:
            data = json.loads(answer)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LogUnavailable(f"{path}: not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise LogUnavailable(f"{path}: not a JSON object")
        return data

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint (with the cosignatures the service stored for it)."""
        try:
            return self._call("GET", "/checkpoint", {"size": size}).decode("utf-8")
        except UnicodeDecodeError:
            raise LogUnavailable("the checkpoint is not UTF-8 text") from None

    def inclusion(self, position: int, size: int | None = None) -> dict[str, Any]:
        """An inclusion proof (the JSON auditverify.proofs.check takes)."""
        return self._json("GET", "/proofs/inclusion", {"position": position, "size": size})

    def consistency(self, old: int, size: int | None = None) -> dict[str, Any]:
        """A consistency proof from the tree of `old` entries."""
        return self._json("GET", "/proofs/consistency", {"old": old, "size": size})

    def post_cosignature(self, note: str) -> dict[str, Any]:
        """Hand the service a cosigned checkpoint (it checks and stores the cosignature)."""
        return self._json("POST", "/cosignatures", body={"note": note})

    def witnessed(self) -> list[dict[str, Any]]:
        """The newest cosigned sizes and the witnesses named (claims: check the notes)."""
        items = self._json("GET", "/cosignatures").get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    def rotations(self) -> list[dict[str, Any]]:
        """The signed key rotation statements the service keeps (as JSON)."""
        items = self._json("GET", "/key-rotations").get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
