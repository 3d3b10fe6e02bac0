"""Verifier.feed_many (the verifier's fast loop) against feed() one row at a time: on clean and
randomly tampered histories (rows deleted, swapped, duplicated, altered, re-chained, unsealed,
gaps, events or chain entries dropped, bad seals), the two give the same report, finding for
finding. The tamper catalogue checks what the findings are; this checks the fast loop changes
none of them. Every test here runs twice: with the loop in C (auditverify/_chainloop.c,
decision 291) and with the loop in Python."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify import bundle as bundle_module
from auditverify import verifier
from auditverify.bundle import verify_bundle, write_bundle
from auditverify.cli import main
from auditverify.encoding import (
    CHAIN_TAG,
    GENESIS,
    chain_hash,
    entry_hash,
    epoch_key,
    frame,
    int64,
    seal_mac,
)
from auditverify.keys import key_id, public_key_pem
from auditverify.model import ChainRow, Disclosure, EventRow, Report, Row, SealRow
from auditverify.verifier import Verifier


@pytest.fixture(autouse=True, params=["C", "Python"])
def loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """feed_many's loop: the C one (which must be built here) or the Python one."""
    if request.param == "C":
        assert verifier._chainloop is not None, "auditverify._chainloop was not built"
        monkeypatch.setattr(verifier, "ACCELERATOR", verifier._chainloop)
    else:
        monkeypatch.setattr(verifier, "ACCELERATOR", None)
    return str(request.param)


KEY = Ed25519PrivateKey.generate()
STRANGER = Ed25519PrivateKey.generate()
T0 = 1_800_000_000_000_000


def chained(events: list[tuple[int, EventRow]], rnd: random.Random,
            seal_every: int = 0, disclose_every: int = 0) -> list[Row]:
    """Rows chained from genesis over (position, event), sealed every `seal_every` entries;
    with `disclose_every`, each seal carries its write epoch and MAC, an epoch ending (see
    disclosures()) at the first seal from every `disclose_every` entries."""
    out: list[Row] = []
    epoch, since = 1, 0
    prev_position, prev_hash = 0, GENESIS
    tx_prev, tx_hash, tx_count = 0, GENESIS, 0
    for i, (position, event) in enumerate(events, start=1):
        at = T0 + position * 10 + rnd.randrange(3)
        digest = entry_hash(prev_hash=prev_hash, prev_position=prev_position, position=position,
                            originator_id=event.originator_id,
                            originator_version=event.originator_version, topic=event.topic,
                            state=event.state, recorded_at_us=at)
        tx_count += 1
        seal = None
        if seal_every and (i % seal_every == 0 or i == len(events)):
            unsigned = SealRow(tx_prev, tx_hash, digest, tx_count, key_id(KEY.public_key()), b"")
            seal = replace(unsigned, signature=KEY.sign(unsigned.payload(position)))
            if disclose_every:
                seal = replace(seal, epoch=epoch, mac=seal_mac(
                    epoch_key(KEY.private_bytes_raw(), epoch), unsigned.mac_input(position)))
                since += tx_count
                if since >= disclose_every:
                    epoch, since = epoch + 1, 0
            tx_prev, tx_hash, tx_count = position, digest, 0
        out.append(Row(position, event, ChainRow(prev_position, prev_hash, digest, at), seal))
        prev_position, prev_hash = position, digest
    return out


def disclosures(rows: list[Row]) -> list[Disclosure]:
    """The service's disclosure of each write epoch of chained(..., disclose_every) but the
    last: at the position of its last seal, with the chain's head and count there."""
    ends: dict[int, Row] = {}
    for row in rows:
        if row.seal is not None and row.seal.epoch:
            ends[row.seal.epoch] = row
    out = []
    for epoch in sorted(ends)[:-1]:
        end = ends[epoch]
        assert end.chain is not None
        count = sum(1 for r in rows if r.position <= end.position and r.chain is not None)
        d = Disclosure(epoch, end.position, count, end.chain.entry_hash,
                       epoch_key(KEY.private_bytes_raw(), epoch), key_id(KEY.public_key()), b"")
        out.append(replace(d, signature=KEY.sign(d.payload())))
    return out


def history(rnd: random.Random, n: int, gaps: float = 0.05) -> list[tuple[int, EventRow]]:
    versions: dict[str, int] = {}
    events = []
    position = 0
    for _ in range(n):
        position += 1 + (rnd.random() < gaps)  # a few positions left unused
        oid = f"agg-{rnd.randrange(6)}"
        versions[oid] = versions.get(oid, 0) + 1
        events.append((position, EventRow(oid, versions[oid], "cxgov.T",
                                          b'{"n":%d}' % rnd.randrange(10**6))))
    return events


def tamper(rows: list[Row], rnd: random.Random) -> list[Row]:
    rows = list(rows)
    for _ in range(rnd.randrange(1, 4)):
        i = rnd.randrange(len(rows))
        row = rows[i]
        what = rnd.randrange(10)
        if what == 0:
            del rows[i]
        elif what == 1 and i + 1 < len(rows):
            rows[i], rows[i + 1] = rows[i + 1], rows[i]
        elif what == 2:
            rows.insert(i, row)
        elif what == 3 and row.event is not None:
            rows[i] = replace(row, event=replace(row.event, state=row.event.state + b" "))
        elif what == 4 and row.chain is not None:
            rows[i] = replace(row, chain=replace(row.chain, entry_hash=bytes(32)))
        elif what == 5:
            rows[i] = replace(row, event=None)
        elif what == 6:
            rows[i] = replace(row, chain=None)
        elif what == 7 and row.seal is not None:
            rows[i] = replace(row, seal=replace(row.seal, entries=row.seal.entries + 1))
        elif what == 8 and row.seal is not None:
            rows[i] = replace(row, seal=replace(row.seal, signature=STRANGER.sign(b"x")))
        elif what == 9 and row.event is not None:  # a version changed, and re-chained after
            event = replace(row.event, originator_version=row.event.originator_version + 1)
            events = [(r.position, r.event) for r in rows if r.event is not None]
            events[[p for p, _ in events].index(row.position)] = (row.position, event)
            rows = chained(events, rnd)
    return rows


def both(rows: list[Row], workers: int = 1, **options: object) -> tuple[Report, Report]:
    one = Verifier(public_keys=[KEY.public_key()], **options)  # type: ignore[arg-type]
    for row in rows:
        one.feed(row)
    many = Verifier(public_keys=[KEY.public_key()], workers=workers,
                    **options)  # type: ignore[arg-type]
    many.feed_many(rows)
    assert one.head == many.head
    return one.finish(), many.finish()


def merges(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each helper's Part was taken (Verifier._merge's answers), as they are made."""
    made: list[bool] = []
    merge = Verifier._merge

    def counted(self: Verifier, part: object) -> bool:
        made.append(merge(self, part))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(Verifier, "_merge", counted)
    return made


@pytest.mark.parametrize("seed", range(60))
def test_a_forked_helper_changes_no_finding(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """workers=2: a helper process checks the rows after the split as a clean history's
    continuation; whether its state is taken or the rows checked again here, every finding
    (at and around the split, and everywhere else) is what feed() reports. Half the
    histories have no unused positions and write epochs, so the helper's state is taken."""
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    rnd = random.Random(seed)
    plain = seed % 2 == 0
    rows = chained(history(rnd, rnd.randrange(5, 60), gaps=0 if plain else 0.05), rnd,
                   seal_every=rnd.choice([1, 3, 7] if plain else [0, 1, 3, 7]),
                   disclose_every=rnd.choice([4, 10]) if plain else 0)
    if seed % 4 > 1:
        rows = tamper(rows, rnd)
    one, many = both(rows, workers=2, disclosures=disclosures(rows))
    assert one == many


@pytest.mark.parametrize("seed", range(12))
def test_the_helper_s_state_is_taken_on_a_clean_history(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean history with no unused position: the helper's Part is taken (so the rows
    after the split are not checked twice), and the report, counts, seals and versions
    included, is feed()'s."""
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    made = merges(monkeypatch)
    rnd = random.Random(seed)
    rows = chained(history(rnd, rnd.randrange(20, 80), gaps=0), rnd,
                   seal_every=rnd.choice([1, 2, 3]), disclose_every=rnd.choice([0, 5]))
    given = disclosures(rows)
    one, many = both(rows, workers=2, disclosures=given)
    assert made == [True]
    assert one == many and one.ok
    assert many.seals_by_mac + many.seals_by_signature == sum(1 for r in rows if r.seal)
    assert (many.seals_by_mac > 0) == bool(given)


def test_a_part_whose_versions_do_not_follow_is_checked_again_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows before the split change an aggregate's version and are re-chained: each part
    is clean on its own, but the helper's first version of that aggregate does not follow
    this process's. Its state is refused, and the discontinuity is found where feed() finds
    it."""
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    made = merges(monkeypatch)
    rnd = random.Random(7)
    events = history(rnd, 40, gaps=0)
    split = verifier._boundary(chained(events, rnd, seal_every=1), 20)
    oid = events[split - 1][1].originator_id  # the last aggregate written before the split
    later = next(i for i in range(split, len(events)) if events[i][1].originator_id == oid)
    position, event = events[split - 1]
    events[split - 1] = (position, replace(event,
                                           originator_version=event.originator_version + 1))
    rows = chained(events, rnd, seal_every=1)
    one, many = both(rows, workers=2)
    assert made == [False]
    assert one == many
    assert ("version_discontinuity", events[later][0]) in {
        (f.kind, f.position) for f in one.errors}


@pytest.mark.parametrize("seed", range(300))
def test_feed_many_reports_what_feed_reports(seed: int) -> None:
    rnd = random.Random(seed)
    rows = chained(history(rnd, rnd.randrange(5, 60)), rnd, seal_every=rnd.choice([0, 1, 3, 7]))
    if seed % 4:
        rows = tamper(rows, rnd)
    one, many = both(rows)
    assert one == many
    if seed % 4 == 0:
        assert one.ok


def test_resumed_verification_agrees() -> None:
    rnd = random.Random(1)
    rows = chained(history(rnd, 40), rnd, seal_every=5)
    start = rows[19]
    assert start.chain is not None
    one, many = both(rows[20:], start=(start.position, start.chain.entry_hash, 20), sealed=True)
    assert one == many and one.ok


def test_chain_hash_is_entry_hash() -> None:
    rnd = random.Random(2)
    for _ in range(500):
        args = (rnd.randbytes(rnd.choice([0, 32, 33])), rnd.randrange(-2**63, 2**63),
                rnd.randrange(-2**63, 2**63), "é" * rnd.randrange(4), rnd.randrange(2**63),
                "t" * rnd.randrange(30), rnd.randbytes(rnd.randrange(300)),
                rnd.randrange(-2**63, 2**63))
        ph, pp, p, oid, version, topic, state, at = args
        framed = frame(CHAIN_TAG, ph, int64(pp), int64(p), oid.encode(), int64(version),
                       topic.encode(), state, int64(at))  # the format's definition, field by field
        assert chain_hash(*args) == hashlib.sha256(framed).digest()
    with pytest.raises(OverflowError):
        chain_hash(b"", 2**63, 1, "a", 1, "t", b"", 0)


@pytest.mark.parametrize("head_size", [31, 33])
def test_a_head_hash_of_another_size_is_never_framed_as_a_hash_size_one(head_size: int) -> None:
    """The fast loop frames prev_hash as a 32-byte struct field. A forged entry hash of 31
    bytes would be zero-padded there (33: cut), so a successor whose stored hash was made
    over that padded framing must still be a hash_mismatch, as feed() reports it, not pass."""
    rnd = random.Random(3)
    rows = chained(history(rnd, 6), rnd)
    short = rnd.randbytes(head_size)
    i = next(i for i in range(1, 5) if rows[i + 1].position == rows[i].position + 1)
    forged, nxt = rows[i], rows[i + 1]  # the successor is next in line: the fast loop's row
    assert forged.chain is not None and nxt.chain is not None and nxt.event is not None
    rows[i] = replace(forged, chain=replace(forged.chain, entry_hash=short))
    padded = frame(CHAIN_TAG, short.ljust(32, b"\0")[:32], int64(forged.position),
                   int64(nxt.position), nxt.event.originator_id.encode(),
                   int64(nxt.event.originator_version), nxt.event.topic.encode(),
                   nxt.event.state, int64(nxt.chain.recorded_at_us))
    rows[i + 1] = replace(nxt, chain=replace(nxt.chain, prev_hash=short,
                                         entry_hash=hashlib.sha256(padded).digest()))
    one, many = both(rows)
    assert one == many
    assert ("hash_mismatch", nxt.position) in {(f.kind, f.position) for f in many.findings}


def key_of(private: Ed25519PrivateKey) -> str:
    """The public key as the CLI takes it (PEM text)."""
    return public_key_pem(private.public_key())


def stream(rows: list[Row], into: Verifier, says: dict[int, str]) -> Iterator[Row]:
    """The rows one at a time, the producer saying `says[i]` (an add()) before row i, as a
    bundle reports an unreadable line while it is read."""
    for i, row in enumerate(rows):
        if i in says:
            into.add("malformed_row", row.position, says[i])
        yield row
    if len(rows) in says:
        into.add("bundle_incomplete", None, says[len(rows)])


@pytest.mark.parametrize("seed", range(40))
def test_a_stream_through_the_helper_reports_what_feed_reports(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """workers=2 on a stream (decision 213): read a few rows at a time, each batch split with
    the helper; what the producer says while it is read lands between the same rows."""
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    monkeypatch.setattr(verifier, "STREAM_CHUNK", 1 + seed % 9)
    rnd = random.Random(seed)
    plain = seed % 2 == 0
    rows = chained(history(rnd, rnd.randrange(5, 60), gaps=0 if plain else 0.05), rnd,
                   seal_every=rnd.choice([0, 1, 3, 7]))
    if seed % 4 > 1:
        rows = tamper(rows, rnd)
    says = {i: f"line {i}" for i in rnd.sample(range(len(rows) + 1), rnd.randrange(4))}
    one = Verifier(public_keys=[KEY.public_key()])
    for row in stream(rows, one, says):
        one.feed(row)
    many = Verifier(public_keys=[KEY.public_key()], workers=2)
    many.feed_many(stream(rows, many, says))
    assert one.head == many.head
    assert one.finish() == many.finish()


def test_a_stream_that_fails_has_the_rows_it_gave_fed_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    monkeypatch.setattr(verifier, "STREAM_CHUNK", 4)
    rnd = random.Random(5)
    rows = chained(history(rnd, 10), rnd, seal_every=3)

    def failing() -> Iterator[Row]:
        yield from rows[:6]
        raise ValueError("cut")

    many = Verifier(public_keys=[KEY.public_key()], workers=2)
    with pytest.raises(ValueError, match="cut"):
        many.feed_many(failing())
    one = Verifier(public_keys=[KEY.public_key()])
    for row in rows[:6]:
        one.feed(row)
    assert many.head == one.head


@pytest.mark.parametrize("seed", range(12))
def test_a_bundle_verified_with_the_helper_gives_the_same_report(
        seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_bundle(workers=2), `--workers 2`: the same report as one process, on sealed
    bundles with tampered rows and lines that cannot be read (found while the file is read),
    the file read in two halves from any size (decision 290)."""
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    monkeypatch.setattr(bundle_module, "SPLIT_BYTES", 1)
    monkeypatch.setattr(verifier, "STREAM_CHUNK", 1 + seed % 5)
    rnd = random.Random(seed)
    rows = chained(history(rnd, rnd.randrange(10, 40)), rnd, seal_every=rnd.choice([1, 3]))
    if seed % 4:
        rows = tamper(rows, rnd)
    path = tmp_path / "b.jsonl"
    write_bundle(path, rows=rows, checkpoints=[], source="test")
    lines = path.read_text().splitlines()
    for i in rnd.sample(range(1, len(lines) - 1), 1 + seed % 3):
        lines[i] = rnd.choice(["not json", lines[i].replace('"', "'", 2)])
    path.write_text("\n".join(lines) + "\n")
    one = verify_bundle(path, public_keys=[KEY.public_key()])
    two = verify_bundle(path, public_keys=[KEY.public_key()], workers=2)
    assert one == two
    assert main(["--bundle", str(path), "--public-key", key_of(KEY), "--workers", "2"]) == (
        0 if one.ok else 1)


def test_a_forged_seal_overlapping_the_split_is_found_as_feed_finds_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first seal after the split claims the entry before it too, MAC'd with its epoch's
    disclosed key (no valid signature). Alone, the helper's part has nothing to resolve it
    against; this process has the seal before the split, so the helper refuses and the
    forgery is found here, as feed() finds it: `inserted`, at its position."""
    monkeypatch.setattr(verifier, "SPLIT_MIN", 2)
    made = merges(monkeypatch)
    rnd = random.Random(3)
    rows = chained(history(rnd, 40, gaps=0), rnd, seal_every=1, disclose_every=30)
    split = verifier._boundary(rows, 20)
    before, at = rows[split - 2], rows[split]
    assert before.chain is not None and at.seal is not None
    forged = replace(at.seal, prev_position=before.position, prev_hash=before.chain.entry_hash,
                     entries=1, signature=bytes(64))
    rows[split] = replace(at, seal=replace(forged, mac=seal_mac(
        epoch_key(KEY.private_bytes_raw(), forged.epoch), forged.mac_input(at.position))))
    given = disclosures(rows)
    assert given and given[0].position > at.position  # the forged seal's epoch is disclosed
    one, many = both(rows, workers=2, disclosures=given)
    assert made == []  # the helper refused its part: nothing to merge
    assert one == many
    assert ("bad_seal", at.position, "inserted") in {
        (f.kind, f.position, f.tamper) for f in one.errors}
