"""TESLA-style write-seal MACs on PostgreSQL (decision 287): each write seal carries a MAC under
its write epoch's key, read under the events lock; a checkpoint discloses the epoch's key,
signed, at the chain head, under the same lock; the verifier checks disclosed epochs' seals by
MAC and refuses a seal made with a key that was already public (the INSERT-only role's only
way to use one)."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.bundle import verify_bundle
from auditverify.encoding import (
    GENESIS,
    entry_hash,
    epoch_key,
    micros,
    seal_mac,
    seal_mac_input,
    seal_payload,
)
from auditverify.keys import key_id
from auditverify.live import iter_rows, read_disclosures, snapshot, verify_database
from auditverify.model import Disclosure
from governance.settings import Settings, eventstore_env
from governance.stores.database import connect, create_database, downgrade, drop_database, migrate
from governance.stores.integrity import (
    SEAL_KEY_ENV,
    disclose_epoch_key,
    export_bundle,
    issue_checkpoint,
)
from tests.pg.standins import Cxgov, Probe

pytestmark = pytest.mark.pg

KEY = Ed25519PrivateKey.generate()
SEED = KEY.private_bytes_raw()
KEY_ID = key_id(KEY.public_key())


def sealing(env: dict[str, str]) -> dict[str, str]:
    """The env with write seals made with KEY."""
    return {**env, SEAL_KEY_ENV: SEED.hex()}


@pytest.fixture
def app(pg_env: dict[str, str]) -> Iterator[Cxgov]:
    """A stand-in application on the emptied test database, sealing its writes with KEY."""
    with Cxgov(env=sealing(pg_env)) as service:
        yield service


def seals(url: str) -> list[dict[str, Any]]:
    """Every stored seal, in position order."""
    with connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT * FROM cxgov_seals ORDER BY position").fetchall()


def disclosures(url: str) -> list[Disclosure]:
    """Every stored key disclosure, in epoch order."""
    with snapshot(url) as conn, conn.transaction():
        return read_disclosures(conn)


def chain_at(url: str, position: int) -> tuple[bytes, int]:
    """The entry hash at `position` and how many chain entries lie at or before it."""
    with connect(url) as conn:
        row = conn.execute("SELECT (SELECT entry_hash FROM cxgov_chain WHERE position = %s), "
                           "(SELECT count(*) FROM cxgov_chain WHERE position <= %s)",
                           (position, position)).fetchone()
    assert row is not None
    return (GENESIS if row[0] is None else bytes(row[0])), int(row[1])


def expected_mac(seal: dict[str, Any], epoch: int) -> bytes:
    """The MAC the service makes for a stored seal in write epoch `epoch`."""
    return seal_mac(epoch_key(SEED, epoch), seal_mac_input(
        prev_position=seal["prev_position"], prev_hash=bytes(seal["prev_hash"]),
        position=seal["position"], entry_hash=bytes(seal["entry_hash"]),
        entries=seal["entries"]))


def assert_genuine(url: str, d: Disclosure) -> None:
    """The disclosure is signed by KEY, carries the epoch's key, and pins the chain."""
    KEY.public_key().verify(d.signature, d.payload())
    assert (d.key_id, d.epoch_key) == (KEY_ID, epoch_key(SEED, d.epoch))
    assert (d.head, d.count) == chain_at(url, d.position)


# --- the writer and the checkpoint ------------------------------------------------------------


def test_a_seal_carries_its_epochs_mac_and_a_checkpoint_discloses_the_epochs_key(
    app: Cxgov, pg_url: str,
) -> None:
    probe = Probe("first")
    probe.rename("second")
    app.save(probe)  # one transaction, two entries
    [first] = seals(pg_url)
    assert (first["position"], first["entries"], first["epoch"]) == (2, 2, 1)
    assert bytes(first["mac"]) == expected_mac(first, 1)
    # and the seal is still signed, over its own payload (seal_payload, with the key id)
    KEY.public_key().verify(bytes(first["signature"]), seal_payload(
        prev_position=0, prev_hash=GENESIS, position=2, entry_hash=bytes(first["entry_hash"]),
        entries=2, key_id=KEY_ID))

    checkpoint = issue_checkpoint(app, KEY)
    [disclosed] = disclosures(pg_url)
    assert (disclosed.epoch, disclosed.position, disclosed.count) == (1, 2, 2)
    assert disclosed.head == checkpoint.head == bytes(first["entry_hash"])
    assert_genuine(pg_url, disclosed)

    probe.rename("third")
    app.save(probe)
    second = seals(pg_url)[-1]
    assert (second["position"], second["epoch"]) == (3, 2)
    assert bytes(second["mac"]) == expected_mac(second, 2)
    assert bytes(second["mac"]) != expected_mac(second, 1)  # a key per epoch

    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert report.ok, report.errors
    assert (report.seals_by_mac, report.seals_by_signature) == (1, 1)  # epoch 2: not yet
    assert report.sealed_through == 3


def test_a_disclosure_of_an_empty_log_is_at_genesis_and_disclosures_count_on(
    app: Cxgov, pg_url: str,
) -> None:
    empty = disclose_epoch_key(app, KEY)
    assert (empty.epoch, empty.position, empty.count, empty.head) == (1, 0, 0, GENESIS)
    for n in range(3):
        app.save(Probe(str(n)))
    issue_checkpoint(app, KEY)  # discloses epoch 2 at the head, counting from the checkpoint
    app.save(Probe("after"))
    later = disclose_epoch_key(pg_url, KEY)  # counts from the checkpoint at 3
    stored = disclosures(pg_url)
    assert [(d.epoch, d.position, d.count) for d in stored] == [(1, 0, 0), (2, 3, 3), (3, 4, 4)]
    assert stored == [empty, *stored[1:2], later]
    for d in stored:
        assert_genuine(pg_url, d)
    assert [s["epoch"] for s in seals(pg_url)] == [2, 2, 2, 3]
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert report.ok and report.seals_by_mac == 4, report.errors


def test_a_checkpoint_stands_when_the_disclosure_cannot_get_the_lock(
    pg_env: dict[str, str], pg_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    env = {**sealing(pg_env), "POSTGRES_LOCK_TIMEOUT": "1"}
    with Cxgov(env=env) as service:
        service.save(Probe("x"))
        with connect(pg_url, autocommit=False) as holder:
            holder.execute("SELECT cxgov_lock_events()")  # a writer that does not finish
            with caplog.at_level(logging.WARNING, logger="cxgov.integrity"):
                checkpoint = issue_checkpoint(env, KEY)
            holder.rollback()
        assert checkpoint.position == 1
        assert disclosures(pg_url) == []
        assert "was not disclosed" in caplog.text
        assert SEED.hex() not in caplog.text and epoch_key(SEED, 1).hex() not in caplog.text
        service.save(Probe("y"))  # still epoch 1: nothing was disclosed
        assert [s["epoch"] for s in seals(pg_url)] == [1, 1]
        assert disclose_epoch_key(env, KEY).position == 2
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert report.ok and report.seals_by_mac == 2, report.errors


def exported(app: Cxgov, pg_url: str, folder: Path) -> Path:
    """Three events, a checkpoint (disclosing epoch 1), one more event, exported as a bundle of
    4 rows: 3 seals in the disclosed epoch, 1 in the next."""
    for n in range(3):
        app.save(Probe(str(n)))
    issue_checkpoint(app, KEY)
    app.save(Probe("after"))
    path = folder / "bundle.jsonl"
    assert export_bundle(pg_url, path) == 4
    return path


def test_an_exported_bundle_carries_the_disclosures_and_the_seals_macs(
    app: Cxgov, pg_url: str, tmp_path: Path,
) -> None:
    path = exported(app, pg_url, tmp_path)
    report = verify_bundle(path, public_keys=[KEY.public_key()])
    assert report.ok, report.errors
    assert (report.seals_by_mac, report.seals_by_signature) == (3, 1)
    assert report.sealed_through == 4
    signatures = verify_bundle(path, public_keys=[KEY.public_key()], check_signatures=True)
    assert signatures.ok and (signatures.seals_by_mac, signatures.seals_by_signature) == (0, 4)


def test_cxgov_audit_verify_says_how_seals_were_checked_and_can_check_every_signature(
    app: Cxgov, pg_url: str, tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from auditverify.keys import public_key_pem
    from governance.entrypoints.audit import audit_app

    path, pem = exported(app, pg_url, tmp_path), tmp_path / "key.pem"
    pem.write_text(public_key_pem(KEY.public_key()))
    runner = CliRunner()
    fast = runner.invoke(audit_app, ["verify", "--bundle", str(path), "--public-key", str(pem)])
    slow = runner.invoke(audit_app, ["verify", "--bundle", str(path), "--public-key", str(pem),
                                     "--check-signatures"])
    assert (fast.exit_code, slow.exit_code) == (0, 0), fast.output + slow.output
    assert "write seals: 3 authenticated by MAC under a disclosed epoch key, 1 by" in fast.output
    assert "write seals: 0 authenticated by MAC under a disclosed epoch key, 4 by" in slow.output


# --- writers racing disclosures ---------------------------------------------------------------

WRITERS = 4
SAVES = 40


def test_writers_racing_disclosures_keep_every_seal_inside_its_epoch(
    app: Cxgov, pg_url: str,
) -> None:
    """Writers read the epoch under the events lock and a disclosure takes the same lock, so
    each seal of epoch e lies after the disclosure of e - 1 and at or before that of e."""
    done = threading.Event()
    failures: list[BaseException] = []
    made: list[Disclosure] = []

    def write(n: int) -> None:
        try:
            probe = Probe(f"w{n}")
            app.save(probe)
            for k in range(SAVES):
                for j in range(1 + k % 3):
                    probe.rename(f"{n}.{k}.{j}")
                app.save(probe)
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    def disclose() -> None:
        try:
            while not done.is_set():
                made.append(disclose_epoch_key(app, KEY))
                time.sleep(0.002)
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    discloser = threading.Thread(target=disclose)
    discloser.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    discloser.join(timeout=60)
    assert not failures, failures

    stored = disclosures(pg_url)
    assert stored == made  # one per call, in order
    assert [d.epoch for d in stored] == list(range(1, len(stored) + 1))
    bounds = [0, *(d.position for d in stored)]
    assert bounds == sorted(bounds)
    for d in stored:
        assert_genuine(pg_url, d)
    written = seals(pg_url)
    assert len(written) == WRITERS * (SAVES + 1)
    for s in written:
        e = s["epoch"]
        assert 1 <= e <= len(stored) + 1
        assert bounds[e - 1] < s["position"], (s["position"], e, bounds)
        if e <= len(stored):
            assert s["position"] <= bounds[e], (s["position"], e, bounds)
        assert bytes(s["mac"]) == expected_mac(s, e)
    assert len({s["epoch"] for s in written}) >= 3, "the disclosures never interleaved"

    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert report.ok, report.errors
    closed = sum(1 for s in written if s["epoch"] <= len(stored))
    assert (report.seals_by_mac, report.seals_by_signature) == (closed, len(written) - closed)
    assert report.sealed_through == written[-1]["position"]


# --- the INSERT-only role and a disclosed key -------------------------------------------------


def forge_sealed(url: str, *, epoch: int, mac_key: bytes, disclose: bytes | None = None) -> int:
    """As `cxgov_app` (SELECT and INSERT only), append one well-chained event and a seal for
    it: the service's key id, a garbage signature, `epoch` and a MAC under `mac_key`; with
    `disclose`, also a disclosure row of `epoch` with that key (a garbage signature). Return
    the event's position."""
    with connect(url, autocommit=False) as conn:
        conn.execute("SET ROLE cxgov_app")
        head = conn.execute("SELECT position, entry_hash FROM cxgov_chain "
                            "ORDER BY position DESC LIMIT 1").fetchone()
        template = conn.execute("SELECT topic, state FROM cxgov_events "
                                "WHERE originator_version = 1 LIMIT 1").fetchone()
        assert head is not None and template is not None
        prev_position, prev_hash = head[0], bytes(head[1])
        topic, state, originator = template[0], bytes(template[1]), uuid4()
        row = conn.execute("INSERT INTO cxgov_events (originator_id, originator_version, topic, "
                           "state) VALUES (%s, 1, %s, %s) RETURNING notification_id",
                           (originator, topic, state)).fetchone()
        assert row is not None
        position, recorded_at = row[0], datetime.now(UTC)
        digest = entry_hash(prev_hash=prev_hash, prev_position=prev_position, position=position,
                            originator_id=str(originator), originator_version=1, topic=topic,
                            state=state, recorded_at_us=micros(recorded_at))
        conn.execute("INSERT INTO cxgov_chain (position, prev_position, prev_hash, entry_hash, "
                     "recorded_at) VALUES (%s, %s, %s, %s, %s)",
                     (position, prev_position, prev_hash, digest, recorded_at))
        mac = seal_mac(mac_key, seal_mac_input(prev_position=prev_position,
                                               prev_hash=prev_hash, position=position,
                                               entry_hash=digest, entries=1))
        conn.execute("INSERT INTO cxgov_seals (position, prev_position, prev_hash, entry_hash, "
                     "entries, key_id, signature, epoch, mac) "
                     "VALUES (%s, %s, %s, %s, 1, %s, %s, %s, %s)",
                     (position, prev_position, prev_hash, digest, KEY_ID,
                      secrets.token_bytes(64), epoch, mac))
        if disclose is not None:
            conn.execute("INSERT INTO cxgov_key_disclosures (epoch, position, count, head, "
                         "epoch_key, key_id, signature) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (epoch, position, 0, digest, disclose, KEY_ID,
                          secrets.token_bytes(64)))
        conn.commit()
    return int(position)


@pytest.mark.parametrize("forgery", ["disclosed_epoch", "next_epoch", "forged_disclosure"])
def test_a_seal_the_insert_only_role_makes_with_a_disclosed_key_is_refused(
    app: Cxgov, pg_url: str, forgery: str,
) -> None:
    probe = Probe("x")
    app.save(probe)
    probe.rename("y")
    app.save(probe)
    issue_checkpoint(app, KEY)
    [disclosed] = disclosures(pg_url)  # epoch 1's key is public from here on
    assert (disclosed.epoch, disclosed.position) == (1, 2)
    if forgery == "disclosed_epoch":  # a valid MAC under the disclosed key, after its epoch
        forged = forge_sealed(pg_url, epoch=1, mac_key=disclosed.epoch_key)
    elif forgery == "next_epoch":  # epoch 2's key is still secret: the signature decides
        forged = forge_sealed(pg_url, epoch=2, mac_key=disclosed.epoch_key)
    else:  # a disclosure row of epoch 2 under a key of the forger's choosing
        mine = secrets.token_bytes(32)
        forged = forge_sealed(pg_url, epoch=2, mac_key=mine, disclose=mine)
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert not report.ok
    assert ("bad_seal", forged) in {(f.kind, f.position) for f in report.errors}, report.errors
    assert report.first_bad_position == forged
    assert report.sealed_through < forged
    if forgery == "forged_disclosure":
        assert "bad_disclosure" in {f.kind for f in report.errors}
    # the service refuses to sign a checkpoint over it, and its next seal does not launder it
    probe.rename("z")
    app.save(probe)
    again = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert ("bad_seal", forged) in {(f.kind, f.position) for f in again.errors}


# --- the schema -------------------------------------------------------------------------------


def test_disclosures_are_append_only_and_the_app_role_may_only_insert_and_select(
    app: Cxgov, pg_url: str,
) -> None:
    app.save(Probe("x"))
    disclose_epoch_key(app, KEY)
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    with connect(pg_url) as conn:
        granted = {p for p in privileges if conn.execute(
            "SELECT has_table_privilege('cxgov_app', 'cxgov_key_disclosures', %s)",
            (p,)).fetchone() == (True,)}
        for statement in ("UPDATE cxgov_key_disclosures SET position = 0",
                          "DELETE FROM cxgov_key_disclosures"):  # even for the owner
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        for epoch, mac in ((1, None), (None, b"m"), (0, b"m")):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute("INSERT INTO cxgov_seals (position, prev_position, prev_hash, "
                             "entry_hash, entries, key_id, signature, epoch, mac) "
                             "VALUES (100, 1, '', '', 1, 'k', '', %s, %s)", (epoch, mac))
    assert granted == {"SELECT", "INSERT"}


def test_a_database_downgraded_below_the_macs_verifies_its_seals_by_signature(
    pg_admin_url: str,
) -> None:
    name = f"cxgov_macs_{secrets.token_hex(4)}"
    url = create_database(pg_admin_url, name)
    try:
        migrate(url)
        with Cxgov(env=sealing(env_of(url))) as service:
            for n in range(3):
                service.save(Probe(str(n)))
            issue_checkpoint(service, KEY)
            service.save(Probe("after"))
        with_macs = verify_database(url, public_keys=[KEY.public_key()])
        downgrade(url, "0011")
        with snapshot(url) as conn, conn.transaction():
            assert read_disclosures(conn) == []
            assert {(r.seal.epoch, r.seal.mac) for r in iter_rows(conn)
                    if r.seal is not None} == {(0, b"")}
        without = verify_database(url, public_keys=[KEY.public_key()])
        migrate(url)
        assert disclose_epoch_key(url, KEY).epoch == 1  # the disclosures start again
    finally:
        drop_database(pg_admin_url, name)
    assert with_macs.ok and (with_macs.seals_by_mac, with_macs.seals_by_signature) == (3, 1)
    assert without.ok and (without.seals_by_mac, without.seals_by_signature) == (0, 4)


def env_of(url: str) -> dict[str, str]:
    """The production eventsourcing env of a database URL."""
    return eventstore_env(Settings(store="postgres", env="dev", db_pool_size=2), url)


# --- what the INSERT-only role's rows cannot change ---------------------------------------------


def test_a_forged_checkpoint_row_does_not_change_a_disclosures_count(
    app: Cxgov, pg_url: str,
) -> None:
    """A disclosure's signed count is the service's own: a checkpoint row the INSERT-only role
    adds (not signed by the service, with a count of its choosing) is not a base for it."""
    for n in range(3):
        app.save(Probe(str(n)))
    head, _ = chain_at(pg_url, 3)
    with connect(pg_url, autocommit=False) as conn:
        conn.execute("SET ROLE cxgov_app")
        conn.execute("INSERT INTO cxgov_checkpoints (seq, position, count, head, issued_at, "
                     "prev_hash, checkpoint_hash, key_id, public_key, signature) "
                     "VALUES (1, 3, 1000, %s, now(), %s, %s, %s, %s, %s)",
                     (head, GENESIS, secrets.token_bytes(32), KEY_ID, b"", b"forged"))
        conn.commit()
    disclosed = disclose_epoch_key(app, KEY)
    assert (disclosed.position, disclosed.count) == (3, 3)
    assert_genuine(pg_url, disclosed)


def test_a_forged_disclosure_at_the_largest_epoch_does_not_stop_the_writers(
    app: Cxgov, pg_url: str,
) -> None:
    """Writers take 1 + the newest epoch: a row at the largest bigint would overflow every
    write. Epochs stop at 2^62, so writes go on (and the forged row is a finding)."""
    app.save(Probe("x"))
    with connect(pg_url) as conn:
        conn.execute("SET ROLE cxgov_app")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO cxgov_key_disclosures (epoch, position, count, head, "
                         "epoch_key, key_id, signature) VALUES (%s, 1, 1, '', '', 'k', '')",
                         ((1 << 63) - 1,))
        conn.execute("INSERT INTO cxgov_key_disclosures (epoch, position, count, head, "
                     "epoch_key, key_id, signature) VALUES (%s, 1, 1, '', '', %s, '')",
                     (1 << 62, KEY_ID))
    app.save(Probe("y"))
    assert seals(pg_url)[-1]["epoch"] == (1 << 62) + 1
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert {(f.kind, f.position) for f in report.errors} == {("bad_disclosure", 1)}
    assert report.seals_by_signature == 2
