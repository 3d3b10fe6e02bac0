"""Tamper evidence: the chained event recorder, signed checkpoints, receipts and the exporter.

Selected as the eventsourcing persistence module (PERSISTENCE_MODULE="governance.stores.integrity"),
this module's one `Factory` gives the application an `IntegrityRecorder`: the library's
PostgreSQL recorder that, inside the same transaction and after the events table lock is
held, appends one cxgov_chain entry per event, hashed over the bytes as stored
(auditverify.encoding.entry_hash). With a seal key, each write transaction is also sealed:
signed, and MAC'd under its write epoch's key, which `issue_checkpoint` later discloses, signed,
under the same lock (decision 287: `disclose_epoch_key`). The verifier lives in the separate
package auditverify.

Over 400 lines on purpose: the recorder, the checkpoints it signs and the export an auditor
verifies share one SQL vocabulary (the chain's table and columns, the lock function) that
must change in one place; auditverify/ re-derives all of it independently.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from eventsourcing import persistence as es_persistence
from eventsourcing import postgres as es_postgres
from eventsourcing.application import Application
from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.utils import Environment
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from auditverify.bundle import write_bundle
from auditverify.encoding import (
    GENESIS,
    epoch_key,
    micros,
    seal_mac,
    seal_mac_input,
    seal_payload,
)
from auditverify.encoding import entry_hash as chain_hash
from auditverify.keys import key_id, raw_public_key
from auditverify.live import has_seals, iter_rows, read_checkpoints, read_disclosures, snapshot
from auditverify.model import Checkpoint, Disclosure, Finding, Receipt
from auditverify.verifier import Verifier
from governance.settings import ConnParams, Settings, parse_database_url

log = logging.getLogger("cxgov.integrity")

SIGNING_KEY_FILE = Path("audit") / "signing.key"
#: The key name on the service's signed-note checkpoints.
NOTE_KEY_NAME = "cxgov"
_SEED_SIZE = 32

Target = Application[Any] | Mapping[str, str] | str


class HistoryTampered(Exception):
    """The stored history does not extend the last checkpoint: refuse to sign it."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


class SigningKeyRefused(Exception):
    """The signing key is not the one that signed the log's newest checkpoint (or there is no
    key for a log that has checkpoints): refuse to sign rather than start a new key silently."""


class IntegrityUnavailable(RuntimeError):
    """The application does not run on the chained PostgreSQL store."""


class StoreBusy(es_persistence.OperationalError):
    """A write could not finish within its deadline: the events table lock was not granted
    within POSTGRES_LOCK_TIMEOUT, or a statement ran past POSTGRES_STATEMENT_TIMEOUT (the
    server cancelled it and rolled the transaction back). Nothing was written; retry."""


#: Env key of the key that seals each write transaction (PEM, or base64/hex of the seed); no
#: seals when absent. governance.settings.eventstore_env sets it from the audit signing key.
SEAL_KEY_ENV = "CXGOV_AUDIT_SEAL_KEY"
#: Env key (eventsourcing style, seconds; 0 = none) of the write transaction's
#: statement_timeout; governance.settings.eventstore_env sets it from CXGOV_DB_STATEMENT_TIMEOUT.
STATEMENT_TIMEOUT_ENV = "POSTGRES_STATEMENT_TIMEOUT"
#: The library's retry of a write on a lost connection (its @retry on insert_events).
WRITE_ATTEMPTS = 10
WRITE_RETRY_WAIT_S = 0.2
_DEADLINE_ERRORS = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)


class IntegrityRecorder(es_postgres.PostgresApplicationRecorder):
    """The library's application recorder plus a hash chain written in the same transaction.

    Writes never use psycopg's pipeline mode (nor executemany, which pipelines too): with a
    large payload over a Unix socket the pipeline can deadlock with the server, both sides
    blocked writing while the server holds the events table lock (psycopg issue #685; cxgov
    issue 12). A write is one plain transaction of a few round trips whatever its size.
    """

    def __init__(
        self,
        datastore: es_postgres.PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        statement_timeout_s: int = 0,
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise ValueError("POSTGRES_ENABLE_DB_FUNCTIONS would bypass the hash chain")
        prefix = events_table_name.removesuffix("_events")
        schema = Identifier(datastore.schema)
        self.chain_table_name = f"{prefix}_chain"
        chain = SQL("{}.{}").format(schema, Identifier(self.chain_table_name))
        # Same lock as the library's, taken through a SECURITY DEFINER function so that a role
        # with only INSERT and SELECT can write (LOCK ... EXCLUSIVE needs UPDATE privilege).
        self.lock_function = SQL("{}.{}").format(schema, Identifier(f"{prefix}_lock_events"))
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(datastore.lock_timeout),
            SQL("SELECT {}()").format(self.lock_function),
        ]
        self.set_statement_timeout(statement_timeout_s)
        if datastore.originator_id_type not in ("uuid", "text"):  # checked by the library too
            raise ValueError(f"unknown originator id type {datastore.originator_id_type!r}")
        # Every event in one statement, parallel arrays unnested in order: the bigserial
        # notification ids are drawn in that order (RETURNING gives them back in it too; the
        # chain checks that they ascend).
        self._insert_all = SQL(
            "INSERT INTO {}.{} (originator_id, originator_version, topic, state) "
            "SELECT i, v, t, s FROM unnest({}, %s::bigint[], %s::text[], %s::bytea[]) "
            "WITH ORDINALITY AS u(i, v, t, s, n) ORDER BY n "
            "RETURNING notification_id"
        ).format(schema, Identifier(events_table_name),
                 SQL(f"%s::{datastore.originator_id_type}[]"))
        self._select_head = SQL(
            "SELECT clock_timestamp() AS now, h.position, h.entry_hash FROM (SELECT 1) AS one "
            "LEFT JOIN LATERAL (SELECT position, entry_hash FROM {} "
            "ORDER BY position DESC LIMIT 1) AS h ON true"
        ).format(chain)
        # A sealed write reads its write epoch in the same statement, under the events lock
        # (decision 287): a key disclosure takes that lock too, so each epoch's seals all lie
        # at or before its disclosed position and every later seal uses the next epoch's key.
        self._select_head_epoch = SQL(
            "SELECT clock_timestamp() AS now, h.position, h.entry_hash, "
            "(SELECT coalesce(max(epoch), 0) + 1 FROM {}) AS epoch FROM (SELECT 1) AS one "
            "LEFT JOIN LATERAL (SELECT position, entry_hash FROM {} "
            "ORDER BY position DESC LIMIT 1) AS h ON true"
        ).format(SQL("{}.{}").format(schema, Identifier(f"{prefix}_key_disclosures")), chain)
        self._insert_chain = SQL(
            "INSERT INTO {} (position, prev_position, prev_hash, entry_hash, recorded_at) "
            "SELECT p, pp, ph, eh, %s::timestamptz "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bytea[], %s::bytea[]) AS u(p, pp, ph, eh) "
            "RETURNING position"
        ).format(chain)
        self._select_entry = SQL("SELECT entry_hash FROM {} WHERE position = %s").format(chain)
        # The newest position <= p that ends a write transaction: every entry of one
        # transaction has the same recorded_at, so p ends one unless the next entry shares its
        # time; then the end of the previous one is the newest earlier entry of another time
        # (index scans over the one transaction's entries).
        self._select_floor = SQL(
            "SELECT CASE WHEN (SELECT n.recorded_at FROM {c} n WHERE n.position > c.position "
            "ORDER BY n.position LIMIT 1) IS DISTINCT FROM c.recorded_at THEN c.position "
            "ELSE coalesce((SELECT b.position FROM {c} b WHERE b.position < c.position "
            "AND b.recorded_at <> c.recorded_at ORDER BY b.position DESC LIMIT 1), 0) END "
            "FROM {c} c WHERE c.position = %s"
        ).format(c=chain)
        # The chain entries and the transaction's seal in one statement.
        self._insert_sealed = SQL(
            "WITH c AS ({}), s AS (INSERT INTO {} (position, prev_position, prev_hash, "
            "entry_hash, entries, key_id, signature, epoch, mac) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING position) SELECT c.position FROM c"
        ).format(self._insert_chain, SQL("{}.{}").format(schema, Identifier(f"{prefix}_seals")))
        self._select_at_time = SQL(
            "SELECT position FROM {} WHERE recorded_at <= %s ORDER BY position DESC LIMIT 1"
        ).format(chain)
        self.seal_key: Ed25519PrivateKey | None = None
        self._seal_key_id = ""
        # the MAC key of the newest write epoch this recorder sealed in (epochs only grow:
        # one is read under the events lock); never logged nor stored
        self._epoch_keys: dict[int, bytes] = {}
        self._chained = threading.local()  # this thread's last chained (position, hash)

    def set_seal_key(self, key: Ed25519PrivateKey | None) -> None:
        """Seal every write transaction with `key` (None: write unsealed)."""
        self.seal_key = key
        self._seal_key_id = "" if key is None else key_id(key.public_key())
        self._epoch_keys = {}

    def _epoch_key(self, key: Ed25519PrivateKey, epoch: int) -> bytes:
        """Write epoch `epoch`'s MAC key, derived from the seal key's seed once per epoch."""
        found = self._epoch_keys.get(epoch)
        if found is None:
            found = epoch_key(key.private_bytes_raw(), epoch)
            self._epoch_keys = {epoch: found}  # older epochs are over: their keys go
        return found

    def set_statement_timeout(self, seconds: int) -> None:
        """Bound every statement of a write transaction (0: no bound)."""
        if seconds < 0:
            raise ValueError("the statement timeout cannot be negative")
        self.statement_timeout_s = seconds
        # The deadline, the lock and the NOTIFY in one round trip (simple query protocol).
        self._write_prelude = SQL("; ").join([
            SQL("SET LOCAL statement_timeout = '{0}s'").format(seconds),
            *self.lock_table_statements,
            SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
        ])

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Write the events and their chain entries in one transaction, without a pipeline.

        Retries like the library's @retry (10 attempts, 0.2 s apart) when the connection
        fails, but never after a deadline (lock or statement timeout): that raises StoreBusy
        at once. A retry cannot apply a write twice: it re-inserts the same (originator id,
        version) rows, so if a commit whose answer was lost did happen, the retry fails on the
        primary key (IntegrityError: the application re-reads, or replays the idempotency
        key) instead of writing again.
        """
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return self._insert_once(stored_events, **kwargs)
            except (es_persistence.InterfaceError, es_persistence.OperationalError) as exc:
                if isinstance(exc.__cause__, _DEADLINE_ERRORS):
                    raise StoreBusy(
                        f"the event store did not accept the write within its deadline "
                        f"(lock timeout {self.datastore.lock_timeout}s, statement timeout "
                        f"{self.statement_timeout_s}s): {str(exc.__cause__).strip()}"
                    ) from exc.__cause__
                if attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(WRITE_RETRY_WAIT_S)
        raise AssertionError("unreachable")

    def lock_available(self, timeout_ms: int) -> bool:
        """Whether a writer gets the events table lock within timeout_ms: take it in a
        transaction that is rolled back at once (readiness; it queues behind the writer that
        holds the lock, and holds it itself for one round trip)."""
        if timeout_ms < 1:  # 0 would mean "wait forever" to PostgreSQL
            raise ValueError("the lock probe needs a timeout of at least 1 ms")
        probe = SQL("SET LOCAL lock_timeout = '{0}ms'; SET LOCAL statement_timeout = '{1}ms'; "
                    "SELECT {2}()").format(timeout_ms, 2 * timeout_ms, self.lock_function)
        try:
            with (self.datastore.get_connection() as conn,
                  conn.transaction(force_rollback=True)):
                conn.execute(probe)
        except es_persistence.OperationalError as exc:
            if isinstance(exc.__cause__, _DEADLINE_ERRORS):
                return False
            raise
        return True

    def _insert_once(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = None
        with (self.datastore.get_connection() as conn, conn.transaction(),
              conn.cursor() as curs):
            self._insert_events(curs, stored_events, **kwargs)  # the library's hook (a no-op)
            if stored_events:
                curs.execute(self._write_prelude)
                uuids = self.datastore.originator_id_type == "uuid"
                params = (
                    [e.originator_id if uuids else str(e.originator_id) for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [bytes(e.state) for e in stored_events],
                )
                curs.execute(self._insert_all, params, binary=True)
                ids = [row["notification_id"] for row in curs.fetchall()]
                self._append_chain(curs, stored_events, ids)
        return ids

    def _append_chain(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                      ids: Sequence[int]) -> None:
        """Chain the just-inserted rows; the table lock is held, so the head cannot move.

        The ids pair with the events in insertion order, as the library's own recordings
        assume; bytea stores the bytes verbatim, so these are the exact stored bytes (the
        verifier re-reads them from the table, and the tests check that they agree).
        """
        if len(ids) != len(stored_events) or list(ids) != sorted(ids):
            msg = f"cannot pair {len(ids)} notification ids with {len(stored_events)} events"
            raise ProgrammingError(msg)
        seal_key = self.seal_key
        head = curs.execute(
            self._select_head if seal_key is None else self._select_head_epoch).fetchone()
        assert head is not None
        recorded_at: datetime = head["now"]
        recorded_us = micros(recorded_at)
        prev_position = head["position"] or 0
        prev_hash = bytes(head["entry_hash"]) if head["entry_hash"] is not None else GENESIS
        uuids = self.datastore.originator_id_type == "uuid"
        prevs: list[int] = []
        prev_hashes: list[bytes] = []
        hashes: list[bytes] = []
        for position, stored in zip(ids, stored_events, strict=True):
            originator = stored.originator_id
            digest = chain_hash(
                prev_hash=prev_hash,
                prev_position=prev_position,
                position=position,
                originator_id=str(UUID(str(originator)) if uuids else originator),
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=bytes(stored.state),
                recorded_at_us=recorded_us,
            )
            prevs.append(prev_position)
            prev_hashes.append(prev_hash)
            hashes.append(digest)
            prev_position, prev_hash = position, digest
        params: tuple[Any, ...] = (recorded_at, list(ids), prevs, prev_hashes, hashes)
        if seal_key is None:
            written = curs.execute(self._insert_chain, params).fetchall()
        else:
            first_prev, first_hash = prevs[0], prev_hashes[0]
            epoch = int(head["epoch"])
            signature = seal_key.sign(seal_payload(
                prev_position=first_prev, prev_hash=first_hash, position=ids[-1],
                entry_hash=hashes[-1], entries=len(ids), key_id=self._seal_key_id))
            mac = seal_mac(self._epoch_key(seal_key, epoch), seal_mac_input(
                prev_position=first_prev, prev_hash=first_hash, position=ids[-1],
                entry_hash=hashes[-1], entries=len(ids)))
            written = curs.execute(self._insert_sealed, (
                *params, ids[-1], first_prev, first_hash, hashes[-1], len(ids),
                self._seal_key_id, signature, epoch, mac)).fetchall()
        if len(written) != len(ids):
            msg = f"chained {len(written)} of {len(ids)} events"
            raise ProgrammingError(msg)
        self._chained.last = (ids[-1], hashes[-1])

    def take_chained(self) -> tuple[int, bytes] | None:
        """The (position, entry hash) this thread chained last, once; call it right after a
        save that succeeded, so that the entry is committed (a write's receipt, no query)."""
        last: tuple[int, bytes] | None = getattr(self._chained, "last", None)
        self._chained.last = None
        return last

    def position_at_time(self, moment: datetime) -> int:
        """The newest position the log recorded at or before `moment` (the chain's
        recorded_at: the commit-time clock of the writer holding the lock, shared by a whole
        transaction); 0 before the first. A backward scan from the newest entry."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            row = curs.execute(self._select_at_time, (moment,)).fetchone()
        return 0 if row is None else int(row["position"])

    def transaction_floor(self, position: int) -> int:
        """The newest position at or before `position` that ends a write transaction (the
        position itself when it ends one or has no chain entry): as of it, the log holds
        whole transactions only."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            row = curs.execute(self._select_floor, (position,)).fetchone()
        if row is None:
            return position
        return int(next(iter(row.values())) if isinstance(row, dict) else row[0])

    def entry_hash(self, position: int) -> bytes | None:
        """The chain's entry hash at a position (None if there is no entry there)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            row = curs.execute(self._select_entry, (position,)).fetchone()
        return None if row is None else bytes(row["entry_hash"])


class Factory(es_postgres.PostgresFactory):
    """The library's PostgreSQL factory, with the chained application recorder."""

    application_recorder_class = IntegrityRecorder

    def application_recorder(self) -> es_persistence.ApplicationRecorder:
        """The chained recorder, with the write deadline of POSTGRES_STATEMENT_TIMEOUT."""
        recorder = super().application_recorder()
        if isinstance(recorder, IntegrityRecorder):
            value = self.env.get(STATEMENT_TIMEOUT_ENV) or "0"
            try:
                seconds = int(value)
            except ValueError:
                raise OSError(f"{STATEMENT_TIMEOUT_ENV} must be an integer: {value!r}") from None
            recorder.set_statement_timeout(seconds)
            seal = self.env.get(SEAL_KEY_ENV)
            if seal:
                try:
                    recorder.set_seal_key(parse_signing_key(seal))
                except ValueError as exc:
                    raise OSError(f"{SEAL_KEY_ENV}: {exc}") from None
        return recorder


# --- receipts -----------------------------------------------------------------------------


def entry_hash(app: Application[Any], position: int) -> bytes | None:
    """The entry hash at a position, or None (no entry there, or an unchained store)."""
    recorder = app.recorder
    if not isinstance(recorder, IntegrityRecorder):
        return None
    return recorder.entry_hash(position)


def receipt(app: Application[Any], position: int, known: bytes | None = None) -> Receipt | None:
    """The receipt of a write: its position and the chain's entry hash there (None on an
    unchained store). `known` is the hash the save itself chained
    (`CommandResult.entry_hash`), which spares a query. An auditor who keeps receipts can
    prove a later cut of the log's tail (`cxgov audit verify --receipts`)."""
    digest = known if known is not None else entry_hash(app, position)
    return None if digest is None else Receipt(position=position, entry_hash=digest)


# --- where the store is -------------------------------------------------------------------


def database_url(target: Target) -> str:
    """The libpq URL of an application's store, of an eventsourcing env, or the URL itself."""
    if isinstance(target, str):
        parse_database_url(target)
        return target
    env = target.env if isinstance(target, Application) else Environment(env=dict(target))
    module = env.get("PERSISTENCE_MODULE") or ""
    if module not in (__name__, "eventsourcing.postgres"):
        raise IntegrityUnavailable(f"the store {module or 'eventsourcing.popo'} has no hash chain")
    return ConnParams(
        host=env.get("POSTGRES_HOST") or "",
        port=int(env.get("POSTGRES_PORT") or 5432),
        user=env.get("POSTGRES_USER") or "",
        password=env.get("POSTGRES_PASSWORD") or "",
        dbname=env.get("POSTGRES_DBNAME") or "",
    ).to_url()


def _schema(target: Target) -> str:
    if isinstance(target, str):
        return "public"
    env = target.env if isinstance(target, Application) else Environment(env=dict(target))
    return env.get("POSTGRES_SCHEMA") or "public"


# --- signing keys -------------------------------------------------------------------------


def parse_signing_key(text: str) -> Ed25519PrivateKey:
    """A private key from PEM (PKCS#8), or from base64 or hex of the 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key is not an Ed25519 private key")
        return key
    for decode in (bytes.fromhex, lambda t: base64.b64decode(t, validate=True)):
        try:
            seed = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(seed) == _SEED_SIZE:
            return Ed25519PrivateKey.from_private_bytes(seed)
    raise ValueError("not an Ed25519 signing key (expected PEM, or base64/hex of 32 bytes)")


def signing_key_path(settings: Settings) -> Path:
    """Where the signing key file is (CXGOV_AUDIT_SIGNING_KEY_FILE, else in the data folder)."""
    return settings.audit_signing_key_file or settings.data_dir / SIGNING_KEY_FILE


def load_signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """The checkpoint signing key: CXGOV_AUDIT_SIGNING_KEY, else the key file (made if absent
    and `create`; else SigningKeyRefused)."""
    if settings.audit_signing_key is not None:
        return parse_signing_key(settings.audit_signing_key.get_secret_value())
    path = signing_key_path(settings)
    if not path.exists():
        if not create:
            raise SigningKeyRefused(f"no signing key at {path} (nor CXGOV_AUDIT_SIGNING_KEY)")
        _create_key_file(path)
    return parse_signing_key(path.read_text(encoding="ascii"))


def _create_key_file(path: Path) -> None:
    """Write a new key, mode 0600, atomically; a concurrent creator's key wins if first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process made one first
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


# --- checkpoints --------------------------------------------------------------------------


def latest_checkpoint(target: Target) -> Checkpoint | None:
    """The log's newest stored checkpoint, if any."""
    url, schema = database_url(target), _schema(target)
    with snapshot(url) as conn, conn.transaction():
        found = read_checkpoints(conn, schema=schema, latest_only=True)
    return found[-1] if found else None


def issue_checkpoint(target: Target, key: Ed25519PrivateKey, *, attempts: int = 5,
                     new_key: bool = False) -> Checkpoint:
    """Check the rows added since the last checkpoint, then sign and store a new one.

    Refuses (HistoryTampered) if the history no longer extends the last checkpoint, so a
    rewritten history is never laundered by a fresh signature; refuses (SigningKeyRefused) a
    key other than the one that signed the newest checkpoint unless `new_key` (a rotation
    the operator asked for; auditors must then be given the new public key).

    Then discloses the current write epoch's key with the same key (decision 287:
    `disclose_epoch_key`), so that verifiers check the seals written so far by their MACs;
    if the events lock is not granted in time (DISCLOSE_ATTEMPTS times) the checkpoint still
    stands and the disclosure waits for the next one (a warning; those seals are checked by
    their signatures meanwhile).
    """
    url, schema = database_url(target), _schema(target)
    for attempt in range(attempts):
        try:
            checkpoint = _issue_once(url, schema, key, new_key=new_key)
            break
        except psycopg.errors.UniqueViolation:
            if attempt == attempts - 1:
                raise
    else:
        raise AssertionError("unreachable")
    try:
        disclose_epoch_key(target, key, counted=checkpoint)
    except (StoreBusy, psycopg.OperationalError) as exc:
        log.warning("checkpoint %s is stored, but the write epoch's key was not disclosed "
                    "(%s): its seals are checked by their signatures until the next "
                    "checkpoint discloses it", checkpoint.seq, str(exc).strip())
    except DisclosuresUnavailable:  # a database before migration 0012: nothing to disclose
        pass
    return checkpoint


def _issue_once(url: str, schema: str, key: Ed25519PrivateKey, *,
                new_key: bool = False) -> Checkpoint:
    with snapshot(url) as conn:
        with conn.transaction():
            previous = read_checkpoints(conn, schema=schema, latest_only=True)
            last = previous[-1] if previous else None
            signer = key_id(key.public_key())
            if last is not None and last.key_id != signer and not new_key:
                raise SigningKeyRefused(
                    f"checkpoint {last.seq} was signed by key {last.key_id}, not by this "
                    f"key {signer}: restore that key, or rotate to this one on purpose")
            start = (last.position, last.head, last.count) if last else (0, GENESIS, 0)
            if last is not None and last.position > 0:
                _check_anchor(conn, schema, last)
            # rows appended without a write seal once sealing began are refused too; the
            # seals of a write epoch this key disclosed are checked by their MACs (those of
            # an epoch another key disclosed, before a rotation, by their signatures)
            verifier = Verifier(public_keys=[key.public_key()], start=start,
                                sealed=_sealed_before(conn, schema, start[0]),
                                disclosures=[d for d in read_disclosures(conn, schema=schema)
                                             if d.key_id == signer])
            for row in iter_rows(conn, schema=schema, after=start[0]):
                verifier.feed(row)
            now = conn.execute("SELECT clock_timestamp()").fetchone()
            assert now is not None
        report = verifier.finish()  # also the write seals of the rows since the last one
        if not report.ok:
            raise HistoryTampered(
                f"the history does not extend checkpoint {last.seq if last else 0}: "
                f"first bad position {report.first_bad_position}", report.errors)
        position, head, count = verifier.head
        public = raw_public_key(key.public_key())
        unsigned = Checkpoint(
            seq=(last.seq + 1) if last else 1, position=position, count=count, head=head,
            issued_at_us=micros(now[0]), prev_hash=last.digest() if last else GENESIS,
            key_id=key_id(public), signature=b"", public_key=public,
        )
        signed = replace(unsigned, signature=key.sign(unsigned.payload()))
        conn.read_only = False
        with conn.transaction():
            conn.execute(
                SQL("INSERT INTO {} (seq, position, count, head, issued_at, prev_hash, "
                    "checkpoint_hash, key_id, public_key, signature) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)").format(
                    Identifier(schema, "cxgov_checkpoints")),
                (signed.seq, signed.position, signed.count, signed.head, now[0],
                 signed.prev_hash, signed.digest(), signed.key_id, signed.public_key,
                 signed.signature),
            )
    return signed


# --- write epochs (decision 287) -----------------------------------------------------------

#: How often a key disclosure asks for the events lock before it gives up (each waits the
#: writers' lock timeout).
DISCLOSE_ATTEMPTS = 3
#: The lock timeout (seconds) of a disclosure given a bare URL (the default of
#: CXGOV_DB_LOCK_TIMEOUT); an application or env gives its POSTGRES_LOCK_TIMEOUT.
DEFAULT_LOCK_TIMEOUT_S = 10


class DisclosuresUnavailable(IntegrityUnavailable):
    """The database has no cxgov_key_disclosures table (before migration 0012)."""


def disclose_epoch_key(target: Target, key: Ed25519PrivateKey, *,
                       attempts: int = DISCLOSE_ATTEMPTS,
                       counted: Checkpoint | None = None) -> Disclosure:
    """End the current write epoch: sign and store its MAC key with the chain head.

    One write transaction that takes the writers' events lock (their lock and statement
    timeouts), reads the chain head and count and the epoch e = 1 + the newest disclosed,
    and stores the signed disclosure of e's key before it commits. Every writer reads its
    epoch under the same lock, so all of e's seals lie at or before the head disclosed and
    every later seal is made with e + 1's key, still secret: the condition the verifier checks
    (auditverify.verifier, TESLA). The count is `counted`'s (the checkpoint this process just
    signed, whose count it verified) plus the chain entries after it, so no count over the
    whole chain runs under the lock; without it, or with a head before it, the whole chain
    is counted. Never a count read from the checkpoints table, which the INSERT-only role
    can add rows to: a disclosure's signed count must be the service's own.

    StoreBusy if the lock is not granted (or a statement times out) `attempts` times;
    DisclosuresUnavailable on a database before migration 0012.
    """
    url, schema = database_url(target), _schema(target)
    lock_s, statement_s = _write_deadlines(target)
    chain = Identifier(schema, "cxgov_chain")
    disclosures = Identifier(schema, "cxgov_key_disclosures")
    prelude = SQL("SET LOCAL lock_timeout = '{0}s'; SET LOCAL statement_timeout = '{1}s'; "
                  "SELECT {2}()").format(lock_s, statement_s,
                                         Identifier(schema, "cxgov_lock_events"))
    base_position, base_count = (counted.position, counted.count) if counted else (0, 0)
    read = SQL(
        "SELECT h.position, h.entry_hash, "
        "(SELECT coalesce(max(epoch), 0) + 1 FROM {d}) AS epoch, "
        "CASE WHEN coalesce(h.position, 0) >= %(base)s "
        "THEN %(count)s + (SELECT count(*) FROM {c} a WHERE a.position > %(base)s "
        "AND a.position <= coalesce(h.position, 0)) "
        "ELSE (SELECT count(*) FROM {c} a WHERE a.position <= coalesce(h.position, 0)) "
        "END AS count "
        "FROM (SELECT 1) AS one "
        "LEFT JOIN LATERAL (SELECT position, entry_hash FROM {c} "
        "ORDER BY position DESC LIMIT 1) AS h ON true"
    ).format(c=chain, d=disclosures)
    insert = SQL("INSERT INTO {} (epoch, position, count, head, epoch_key, key_id, signature) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)").format(disclosures)
    signer = key_id(key.public_key())
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                             (f'"{schema}"."cxgov_key_disclosures"',)).fetchone()
        if not found or not found[0]:
            raise DisclosuresUnavailable(
                "the database has no cxgov_key_disclosures table: migrate it (revision 0012)")
        for attempt in range(1, attempts + 1):
            try:
                # read committed: the statements after the lock see every writer before it
                with conn.transaction():
                    conn.execute(prelude)
                    row = conn.execute(read, {"base": base_position,
                                              "count": base_count}).fetchone()
                    assert row is not None
                    position, head, epoch, count = row
                    unsigned = Disclosure(
                        epoch=int(epoch), position=int(position or 0), count=int(count),
                        head=GENESIS if head is None else bytes(head),
                        epoch_key=epoch_key(key.private_bytes_raw(), int(epoch)),
                        key_id=signer, signature=b"")
                    signed = replace(unsigned, signature=key.sign(unsigned.payload()))
                    conn.execute(insert, (signed.epoch, signed.position, signed.count,
                                          signed.head, signed.epoch_key, signed.key_id,
                                          signed.signature))
                return signed
            except _DEADLINE_ERRORS as exc:
                if attempt == attempts:
                    raise StoreBusy(
                        f"the write epoch's key was not disclosed: the events lock was not "
                        f"granted in time {attempts} times (lock timeout {lock_s}s): "
                        f"{str(exc).strip()}") from exc
    raise AssertionError("unreachable")


def _write_deadlines(target: Target) -> tuple[int, int]:
    """The writers' lock and statement timeouts (seconds; 0: none) of a target's env."""
    if isinstance(target, str):
        return DEFAULT_LOCK_TIMEOUT_S, 0
    env = target.env if isinstance(target, Application) else Environment(env=dict(target))
    deadlines = []
    for name, default in (("POSTGRES_LOCK_TIMEOUT", 0), (STATEMENT_TIMEOUT_ENV, 0)):
        value = env.get(name) or str(default)
        try:
            deadlines.append(max(int(value), 0))
        except ValueError:
            raise OSError(f"{name} must be an integer: {value!r}") from None
    return deadlines[0], deadlines[1]


def _sealed_before(conn: psycopg.Connection[Any], schema: str, position: int) -> bool:
    """Whether write seals began at or before `position` (so every later entry needs one)."""
    if position <= 0 or not has_seals(conn, schema=schema):
        return False
    row = conn.execute(SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE position <= %s)").format(
        Identifier(schema, "cxgov_seals")), (position,)).fetchone()
    return bool(row and row[0])


def _check_anchor(conn: psycopg.Connection[Any], schema: str, last: Checkpoint) -> None:
    row = conn.execute(
        SQL("SELECT entry_hash FROM {} WHERE position = %s").format(
            Identifier(schema, "cxgov_chain")), (last.position,)).fetchone()
    if row is None or bytes(row[0]) != last.head:
        raise HistoryTampered(
            f"the chain at position {last.position} no longer matches checkpoint {last.seq}",
            [Finding("anchor_mismatch", last.position, f"checkpoint {last.seq} disagrees")])


# --- export -------------------------------------------------------------------------------


def export_bundle(target: Target, path: Path) -> int:
    """Write the audit bundle (events' stored bytes, chain, checkpoints, key disclosures)
    of one snapshot."""
    url, schema = database_url(target), _schema(target)
    with snapshot(url) as conn, conn.transaction():
        checkpoints = read_checkpoints(conn, schema=schema)
        return write_bundle(
            path,
            rows=iter_rows(conn, schema=schema),
            checkpoints=checkpoints,
            disclosures=read_disclosures(conn, schema=schema),
            source=parse_database_url(url).redacted_url(),
        )


# --- the Merkle log (issue 18, part 2) ----------------------------------------------------


def log_origin(target: Target) -> str:
    """The log's identity line for its checkpoints: the cluster's system identifier and the
    database name, so two databases (even restored copies on other clusters) never share it."""
    url = database_url(target)
    with snapshot(url) as conn, conn.transaction():
        row = conn.execute("SELECT (SELECT system_identifier FROM pg_control_system()), "
                           "current_database()").fetchone()
    assert row is not None
    return f"cxgov/{row[0]}/{row[1]}"
