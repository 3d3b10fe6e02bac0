"""Write epochs (decision 287): a seal in an epoch whose key the service disclosed is
authenticated by its MAC, and every way to misuse a disclosed key is found with the public
key alone, at its position."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.bundle import verify_bundle, write_bundle
from auditverify.cli import main
from auditverify.encoding import epoch_key, seal_mac
from auditverify.keys import public_key_pem
from auditverify.model import Row, SealRow
from auditverify.verifier import Verifier
from tests.unit.test_auditverify import KEY
from tests.unit.test_tamper_catalogue import (
    PUBLIC,
    disclose,
    edit_state,
    errors,
    history,
    rechain,
    sealed,
    verify_rows,
)

ENDS = [2, 6, 10, 13, 14]  # the write transactions of history(): 1-2, 3-6, 7-10, 11-13, 14
DISCLOSED = [6, 10]  # epoch 1 ends at 6, epoch 2 at 10; 13 and 14 are in epoch 3, not disclosed
SECRET = KEY.private_bytes_raw()


def rows_and_disclosures() -> tuple[list[Row], list]:
    log, _ = history()
    rows = sealed(log.rows, ENDS, disclosed=DISCLOSED)
    return rows, disclose(rows, DISCLOSED)


def forged(seal: SealRow, position: int, epoch: int) -> SealRow:
    """What someone holding the disclosed key of `epoch` but not the signing key makes."""
    return replace(seal, epoch=epoch, signature=bytes(64),
                   mac=seal_mac(epoch_key(SECRET, epoch), seal.mac_input(position)))


def test_seals_of_disclosed_epochs_are_authenticated_by_their_macs() -> None:
    rows, disclosures = rows_and_disclosures()
    assert [r.seal.epoch for r in rows if r.seal] == [1, 1, 2, 3, 3]
    report = verify_rows(rows, public_keys=PUBLIC, disclosures=disclosures)
    assert report.ok and report.errors == ()
    assert (report.seals_by_mac, report.seals_by_signature) == (3, 2)
    # the MAC is what is checked: a seal of a disclosed epoch with no valid signature passes,
    # and fails once the auditor asks for every signature
    unsigned = [replace(r, seal=replace(r.seal, signature=bytes(64)))
                if r.seal and r.position <= 10 else r for r in rows]
    assert verify_rows(unsigned, public_keys=PUBLIC, disclosures=disclosures).ok
    strict = verify_rows(unsigned, public_keys=PUBLIC, disclosures=disclosures,
                         check_signatures=True)
    assert errors(strict) == {("unauthenticated", p) for p in (2, 6, 10)}
    assert (strict.seals_by_mac, strict.seals_by_signature) == (0, 2)
    # without the disclosures every seal is checked by its signature, as before epochs
    plain = verify_rows(rows, public_keys=PUBLIC)
    assert plain.ok and (plain.seals_by_mac, plain.seals_by_signature) == (0, 5)


def test_a_seal_whose_mac_is_altered_is_unauthenticated_at_its_position() -> None:
    rows, disclosures = rows_and_disclosures()
    rows[5] = replace(rows[5], seal=replace(rows[5].seal, mac=bytes(32)))  # position 6
    # the seal is refused, so its transaction's entries 3..6 are covered by no valid seal
    report = verify_rows(rows, public_keys=PUBLIC, disclosures=disclosures)
    assert errors(report) == {("unauthenticated", p) for p in (3, 4, 5, 6)}
    assert ("bad_seal", 6) in {(f.kind, f.position) for f in report.errors}


def test_a_tail_forged_with_a_disclosed_key_is_refused_where_it_was_appended() -> None:
    """The INSERT-only role appends 11..14 after epoch 2's key was disclosed at 10, and seals
    them with that key: the seal lies after the epoch's end. With epoch 3 named instead
    (its key still secret), the MAC cannot be checked and the signature fails."""
    rows, disclosures = rows_and_disclosures()
    tail = rows[:10] + [replace(r, seal=None) for r in rows[10:]]
    seal = rows[13].seal
    assert seal is not None
    seal = replace(seal, prev_position=10, prev_hash=rows[9].chain.entry_hash, entries=4)
    for epoch in (1, 2, 3):
        history_ = [*tail[:13], replace(tail[13], seal=forged(seal, 14, epoch))]
        report = verify_rows(history_, public_keys=PUBLIC, disclosures=disclosures)
        assert errors(report) >= {("unauthenticated", 14)}, epoch
        assert not report.ok


def test_a_seal_added_inside_a_transaction_with_a_disclosed_key_is_inserted() -> None:
    """A MAC'd seal at 8, inside the transaction 7..10 that the service sealed at 10: two
    seals claim 7..8; the one with no valid signature is the forgery, and 7..10 stay
    covered by the service's seal."""
    rows, disclosures = rows_and_disclosures()
    first = rows[6].chain
    extra = SealRow(first.prev_position, first.prev_hash, rows[7].chain.entry_hash, 2,
                    rows[9].seal.key_id, b"")
    rows[7] = replace(rows[7], seal=forged(extra, 8, 2))
    report = verify_rows(rows, public_keys=PUBLIC, disclosures=disclosures)
    assert errors(report) == {("inserted", 8)}
    # the same before the disclosure (its MAC unknown): its signature fails at once
    early = verify_rows(rows, public_keys=PUBLIC)
    assert ("unauthenticated", 8) in errors(early)


def test_a_rewrite_re_maced_with_disclosed_keys_disagrees_with_the_disclosure() -> None:
    """A superuser edits 5, re-chains, and re-computes the seals' MACs with the disclosed
    keys (no signing key: the signatures stay the old ones). With no checkpoint kept, the
    disclosure of epoch 1 still pins the head at 6."""
    rows, disclosures = rows_and_disclosures()
    rows[4] = edit_state(rows[4], lambda d: d.update(actor="mallory"))
    redone = []
    for new, old in zip(rechain(rows), rows, strict=True):
        seal = old.seal
        if seal is not None and new.chain is not None:
            first_prev = seal.prev_position
            prev_hash = next((r.chain.entry_hash for r in redone if r.position == first_prev
                              and r.chain), seal.prev_hash)
            seal = replace(seal, prev_hash=prev_hash, entry_hash=new.chain.entry_hash)
            seal = replace(seal, mac=seal_mac(epoch_key(SECRET, seal.epoch),
                                              seal.mac_input(new.position)))
        redone.append(replace(new, seal=seal))
    report = verify_rows(redone, public_keys=PUBLIC, disclosures=disclosures)
    assert not report.ok
    assert ("anchor_mismatch", 6) in {(f.kind, f.position) for f in report.errors}
    # the MACs alone would not have caught it: every seal of epochs 1-2 passes its MAC
    assert all(f.position not in (2, 6, 10) or f.kind != "bad_seal" for f in report.errors)


def test_a_disclosure_not_signed_by_the_auditors_key_is_not_used() -> None:
    rows, disclosures = rows_and_disclosures()
    stranger = Ed25519PrivateKey.generate()
    bad = [replace(disclosures[0], signature=bytes(64)),
           replace(disclosures[1], signature=stranger.sign(disclosures[1].payload()))]
    report = verify_rows(rows, public_keys=PUBLIC, disclosures=bad)
    assert {(f.kind, f.position) for f in report.errors} == {("bad_disclosure", 6),
                                                            ("bad_disclosure", 10)}
    assert report.seals_by_mac == 0  # the seals fell back to their signatures


def test_a_deleted_disclosure_is_a_warning_and_its_seals_are_checked_by_signature() -> None:
    log, _ = history()
    rows = sealed(log.rows, ENDS, disclosed=[2, 6, 10])
    disclosures = disclose(rows, [2, 6, 10])
    report = verify_rows(rows, public_keys=PUBLIC,
                         disclosures=[disclosures[0], disclosures[2]])
    assert report.ok
    warned = {(f.kind, f.position, f.tamper) for f in report.findings
              if f.severity == "warning"}
    assert ("bad_disclosure", 10, "deleted") in warned
    assert (report.seals_by_mac, report.seals_by_signature) == (2, 3)


def test_a_bundle_carries_the_disclosures_and_a_version_1_bundle_still_reads(
        tmp_path: Path) -> None:
    rows, disclosures = rows_and_disclosures()
    path = tmp_path / "b.jsonl"
    write_bundle(path, rows=rows, checkpoints=[], source="test", disclosures=disclosures)
    report = verify_bundle(path, public_keys=PUBLIC)
    assert report.ok and (report.seals_by_mac, report.seals_by_signature) == (3, 2)
    lines = path.read_text().splitlines()
    cut = [line for line in lines if '"disclosure"' not in line or '"epoch":2' not in line]
    path.write_text("\n".join(cut) + "\n")
    assert "bundle_incomplete" in verify_bundle(path, public_keys=PUBLIC).kinds()
    broken = [line.replace('"epoch_key":"', '"epoch_key":"zz') for line in lines]
    path.write_text("\n".join(broken) + "\n")
    assert {"malformed_disclosure"} <= verify_bundle(path, public_keys=PUBLIC).kinds()
    old = tmp_path / "v1.jsonl"  # written before epochs: no disclosures, seals signed
    plain = sealed(history()[0].rows, ENDS)
    write_bundle(old, rows=plain, checkpoints=[], source="test")
    text = old.read_text().replace('"version":2', '"version":1', 1)
    old.write_text(text.replace(',"disclosures":0', ""))
    again = verify_bundle(old, public_keys=PUBLIC)
    assert again.ok and again.seals_by_signature == 5


def test_the_cli_says_how_the_seals_were_authenticated_and_can_check_every_signature(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows, disclosures = rows_and_disclosures()
    path, key_file = tmp_path / "b.jsonl", tmp_path / "key.pem"
    write_bundle(path, rows=rows, checkpoints=[], source="test", disclosures=disclosures)
    key_file.write_text(public_key_pem(KEY.public_key()))
    assert main(["--bundle", str(path), "--public-key", str(key_file)]) == 0
    assert ("write seals: 3 authenticated by MAC under a disclosed epoch key, 2 by signature"
            in capsys.readouterr().out)
    assert main(["--bundle", str(path), "--public-key", str(key_file),
                 "--check-signatures"]) == 0
    assert "write seals: 0 authenticated by MAC" in capsys.readouterr().out


def test_the_helper_process_authenticates_by_mac_as_this_process_does() -> None:
    """feed_many with workers=2 (the helper checks the MACs of its part) reports what feed()
    reports, on a long MAC-sealed history with a forged seal in the helper's part."""
    from ops.bench.audit import rows as bench_rows

    made = [row for row, _ in bench_rows(25_000, seal_every=2)]
    # the bench seals with its own key: re-seal with epochs under KEY, disclosed every 5,000
    ends = [r.position for r in made if r.seal is not None]
    at = [p for p in ends if p % 5000 == 0]
    rows = sealed([replace(r, seal=None) for r in made], ends, disclosed=at)
    p = 20_002
    rows[p - 1] = replace(rows[p - 1], seal=replace(rows[p - 1].seal, mac=bytes(32)))
    disclosures = disclose(rows, at)
    reports = []
    for workers in (1, 2):
        verifier = Verifier(public_keys=PUBLIC, disclosures=disclosures, workers=workers)
        verifier.feed_many(list(rows))
        reports.append(verifier.finish())
    one = Verifier(public_keys=PUBLIC, disclosures=disclosures)
    for row in rows:
        one.feed(row)
    reports.append(one.finish())
    assert reports[0] == reports[1] == reports[2]
    assert errors(reports[0]) == {("unauthenticated", p - 1), ("unauthenticated", p)}
    assert reports[0].seals_by_mac == 12_500 - 1  # every seal but the forged one
