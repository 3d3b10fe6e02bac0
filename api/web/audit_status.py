"""The auditor page's live verification status and the audit bundle (issue 17).

On PostgreSQL the page verifies the store as `cxgov audit verify` does (hashes, links,
aggregate versions, write seals, the signed checkpoints; `auditverify.verifier`), with the
public key of the server's own signing key, in one read-only snapshot. A verdict is kept
while the chain and the checkpoints are as it found them, for at most RECHECK_AFTER_S
seconds (an edit that adds no row, i.e. tampering, is caught by the next check; the page says
when it checked), so most page views cost two indexed reads. The decision replay
(`auditverify.rules`) stays with `cxgov audit verify` and `python -m auditverify`.

The bundle is the one `cxgov audit export` writes and `python -m auditverify` reads (events'
stored bytes, chain, seals, checkpoints), cut at a position: the rows and checkpoints at or
before it, so a bundle of the page as of a past position verifies on its own."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from auditverify.bundle import write_bundle
from auditverify.keys import key_id
from auditverify.live import iter_rows, read_checkpoints, read_disclosures, snapshot
from auditverify.model import Checkpoint, Row
from auditverify.verifier import verify_rows
from governance.bootstrap import Runtime
from governance.settings import parse_database_url
from governance.stores.integrity import SigningKeyRefused, database_url, load_signing_key

SHOWN_PROBLEMS = 5  # findings listed on the page (the CLI lists them all)
RECHECK_AFTER_S = 60.0  # the longest a verdict is reused while nothing was appended
_lock = threading.Lock()


@dataclass(frozen=True)
class NewestCheckpoint:
    """The newest stored checkpoint: its number, the position it signs, when, by which key."""

    seq: int
    position: int
    issued_at: str
    key_id: str


@dataclass(frozen=True)
class Status:
    """What the auditor page says about the store's integrity."""

    on_postgres: bool
    checked_at: str = ""
    ok: bool = False
    key_problem: str | None = None  # the server has no signing key to check with
    verified_through: int = 0  # the last position verified
    rows: int = 0
    first_bad_position: int | None = None
    problems: list[str] = field(default_factory=list)  # errors, first SHOWN_PROBLEMS
    more_problems: int = 0
    valid_checkpoints: int = 0
    newest: NewestCheckpoint | None = None
    anchored_through: int = 0  # the newest position a valid checkpoint signs
    unanchored: int = 0  # rows after it (a warning: the next checkpoint covers them)
    sealed_through: int = 0
    seals_by_mac: int = 0  # write seals checked by their MAC (epoch key disclosed)
    seals_by_signature: int = 0  # and by their signature (the newest epoch's)


def runtime_of(request: Any) -> Runtime | None:
    """The server's runtime (None when the app was built without one)."""
    found = getattr(request.app.state, "runtime", None)
    return found if isinstance(found, Runtime) else None


def _store(runtime: Runtime) -> tuple[str, str]:
    """The libpq URL and schema of the runtime's event store (as `cxgov audit` reads it)."""
    return database_url(runtime.app), str(runtime.app.env.get("POSTGRES_SCHEMA") or "public")


def _key_state(conn: psycopg.Connection[Any], schema: str) -> tuple[int, int]:
    """(the chain's last position, the newest checkpoint's number): what a verdict is of."""
    row = conn.execute(sql.SQL(
        "SELECT (SELECT coalesce(max(position), 0) FROM {}), "
        "(SELECT coalesce(max(seq), 0) FROM {})").format(
        sql.Identifier(schema, "cxgov_chain"),
        sql.Identifier(schema, "cxgov_checkpoints"))).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def status_of(request: Any) -> Status:
    """The verification status of the store behind the page (cached per chain state)."""
    runtime = runtime_of(request)
    if runtime is None or runtime.database_url is None:
        return Status(on_postgres=False)
    try:
        public = load_signing_key(runtime.settings, create=False).public_key()
    except (SigningKeyRefused, ValueError, OSError) as exc:
        return Status(on_postgres=True, key_problem=str(exc))
    url, schema = _store(runtime)
    cache: dict[tuple[int, int], tuple[float, Status]] | None = getattr(
        request.app.state, "audit_status", None)
    if cache is None:
        cache = request.app.state.audit_status = {}
    with _lock, snapshot(url) as conn, conn.transaction():
        state = _key_state(conn, schema)
        kept = cache.get(state)
        if kept is not None and time.monotonic() - kept[0] < RECHECK_AFTER_S:
            return kept[1]
        checkpoints = read_checkpoints(conn, schema=schema)
        positions: list[int] = []

        def rows() -> Iterator[Row]:
            for row in iter_rows(conn, schema=schema):
                positions.append(row.position)
                yield row

        # seals of the epochs this key disclosed are checked by their MACs (decision 287)
        signer = key_id(public)
        disclosures = [d for d in read_disclosures(conn, schema=schema) if d.key_id == signer]
        report = verify_rows(rows(), public_keys=[public], checkpoints=checkpoints,
                             disclosures=disclosures)
    errors = [f"position {f.position}: {f.detail}" if f.position else f.detail
              for f in report.findings if f.severity == "error"]
    found = Status(
        on_postgres=True, checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ok=report.ok, verified_through=report.last_position, rows=report.rows,
        first_bad_position=report.first_bad_position, problems=errors[:SHOWN_PROBLEMS],
        more_problems=max(len(errors) - SHOWN_PROBLEMS, 0) + report.omitted_findings,
        valid_checkpoints=report.valid_checkpoints, newest=_newest(checkpoints),
        anchored_through=report.anchored_through,
        unanchored=sum(1 for p in positions if p > report.anchored_through),
        sealed_through=report.sealed_through, seals_by_mac=report.seals_by_mac,
        seals_by_signature=report.seals_by_signature)
    cache.clear()  # one verdict is kept: the newest
    cache[state] = (time.monotonic(), found)
    return found


def _newest(checkpoints: list[Checkpoint]) -> NewestCheckpoint | None:
    if not checkpoints:
        return None
    c = checkpoints[-1]
    at = datetime.fromtimestamp(c.issued_at_us / 1_000_000, UTC)
    return NewestCheckpoint(seq=c.seq, position=c.position,
                            issued_at=at.isoformat(timespec="seconds"), key_id=c.key_id)


def write_bundle_upto(runtime: Runtime, folder: Path, upto: int) -> tuple[Path, int]:
    """Write the audit bundle of the rows, checkpoints and key disclosures at or before `upto`
    into `folder` (one read-only snapshot); its path and how many rows it holds."""
    url, schema = _store(runtime)
    path = folder / "bundle.jsonl"
    with snapshot(url) as conn, conn.transaction():
        checkpoints = [c for c in read_checkpoints(conn, schema=schema) if c.position <= upto]

        def rows() -> Iterator[Row]:
            for row in iter_rows(conn, schema=schema):
                if row.position > upto:
                    return
                yield row

        disclosures = [d for d in read_disclosures(conn, schema=schema) if d.position <= upto]
        count = write_bundle(path, rows=rows(), checkpoints=checkpoints,
                             source=parse_database_url(url).redacted_url(),
                             disclosures=disclosures)
    return path, count


def bundle_folder() -> tempfile.TemporaryDirectory[str]:
    """A private folder for one bundle (removed once the response is sent)."""
    return tempfile.TemporaryDirectory(prefix="cxgov-bundle-")
