"""Tamper evidence on PostgreSQL: the tamper catalogue, clean verifications, racing writers."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.bundle import verify_bundle, write_bundle
from auditverify.encoding import GENESIS, entry_hash, micros
from auditverify.keys import key_id, raw_public_key
from auditverify.live import iter_rows, read_checkpoints, snapshot, verify_connection
from auditverify.model import ChainRow, Checkpoint, Receipt, Report, Row
from auditverify.verifier import verify_rows
from governance.app import Governance
from governance.settings import Settings, eventstore_env
from governance.stores.database import connect, create_database, downgrade, drop_database, migrate
from governance.stores.integrity import (
    HistoryTampered,
    export_bundle,
    issue_checkpoint,
    receipt,
)
from tests.builders import World
from tests.pg.standins import Cxgov, Probe

pytestmark = pytest.mark.pg

EVENTS = 10_000
PER_SAVE = 100
CHECKPOINT_EVERY = 5  # saves, i.e. 500 events
TABLES = ("cxgov_events", "cxgov_chain", "cxgov_checkpoints")


@dataclass
class History:
    """A chained history with checkpoints, and what an auditor kept of it."""

    url: str
    key: Ed25519PrivateKey
    positions: list[int]
    checkpoints: list[Checkpoint]
    receipts: list[Receipt]


def env_for(url: str, **overrides: str) -> dict[str, str]:
    """The production eventsourcing env for a database URL."""
    env = eventstore_env(Settings(store="postgres", env="dev", db_pool_size=2), url)
    return {**env, **overrides}


def burn_positions(url: str, n: int) -> None:
    """Use up sequence values, as rolled-back writes do (legitimate gaps)."""
    with connect(url) as conn:
        for _ in range(n):
            conn.execute("SELECT nextval('cxgov_events_notification_id_seq')")


def write_history(url: str, key: Ed25519PrivateKey, *, saves: int, per_save: int,
                  checkpoint_every: int, gap_every: int = 0) -> History:
    """Saves of `per_save` events over four aggregates, checkpoints but not at the very end."""
    receipts: list[Receipt] = []
    with Cxgov(env=env_for(url)) as app:
        probes = [Probe(f"p{n}") for n in range(4)]
        for n in range(saves):
            probe = probes[n % 4]
            for k in range(per_save - (1 if n < 4 else 0)):  # the first save has Noted
                probe.rename(f"{n}.{k}")
            position = app.save(probe)[-1].notification.id
            kept = receipt(app, position)
            assert kept is not None
            receipts.append(kept)
            if gap_every and n % gap_every == gap_every - 1:
                burn_positions(url, 3)
            if (n + 1) % checkpoint_every == 0 and n + 1 < saves:
                issue_checkpoint(app, key)
    with connect(url) as conn:
        positions = [r[0] for r in conn.execute(
            "SELECT notification_id FROM cxgov_events ORDER BY notification_id")]
        checkpoints = read_checkpoints(conn)
    return History(url, key, positions, checkpoints, receipts)


@pytest.fixture(scope="module")
def history(pg_admin_url: str) -> Iterator[History]:
    """10,000 events in saves of 100, a checkpoint every 500, with a few legitimate gaps."""
    name = f"cxgov_integrity_{secrets.token_hex(4)}"
    url = create_database(pg_admin_url, name)
    try:
        migrate(url)
        yield write_history(url, Ed25519PrivateKey.generate(), saves=EVENTS // PER_SAVE,
                            per_save=PER_SAVE, checkpoint_every=CHECKPOINT_EVERY, gap_every=17)
    finally:
        drop_database(pg_admin_url, name)


def tampered(h: History, tamper: Callable[[psycopg.Connection[Any]], None], *,
             receipts: bool = False) -> Report:
    """Tamper as a superuser with the triggers off, verify what results, then roll back."""
    with connect(h.url, autocommit=False) as conn:
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        tamper(conn)
        report = verify_connection(conn, public_keys=[h.key.public_key()],
                                   receipts=h.receipts if receipts else ())
        conn.rollback()
    return report


def delete_from(conn: psycopg.Connection[Any], position: int) -> None:
    """Delete the event and chain rows at and after a position."""
    conn.execute("DELETE FROM cxgov_chain WHERE position >= %s", (position,))
    conn.execute("DELETE FROM cxgov_events WHERE notification_id >= %s", (position,))


def rechain_from(conn: psycopg.Connection[Any], position: int) -> None:
    """Recompute every chain entry from `position` on, as a forger who edited history would."""
    rows = list(iter_rows(conn))
    start = next(i for i, r in enumerate(rows) if r.position == position)
    prev = rows[start - 1]
    assert prev.chain is not None
    prev_position, prev_hash = prev.position, prev.chain.entry_hash
    updates = []
    for row in rows[start:]:
        assert row.event is not None and row.chain is not None
        digest = entry_hash(
            prev_hash=prev_hash, prev_position=prev_position, position=row.position,
            originator_id=row.event.originator_id,
            originator_version=row.event.originator_version, topic=row.event.topic,
            state=row.event.state, recorded_at_us=row.chain.recorded_at_us)
        updates.append((row.position, prev_hash, digest))
        prev_position, prev_hash = row.position, digest
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE cxgov_chain SET prev_hash = %s, entry_hash = %s WHERE position = %s",
            [(ph, d, p) for p, ph, d in updates])


def first_position_after(h: History, position: int) -> int:
    """The first stored position after `position`."""
    return next(p for p in h.positions if p > position)


# --- the tamper catalogue (acceptance 1) ------------------------------------------------


def test_the_clean_ten_thousand_event_history_verifies(history: History) -> None:
    report = tampered(history, lambda conn: None, receipts=True)
    assert report.ok, report.errors
    assert report.rows == EVENTS
    assert report.valid_checkpoints == EVENTS // PER_SAVE // CHECKPOINT_EVERY - 1
    assert report.anchored_through == history.checkpoints[-1].position
    assert {f.kind for f in report.findings} == {"gap", "unanchored", "unsealed_history"}


def test_one_flipped_payload_byte_is_found_at_its_position(history: History) -> None:
    p = history.positions[4321]
    report = tampered(history, lambda conn: conn.execute(
        "UPDATE cxgov_events SET state = set_byte(state, 3, get_byte(state, 3) # 1) "
        "WHERE notification_id = %s", (p,)))
    assert (report.ok, report.first_bad_position) == (False, p)
    assert "hash_mismatch" in report.kinds()


def test_an_edited_topic_is_found_at_its_position(history: History) -> None:
    p = history.checkpoints[9].position
    report = tampered(history, lambda conn: conn.execute(
        "UPDATE cxgov_events SET topic = topic || '_' WHERE notification_id = %s", (p,)))
    assert (report.ok, report.first_bad_position) == (False, p)
    assert "hash_mismatch" in report.kinds()


def test_an_edited_version_is_found_at_its_position(history: History) -> None:
    p = history.positions[6001]
    report = tampered(history, lambda conn: conn.execute(
        "UPDATE cxgov_events SET originator_version = originator_version + 1000000 "
        "WHERE notification_id = %s", (p,)))
    assert (report.ok, report.first_bad_position) == (False, p)
    assert {"hash_mismatch", "version_discontinuity"} <= report.kinds()


def test_a_deleted_middle_row_is_found_at_its_position(history: History) -> None:
    p = history.positions[7777]

    def tamper(conn: psycopg.Connection[Any]) -> None:
        conn.execute("DELETE FROM cxgov_chain WHERE position = %s", (p,))
        conn.execute("DELETE FROM cxgov_events WHERE notification_id = %s", (p,))

    report = tampered(history, tamper)
    assert (report.ok, report.first_bad_position) == (False, p)
    assert {"missing_row", "version_discontinuity"} <= report.kinds()


def test_a_deleted_middle_event_is_found_at_its_position(history: History) -> None:
    p = history.positions[7000]
    report = tampered(history, lambda conn: conn.execute(
        "DELETE FROM cxgov_events WHERE notification_id = %s", (p,)))
    assert (report.ok, report.first_bad_position) == (False, p)
    assert "missing_event" in report.kinds()


def test_a_tail_cut_before_the_newest_checkpoint_is_found_where_it_starts(
    history: History,
) -> None:
    newest = history.positions.index(history.checkpoints[-1].position)
    cut = history.positions[newest - 300]
    report = tampered(history, lambda conn: delete_from(conn, cut))
    assert (report.ok, report.first_bad_position) == (False, cut)
    assert "truncated" in report.kinds()


def test_a_tail_cut_after_the_newest_checkpoint_is_unanchored_and_caught_by_a_receipt(
    history: History,
) -> None:
    newest = history.positions.index(history.checkpoints[-1].position)
    cut = history.positions[newest + 201]

    without = tampered(history, lambda conn: delete_from(conn, cut))
    assert without.ok, "no checkpoint covers the cut rows, so only receipts can tell"
    unanchored = [f for f in without.findings if f.kind == "unanchored"]
    assert [f.position for f in unanchored] == [history.positions[newest + 1]]

    with_receipts = tampered(history, lambda conn: delete_from(conn, cut), receipts=True)
    assert (with_receipts.ok, with_receipts.first_bad_position) == (False, cut)
    assert with_receipts.kinds() == {"truncated"}


def test_two_swapped_positions_are_found_at_the_first(history: History) -> None:
    a, b = history.positions[3000], history.positions[3001]

    def tamper(conn: psycopg.Connection[Any]) -> None:
        swap = "UPDATE cxgov_events SET notification_id = %s WHERE notification_id = %s"
        conn.execute(swap, (-1, a))
        conn.execute(swap, (a, b))
        conn.execute(swap, (b, -1))

    report = tampered(history, tamper)
    assert (report.ok, report.first_bad_position) == (False, a)
    assert "hash_mismatch" in report.kinds()


def test_a_forged_row_chained_to_its_predecessor_is_found_at_its_position(
    history: History,
) -> None:
    index = next(i for i in range(1000, EVENTS) if history.positions[i] + 1
                 < history.positions[i + 1])
    before, forged = history.positions[index], history.positions[index] + 1

    def tamper(conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("SELECT entry_hash, recorded_at FROM cxgov_chain WHERE position = %s",
                           (before,)).fetchone()
        assert row is not None
        originator, state = uuid4(), b'{"text":"forged"}'
        digest = entry_hash(prev_hash=row[0], prev_position=before, position=forged,
                            originator_id=str(originator), originator_version=1,
                            topic="forged:Noted", state=state,
                            recorded_at_us=micros(row[1]))
        conn.execute("INSERT INTO cxgov_events (originator_id, originator_version, topic, "
                     "state, notification_id) VALUES (%s, 1, 'forged:Noted', %s, %s)",
                     (originator, state, forged))
        # A superuser forger drops the uniqueness of predecessors to link the row in.
        conn.execute("ALTER TABLE cxgov_chain DROP CONSTRAINT cxgov_chain_prev_hash_key")
        conn.execute("INSERT INTO cxgov_chain VALUES (%s, %s, %s, %s, %s)",
                     (forged, before, row[0], digest, row[1]))

    report = tampered(history, tamper)
    assert (report.ok, report.first_bad_position) == (False, forged)
    assert "unexpected_row" in report.kinds()


def test_a_suffix_rechained_after_an_edit_is_localised_by_the_checkpoints(
    history: History,
) -> None:
    p = history.positions[6123]

    def tamper(conn: psycopg.Connection[Any]) -> None:
        conn.execute("UPDATE cxgov_events SET state = set_byte(state, 3, get_byte(state, 3) # 1) "
                     "WHERE notification_id = %s", (p,))
        rechain_from(conn, p)

    report = tampered(history, tamper)
    last_good = max(c.position for c in history.checkpoints if c.position < p)
    assert (report.ok, report.first_bad_position) == (False, first_position_after(
        history, last_good))
    assert {"rewritten", "anchor_mismatch"} <= report.kinds()
    assert "hash_mismatch" not in report.kinds(), "the forger re-chained consistently"

    narrowed = tampered(history, tamper, receipts=True)
    last_receipt = max(r.position for r in history.receipts if r.position < p)
    assert narrowed.first_bad_position == first_position_after(history, last_receipt)


def test_a_replaced_checkpoint_is_found_at_its_position(history: History) -> None:
    target = history.checkpoints[6]
    report = tampered(history, lambda conn: conn.execute(
        "UPDATE cxgov_checkpoints SET head = %s WHERE seq = %s", (b"\x01" * 32, target.seq)))
    assert (report.ok, report.first_bad_position) == (False, target.position)
    assert "bad_signature" in report.kinds()


def test_a_checkpoint_re_signed_with_another_key_is_found_at_its_position(
    history: History,
) -> None:
    target = history.checkpoints[7]
    forger = Ed25519PrivateKey.generate()
    forged = replace(target, key_id=key_id(forger.public_key()))
    forged = replace(forged, signature=forger.sign(forged.payload()))
    report = tampered(history, lambda conn: conn.execute(
        "UPDATE cxgov_checkpoints SET key_id = %s, signature = %s WHERE seq = %s",
        (forged.key_id, forged.signature, target.seq)))
    assert (report.ok, report.first_bad_position) == (False, target.position)
    assert "unknown_key" in report.kinds()


# --- the lying server (acceptance 3) ----------------------------------------------------


def rewrite(rows: list[Row], at: int) -> list[Row]:
    """Flip a byte of one event and re-chain everything after it consistently."""
    out: list[Row] = []
    prev_position, prev_hash = 0, GENESIS
    for row in rows:
        assert row.event is not None and row.chain is not None
        ev = row.event
        if row.position == at:
            ev = replace(ev, state=ev.state[:3] + bytes([ev.state[3] ^ 1]) + ev.state[4:])
        digest = entry_hash(prev_hash=prev_hash, prev_position=prev_position,
                            position=row.position, originator_id=ev.originator_id,
                            originator_version=ev.originator_version, topic=ev.topic,
                            state=ev.state, recorded_at_us=row.chain.recorded_at_us)
        out.append(Row(row.position, ev, ChainRow(prev_position, prev_hash, digest,
                                                  row.chain.recorded_at_us)))
        prev_position, prev_hash = row.position, digest
    return out


def resign(rows: list[Row], originals: list[Checkpoint], key: Ed25519PrivateKey) -> list[
        Checkpoint]:
    """Checkpoints at the same positions over the rewritten chain, signed with `key`."""
    heads = {r.position: (r.chain.entry_hash if r.chain else b"", n)
             for n, r in enumerate(rows, start=1)}
    public = raw_public_key(key.public_key())
    out: list[Checkpoint] = []
    prev = GENESIS
    for c in originals:
        head, count = heads[c.position]
        new = Checkpoint(seq=c.seq, position=c.position, count=count, head=head,
                         issued_at_us=c.issued_at_us, prev_hash=prev, key_id=key_id(public),
                         signature=b"", public_key=public)
        new = replace(new, signature=key.sign(new.payload()))
        out.append(new)
        prev = new.digest()
    return out


def test_the_verifier_rejects_a_lying_servers_consistently_rechained_bundle(
    history: History, tmp_path: Path,
) -> None:
    with snapshot(history.url) as conn, conn.transaction():
        rows = list(iter_rows(conn))
    liar = Ed25519PrivateKey.generate()
    lie = rewrite(rows, at=history.positions[2500])
    bundle = tmp_path / "lie.jsonl"
    write_bundle(bundle, rows=lie, checkpoints=resign(lie, history.checkpoints, liar),
                 source="lying server")

    assert verify_bundle(bundle, public_keys=[liar.public_key()]).ok, \
        "the lie is self-consistent: only the auditor's key can expose it"
    report = verify_bundle(bundle, public_keys=[history.key.public_key()])
    assert not report.ok
    assert {"unknown_key"} <= report.kinds()
    assert report.valid_checkpoints == 0
    assert "foreign_key_offered" in {f.kind for f in report.findings}

    stripped = tmp_path / "stripped.jsonl"
    write_bundle(stripped, rows=lie, checkpoints=[], source="lying server")
    caught = verify_bundle(stripped, public_keys=[history.key.public_key()],
                           trusted_checkpoints=history.checkpoints)
    assert not caught.ok
    assert {"checkpoint_missing", "anchor_mismatch", "rewritten"} <= caught.kinds()
    assert caught.first_bad_position == history.checkpoints[0].position
    edited = history.positions[2500]
    last_good = max(c.position for c in history.checkpoints if c.position < edited)
    rewritten = [f.position for f in caught.findings if f.kind == "rewritten"]
    assert rewritten[0] == first_position_after(history, last_good)


def test_an_exported_bundle_verifies_and_a_flipped_byte_in_it_is_found(
    history: History, tmp_path: Path,
) -> None:
    bundle = tmp_path / "audit.jsonl"
    assert export_bundle(history.url, bundle) == EVENTS
    assert verify_bundle(bundle, public_keys=[history.key.public_key()],
                         trusted_checkpoints=history.checkpoints,
                         receipts=history.receipts).ok
    lines = bundle.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith('"position":5}'))
    lines[index] = lines[index].replace('"topic":"', '"topic":"x', 1)
    bundle.write_text("\n".join(lines) + "\n")
    report = verify_bundle(bundle, public_keys=[history.key.public_key()])
    assert (report.ok, report.first_bad_position) == (False, 5)


# --- clean histories and concurrent writers (acceptance 2) ------------------------------


def test_a_thousand_verifications_of_clean_histories_find_nothing(
    pg_env: dict[str, str], pg_url: str,
) -> None:
    key = Ed25519PrivateKey.generate()
    writers, saves = 4, 100
    kept: list[Receipt] = []
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Cxgov(env={**pg_env, "POSTGRES_POOL_SIZE": "1"}) as app:
                probe = Probe(f"w{n}")
                for k in range(saves):
                    if k:
                        probe.rename(str(k))
                    position = app.save(probe)[-1].notification.id
                    got = receipt(app, position)
                    assert got is not None
                    kept.append(got)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    live: list[Report] = []
    during = 0
    with Cxgov(env=pg_env) as app:
        while len(live) < 200 or any(t.is_alive() for t in threads):
            running = any(t.is_alive() for t in threads)
            if len(live) % 15 == 0:
                issue_checkpoint(app, key)
            with snapshot(pg_url) as conn, conn.transaction():
                live.append(verify_connection(conn, public_keys=[key.public_key()],
                                              receipts=list(kept)))
            during += running and any(t.is_alive() for t in threads)
    for t in threads:
        t.join()
    assert failures == []
    assert [r.first_bad_position for r in live if not r.ok] == []
    assert during > 0 and live[-1].rows == writers * saves

    with snapshot(pg_url) as conn, conn.transaction():
        rows = list(iter_rows(conn))
        checkpoints = read_checkpoints(conn)
    prefixes: list[Report] = []
    for end in range(1, len(rows) + 1):
        last = rows[end - 1].position
        served = [c for c in checkpoints if c.position <= last]
        receipts = [r for r in kept if r.position <= last]
        for trusted in ((), served):
            prefixes.append(verify_rows(rows[:end], public_keys=[key.public_key()],
                                        checkpoints=served, trusted_checkpoints=trusted,
                                        receipts=receipts))
    assert len(live) + len(prefixes) >= 1000
    assert [r.first_bad_position for r in prefixes if not r.ok] == []
    assert all(f.severity != "error" for r in (*live, *prefixes) for f in r.findings)


def test_twenty_concurrent_writers_never_fork_the_chain(pg_env: dict[str, str],
                                                        pg_url: str) -> None:
    writers, saves = 20, 15
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Cxgov(env={**pg_env, "POSTGRES_POOL_SIZE": "1",
                            "POSTGRES_MAX_OVERFLOW": "0"}) as app:
                probe = Probe(f"w{n}")
                barrier.wait()
                for k in range(saves):
                    for _ in range(1 + k % 3):
                        probe.rename(str(k))
                    app.save(probe)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with connect(pg_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM cxgov_events), count(*), count(DISTINCT prev_hash), "
            "count(DISTINCT prev_position) FROM cxgov_chain").fetchone()
    expected = writers * (1 + sum(1 + k % 3 for k in range(saves)))  # with each Noted
    assert row == (expected, expected, expected, expected)
    with snapshot(pg_url) as conn, conn.transaction():
        assert verify_connection(conn, public_keys=[]).ok


def test_a_second_entry_naming_the_same_predecessor_is_refused(pg_env: dict[str, str],
                                                               pg_url: str) -> None:
    with Cxgov(env=pg_env) as app:
        app.save(Probe("one"))
    with connect(pg_url, autocommit=False) as conn:
        conn.execute("ALTER TABLE cxgov_chain DISABLE TRIGGER ALL")
        conn.execute("ALTER TABLE cxgov_events DISABLE TRIGGER ALL")
        conn.execute("INSERT INTO cxgov_events VALUES (%s, 1, 't', '', 99)", (uuid4(),))
        with pytest.raises(psycopg.errors.UniqueViolation, match="prev_hash"):
            conn.execute("INSERT INTO cxgov_chain SELECT 99, 0, prev_hash, entry_hash, "
                         "recorded_at FROM cxgov_chain WHERE position = 1")
        conn.rollback()


# --- the database's own defences ----------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE cxgov_events SET topic = 'x'",
    "DELETE FROM cxgov_events",
    "UPDATE cxgov_chain SET recorded_at = now()",
    "DELETE FROM cxgov_chain",
    "DELETE FROM cxgov_checkpoints",
])
def test_updates_and_deletes_are_refused_even_for_the_owner(
    pg_env: dict[str, str], pg_url: str, statement: str,
) -> None:
    with Cxgov(env=pg_env) as app:
        app.save(Probe("kept"))
    with connect(pg_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege,
                                                match="append-only"):
        conn.execute(statement)
    with connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM cxgov_chain").fetchone() == (1,)


def test_truncate_is_refused_to_a_non_superuser_owner(pg_url: str) -> None:
    with connect(pg_url, autocommit=False) as conn:
        role = f"cxgov_owner_{secrets.token_hex(3)}"
        conn.execute(f"CREATE ROLE {role} NOLOGIN")
        conn.execute(f"GRANT TRUNCATE ON cxgov_chain TO {role}")
        conn.execute(f"SET ROLE {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE cxgov_chain")
        conn.rollback()


def test_an_event_written_without_its_chain_entry_cannot_commit(pg_env: dict[str, str],
                                                                pg_url: str) -> None:
    with connect(pg_url) as conn, pytest.raises(psycopg.errors.RaiseException,
                                                match="no hash-chain entry"):
        conn.execute("INSERT INTO cxgov_events (originator_id, originator_version, topic, "
                     "state) VALUES (%s, 1, 't', '')", (uuid4(),))


def test_the_app_role_may_only_insert_and_select(pg_url: str) -> None:
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    with connect(pg_url) as conn:
        granted = {
            (table, p) for table in TABLES for p in privileges
            if conn.execute("SELECT has_table_privilege('cxgov_app', %s, %s)",
                            (table, p)).fetchone() == (True,)
        }
        sequence = conn.execute("SELECT has_sequence_privilege('cxgov_app', "
                                "'cxgov_events_notification_id_seq', 'USAGE')").fetchone()
        login = conn.execute("SELECT rolcanlogin, rolsuper FROM pg_roles "
                             "WHERE rolname = 'cxgov_app'").fetchone()
    assert granted == {(t, p) for t in TABLES for p in ("SELECT", "INSERT")}
    assert sequence == (True,)
    assert login == (False, False)


def test_the_app_role_writes_chained_events_but_cannot_update_them(
    pg_env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGOPTIONS", "-c role=cxgov_app")
    key = Ed25519PrivateKey.generate()
    with Cxgov(env=pg_env) as app:
        probe = Probe("as the app role")
        probe.rename("again")
        position = app.save(probe)[-1].notification.id
        checkpoint = issue_checkpoint(app, key)
        with app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            assert conn.execute("SELECT current_user").fetchone()["current_user"] == "cxgov_app"
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("UPDATE cxgov_events SET topic = 'x'")
    monkeypatch.delenv("PGOPTIONS")
    assert (position, checkpoint.position, checkpoint.count) == (2, 2, 2)
    with snapshot(pg_url) as conn, conn.transaction():
        assert verify_connection(conn, public_keys=[key.public_key()]).ok


# --- checkpoints, receipts and migration ----------------------------------------------------


def test_a_checkpoint_is_refused_when_history_no_longer_extends_the_last_one(
    pg_env: dict[str, str], pg_url: str,
) -> None:
    key = Ed25519PrivateKey.generate()
    with Cxgov(env=pg_env) as app:
        probe = Probe("x")
        app.save(probe)
        first = issue_checkpoint(app, key)
        probe.rename("y")
        app.save(probe)
        with connect(pg_url) as conn:
            conn.execute("ALTER TABLE cxgov_events DISABLE TRIGGER ALL")
            conn.execute("UPDATE cxgov_events SET topic = 'x' WHERE notification_id = 2")
            conn.execute("ALTER TABLE cxgov_events ENABLE TRIGGER ALL")
        with pytest.raises(HistoryTampered, match="first bad position 2"):
            issue_checkpoint(app, key)
    assert (first.seq, first.position, first.prev_hash) == (1, 1, GENESIS)


def test_governance_writes_return_receipts_that_the_verifier_accepts(
    pg_env: dict[str, str], pg_url: str,
) -> None:
    gov = Governance(env=pg_env)
    try:
        World(gov)
        position = gov.position()
        kept = receipt(gov, position)
    finally:
        gov.close()
    assert kept is not None
    with snapshot(pg_url) as conn, conn.transaction():
        good = verify_connection(conn, public_keys=[], receipts=[kept])
        bad = verify_connection(conn, public_keys=[], receipts=[
            Receipt(position, bytes(32)), Receipt(position + 5, kept.entry_hash)])
    assert good.ok
    assert not bad.ok and {"anchor_mismatch", "truncated"} <= bad.kinds()


def test_upgrading_a_database_with_events_chains_them_all(pg_admin_url: str) -> None:
    name = f"cxgov_backfill_{secrets.token_hex(4)}"
    url = create_database(pg_admin_url, name)
    try:
        migrate(url, "0002")
        with Cxgov(env=env_for(url, PERSISTENCE_MODULE="eventsourcing.postgres")) as app:
            for n in range(3):
                probe = Probe(str(n))
                probe.rename("renamed")
                app.save(probe)
        burn_positions(url, 2)
        migrate(url)
        with Cxgov(env=env_for(url)) as app:
            app.save(Probe("after"))
        with snapshot(url) as conn, conn.transaction():
            report = verify_connection(conn, public_keys=[])
        downgrade(url, "0002")
        with connect(url) as conn:
            left = conn.execute("SELECT to_regclass('cxgov_chain'), count(*) "
                                "FROM cxgov_events").fetchone()
        migrate(url)
    finally:
        drop_database(pg_admin_url, name)
    assert report.ok and report.rows == 7
    assert [f.position for f in report.findings if f.kind == "gap"] == [7]
    assert left == (None, 7)


def test_the_audit_commands_checkpoint_export_and_verify(
    pg_env: dict[str, str], pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from governance.entrypoints.audit import audit_app
    from governance.settings import get_settings

    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with Cxgov(env=pg_env) as app:
            app.save(Probe("audited"))
        runner = CliRunner()
        kept = tmp_path / "kept.jsonl"
        issued = runner.invoke(audit_app, ["checkpoint", "--keep", str(kept)])
        pem = runner.invoke(audit_app, ["public-key"]).stdout
        (tmp_path / "key.pem").write_text(pem)
        exported = runner.invoke(audit_app, ["export", str(tmp_path / "b.jsonl")])
        live = runner.invoke(audit_app, ["verify", "--public-key", str(tmp_path / "key.pem"),
                                         "--checkpoints", str(kept)])
        offline = runner.invoke(audit_app, ["verify", "--bundle", str(tmp_path / "b.jsonl"),
                                            "--public-key", str(tmp_path / "key.pem")])
        stranger = runner.invoke(audit_app, ["verify", "--bundle", str(tmp_path / "b.jsonl"),
                                             "--public-key", raw_public_key(
                                                 Ed25519PrivateKey.generate().public_key()).hex()])
    finally:
        get_settings.cache_clear()
    assert issued.exit_code == 0, issued.output
    assert (tmp_path / "audit" / "signing.key").stat().st_mode & 0o777 == 0o600
    assert json.loads(kept.read_text())["position"] == 1
    assert exported.exit_code == 0 and "exported 1 positions" in exported.output
    assert (live.exit_code, offline.exit_code, stranger.exit_code) == (0, 0, 1), live.output
    assert "unknown_key" in stranger.output


def test_the_verifier_replays_the_log_and_confirms_every_decisions_rank(
        pg_env: dict[str, str], pg_url: str) -> None:
    from decimal import Decimal

    from auditverify.live import verify_database
    from governance.app import Governance as RealGovernance
    from tests.builders import CX_CHIEF, CX_DEPUTY, RB_OWNER, World

    gov = RealGovernance(env=pg_env)
    world = World(gov)
    ids = [world.submit(f"I{n:02d}", cost_m=str(n + 2), impacts=(("M1", str(100 - 9 * n), "0.7"),))
           for n in range(1, 7)]
    gov.decide(CX_CHIEF, initiative_id=ids[5], outcome="approve")
    gov.revise_initiative(RB_OWNER, initiative_id=ids[2], changes={"cost": Decimal(3_000_000)})
    gov.decide(CX_DEPUTY, initiative_id=ids[0], outcome="reject", rationale="duplicate")
    gov.decide(CX_CHIEF, initiative_id=ids[2], outcome="defer", rationale="next round")
    gov.close()
    report = verify_database(pg_url, public_keys=[])
    assert report.ok, report.findings
    assert report.decisions_checked == 3
