"""The independent verifier on in-memory histories: encoding, rules, checkpoints, bundle, CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.bundle import verify_bundle, write_bundle
from auditverify.cli import main
from auditverify.encoding import GENESIS, entry_hash
from auditverify.keys import key_id, parse_public_key, public_key_pem, raw_public_key
from auditverify.model import ChainRow, Checkpoint, EventRow, Receipt, Row
from auditverify.verifier import verify_rows

T0 = 1_800_000_000_000_000
KEY = Ed25519PrivateKey.generate()


def chain(events: list[tuple[int, str, int]]) -> list[Row]:
    """Rows (position, aggregate, version) chained from genesis."""
    rows, prev_position, prev_hash = [], 0, GENESIS
    for position, originator, version in events:
        ev = EventRow(originator, version, "probe:Renamed", f'{{"v":{version}}}'.encode())
        digest = entry_hash(prev_hash=prev_hash, prev_position=prev_position, position=position,
                            originator_id=ev.originator_id, originator_version=version,
                            topic=ev.topic, state=ev.state, recorded_at_us=T0 + position)
        rows.append(Row(position, ev, ChainRow(prev_position, prev_hash, digest, T0 + position)))
        prev_position, prev_hash = position, digest
    return rows


def history() -> list[Row]:
    """Two aggregates over positions 1..10 with a legitimate gap at 6..7."""
    events = [(p, "a" if p % 2 else "b", 0) for p in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12)]
    seen: dict[str, int] = {}
    numbered = []
    for position, originator, _ in events:
        seen[originator] = seen.get(originator, 0) + 1
        numbered.append((position, originator, seen[originator]))
    return chain(numbered)


def sign(rows: list[Row], at: list[int], key: Ed25519PrivateKey = KEY) -> list[Checkpoint]:
    """Checkpoints at the given positions."""
    out, prev = [], GENESIS
    for seq, position in enumerate(at, start=1):
        count = sum(1 for r in rows if r.position <= position)
        head = next(r.chain.entry_hash for r in rows if r.position == position and r.chain)
        c = Checkpoint(seq=seq, position=position, count=count, head=head,
                       issued_at_us=T0 + seq, prev_hash=prev,
                       key_id=key_id(key.public_key()), signature=b"",
                       public_key=raw_public_key(key.public_key()))
        c = replace(c, signature=key.sign(c.payload()))
        out.append(c)
        prev = c.digest()
    return out


def test_the_entry_hash_is_sha256_of_length_prefixed_fields() -> None:
    def field(b: bytes) -> bytes:
        return struct.pack(">Q", len(b)) + b

    expected = hashlib.sha256(b"".join(field(f) for f in (
        b"cxgov-chain-v1", b"\x07" * 32, struct.pack(">q", 4), struct.pack(">q", 5),
        b"agg", struct.pack(">q", 2), b"t", b"state", struct.pack(">q", 123)))).digest()
    assert entry_hash(prev_hash=b"\x07" * 32, prev_position=4, position=5, originator_id="agg",
                      originator_version=2, topic="t", state=b"state",
                      recorded_at_us=123) == expected


def test_moving_a_byte_between_fields_changes_the_hash() -> None:
    common = {"prev_hash": GENESIS, "prev_position": 0, "position": 1, "originator_version": 1,
              "state": b"", "recorded_at_us": 0}
    assert entry_hash(originator_id="ab", topic="c", **common) != entry_hash(
        originator_id="a", topic="bc", **common)


def test_a_clean_history_verifies_and_reports_its_gap() -> None:
    rows = history()
    report = verify_rows(rows, public_keys=[KEY.public_key()], checkpoints=sign(rows, [5, 10]))
    assert report.ok and report.first_bad_position is None
    assert [(f.kind, f.position, f.severity) for f in report.findings] == [
        ("gap", 6, "info"), ("unsealed_history", 1, "warning"), ("unanchored", 11, "warning")]
    assert report.anchored_through == 10


def test_a_changed_state_is_found_at_its_position() -> None:
    rows = history()
    event = rows[3].event
    assert event is not None
    rows[3] = replace(rows[3], event=replace(event, state=b"{}"))
    report = verify_rows(rows, public_keys=[])
    assert (report.ok, report.first_bad_position, report.kinds()) == (
        False, 4, {"hash_mismatch"})


def test_a_row_whose_entry_hash_was_recomputed_is_found_by_its_successor() -> None:
    rows = history()
    old = rows[2]
    assert old.event is not None and old.chain is not None
    event = replace(old.event, state=b"{}")
    digest = entry_hash(prev_hash=old.chain.prev_hash, prev_position=2, position=3,
                        originator_id=event.originator_id, originator_version=2,
                        topic=event.topic, state=event.state,
                        recorded_at_us=old.chain.recorded_at_us)
    rows[2] = Row(3, event, replace(old.chain, entry_hash=digest))
    report = verify_rows(rows, public_keys=[])
    assert (report.first_bad_position, report.kinds()) == (3, {"altered_entry"})


def test_a_deleted_row_is_named_by_its_successor() -> None:
    rows = [r for r in history() if r.position != 9]
    report = verify_rows(rows, public_keys=[])
    assert report.first_bad_position == 9
    assert {"missing_row", "version_discontinuity"} <= report.kinds()


def test_rows_out_of_order_are_reported() -> None:
    rows = history()
    rows[4], rows[5] = rows[5], rows[4]
    assert "order" in verify_rows(rows, public_keys=[]).kinds()


def test_a_checkpoint_with_a_changed_head_or_an_unknown_key_is_invalid() -> None:
    rows = history()
    good = sign(rows, [5])
    forged = [replace(good[0], head=bytes(32))]
    stranger = sign(rows, [5], key=Ed25519PrivateKey.generate())
    assert verify_rows(rows, public_keys=[KEY.public_key()], checkpoints=good).ok
    assert verify_rows(rows, public_keys=[KEY.public_key()],
                       checkpoints=forged).kinds() == {"bad_signature"}
    assert verify_rows(rows, public_keys=[KEY.public_key()],
                       checkpoints=stranger).kinds() == {"unknown_key"}


def test_a_receipt_past_the_end_proves_a_tail_was_cut() -> None:
    rows = history()
    kept = Receipt(12, rows[-1].chain.entry_hash if rows[-1].chain else b"")
    report = verify_rows(rows[:-2], public_keys=[], receipts=[kept])
    assert (report.ok, report.first_bad_position, report.kinds()) == (False, 11, {"truncated"})


def test_a_bundle_round_trips_and_a_cut_bundle_is_incomplete(tmp_path: Path) -> None:
    rows = history()
    path = tmp_path / "b.jsonl"
    write_bundle(path, rows=rows, checkpoints=sign(rows, [8]), source="test")
    assert verify_bundle(path, public_keys=[KEY.public_key()]).ok
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    report = verify_bundle(path, public_keys=[KEY.public_key()])
    assert not report.ok and report.kinds() == {"bundle_incomplete"}


def test_public_keys_parse_from_pem_base64_and_hex() -> None:
    public = KEY.public_key()
    raw = raw_public_key(public)
    for text in (public_key_pem(public), base64.b64encode(raw).decode(), raw.hex()):
        assert raw_public_key(parse_public_key(text)) == raw
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        parse_public_key("c2hvcnQ=")


def test_the_cli_exits_zero_on_a_good_bundle_and_one_on_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    rows = history()
    key_file = tmp_path / "key.pem"
    key_file.write_text(public_key_pem(KEY.public_key()))
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    write_bundle(good, rows=rows, checkpoints=sign(rows, [10]), source="test")
    write_bundle(bad, rows=rows[:3] + rows[4:], checkpoints=[], source="test")
    assert main(["--bundle", str(good), "--public-key", str(key_file)]) == 0
    assert "VERIFIED" in capsys.readouterr().out
    assert main(["--bundle", str(bad), "--public-key", str(key_file), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_position"] == 4
    assert main(["--bundle", str(tmp_path / "none"), "--public-key", str(key_file)]) == 2


def test_the_verifier_runs_alone_and_imports_nothing_of_the_service() -> None:
    code = ("import sys, auditverify, auditverify.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'domain', 'governance', 'projections', 'api', 'ops', 'eventsourcing'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    help_text = subprocess.run([sys.executable, "-m", "auditverify", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "--public-key" in help_text
