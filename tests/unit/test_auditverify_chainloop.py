"""auditverify._chainloop, feed_many's loop in C (decision 291), against the loop in Python
(Verifier._run_python): the same Verifier state after every history, clean, tampered or made of
hostile objects; the state written back when a row, the row iterator or a seal check raises;
the hand-back to Python past int64; no reference kept or lost. The reports' equality with
feed() is test_auditverify_feed_many.py's, run on both loops."""

from __future__ import annotations

import gc
import hashlib
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from auditverify import verifier
from auditverify.model import ChainRow, EventRow, Row, SealRow
from auditverify.verifier import Verifier
from tests.unit.test_auditverify_feed_many import (
    KEY,
    chained,
    disclosures,
    history,
    tamper,
)

C = verifier._chainloop


def test_the_c_loop_is_built_and_used() -> None:
    """setup.py builds it with pip install -e . (C compiler, Python and OpenSSL 3 headers);
    where it is not built, auditverify still runs, on the Python loop, and this fails here."""
    assert C is not None, "auditverify._chainloop was not built: see setup.py"
    assert verifier.ACCELERATOR is C


def state(v: Verifier) -> tuple[Any, ...]:
    """Everything feed_many's loop reads or writes, comparable."""
    last = v._last_seal
    seal = None if last is None else (last[0], last[1], list(last[2]), last[3], last[4])
    return (v.head, list(v._positions), list(v._chain_positions), list(v._pending), seal,
            v._sealed_through, v._seals, v._by_mac, v._by_signature, v._versions, v._last_at,
            v._seen, v._findings, v._errors)


def run(rows: Iterable[Row], loop: Any, monkeypatch: pytest.MonkeyPatch,
        **options: Any) -> tuple[Verifier, BaseException | None]:
    monkeypatch.setattr(verifier, "ACCELERATOR", loop)
    v = Verifier(public_keys=[KEY.public_key()], **options)
    try:
        v.feed_many(rows)
    except Exception as exc:  # compared, with the state it left
        return v, exc
    return v, None


def agree(rows: list[Row], monkeypatch: pytest.MonkeyPatch, **options: Any) -> Verifier:
    """Run both loops; assert the same state and the same exception (type and text)."""
    c, c_exc = run(rows, C, monkeypatch, **options)
    py, py_exc = run(rows, None, monkeypatch, **options)
    assert repr(c_exc) == repr(py_exc)
    assert state(c) == state(py)
    assert c.finish() == py.finish()
    return c


def flip(data: bytes, rnd: random.Random) -> bytes:
    out = bytearray(data)
    out[rnd.randrange(len(out))] ^= 1 << rnd.randrange(8)
    return bytes(out)


def seal_tamper(rows: list[Row], rnd: random.Random) -> list[Row]:
    """What tamper() does not do: a seal's MAC, epoch, key, coverage or entry hash changed
    alone; a row's prev_hash changed alone; a row ahead of the chain (an event without a
    chain entry at the next position, then that position again)."""
    rows = list(rows)
    sealed = [i for i, r in enumerate(rows) if r.seal is not None]
    for _ in range(rnd.randrange(1, 3)):
        i = rnd.choice(sealed) if sealed else rnd.randrange(len(rows))
        row, seal = rows[i], rows[i].seal
        what = rnd.randrange(8)
        if seal is not None and what == 0 and seal.mac:
            rows[i] = replace(row, seal=replace(seal, mac=flip(seal.mac, rnd)))
        elif seal is not None and what == 1:
            rows[i] = replace(row, seal=replace(seal, epoch=seal.epoch + rnd.choice([-1, 1])))
        elif seal is not None and what == 2:
            rows[i] = replace(row, seal=replace(seal, key_id="k" + seal.key_id[1:]))
        elif seal is not None and what == 3:
            rows[i] = replace(row, seal=replace(seal, prev_position=seal.prev_position - 1))
        elif seal is not None and what == 4:
            rows[i] = replace(row, seal=replace(seal, entries=seal.entries + rnd.choice([-1, 1])))
        elif seal is not None and what == 5:
            rows[i] = replace(row, seal=replace(seal, entry_hash=flip(seal.entry_hash, rnd)))
        elif row.chain is not None and what == 6:
            rows[i] = replace(row, chain=replace(row.chain, prev_hash=flip(row.chain.prev_hash,
                                                                           rnd)))
        elif row.chain is not None and i + 1 < len(rows):
            rows.insert(i + 1, Row(row.position + 1, row.event, None))
    return rows


def made(seed: int) -> tuple[list[Row], dict[str, Any]]:
    rnd = random.Random(seed)
    n = rnd.randrange(5, 80)
    every = rnd.choice([1, 2, 3, 7])
    rows = chained(history(rnd, n), rnd, seal_every=every, disclose_every=rnd.choice([0, 5, 9]))
    options: dict[str, Any] = {"disclosures": disclosures(rows)}
    if seed % 3 == 1:
        rows = tamper(rows, rnd)
    elif seed % 3 == 2:
        rows = seal_tamper(rows, rnd)
    return rows, options


@pytest.mark.parametrize("seed", range(200))
def test_the_c_loop_leaves_the_python_loop_s_state(seed: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rows, options = made(seed)
    v = agree(rows, monkeypatch, **options)
    if seed % 3 == 0:
        assert v.finish().ok
        assert v._by_mac or not options["disclosures"]


def test_a_long_clean_history_every_seal_by_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(7)
    rows = chained(history(rnd, 3000, gaps=0), rnd, seal_every=2, disclose_every=100)
    v = agree(rows, monkeypatch, disclosures=disclosures(rows))
    report = v.finish()
    assert report.ok and report.seals_by_mac > 1400


class Odd(int):
    """An int subclass: Python's loop takes it as an int; the C loop hands the row to feed()."""


class OddStr(str):
    pass


class OddRow(Row):
    """A subclass of Row: its fields are read by getattr, not from the slots."""


def hostile(row: Row, rnd: random.Random) -> Row:
    """One field of the row replaced by something a parser should never make."""
    event, chain, seal = row.event, row.chain, row.seal
    what = rnd.randrange(16)
    if what == 0:
        return replace(row, position=Odd(row.position))
    if what == 1:
        return replace(row, position=float(row.position))  # type: ignore[arg-type]
    if what == 2 and chain is not None:
        return replace(row, chain=replace(chain, entry_hash=bytearray(chain.entry_hash)))  # type: ignore[arg-type]
    if what == 3 and chain is not None:
        return replace(row, chain=replace(chain, prev_hash=bytearray(chain.prev_hash)))  # type: ignore[arg-type]
    if what == 4 and event is not None:
        return replace(row, event=replace(event, originator_version=True))
    if what == 5 and event is not None:
        return replace(row, event=replace(event, originator_id=OddStr(event.originator_id)))
    if what == 6 and event is not None:
        return replace(row, event=replace(event, originator_id="\ud800"))
    if what == 7 and event is not None:
        return replace(row, event=replace(event, state=bytearray(event.state)))  # type: ignore[arg-type]
    if what == 8 and chain is not None:
        return replace(row, chain=replace(chain, recorded_at_us=2**64))
    if what == 9 and event is not None:
        return replace(row, event=replace(event, originator_version=2**63))
    if what == 10 and seal is not None:
        return replace(row, seal=replace(seal, mac=bytearray(seal.mac)))  # type: ignore[arg-type]
    if what == 11 and seal is not None:
        return replace(row, seal=replace(seal, entries=Odd(seal.entries)))
    if what == 12 and seal is not None:
        return replace(row, seal=replace(seal, prev_hash=seal.prev_hash[:31]))
    if what == 13:
        return OddRow(row.position, event, chain, seal)
    if what == 14 and event is not None:
        return replace(row, event=replace(event, topic="é" * rnd.randrange(1, 5)))
    if what == 15 and seal is not None:
        return replace(row, seal=replace(seal, epoch=Odd(seal.epoch)))
    return row


@pytest.mark.parametrize("seed", range(150))
def test_hostile_objects_give_the_python_loop_s_state(seed: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    rows = chained(history(rnd, rnd.randrange(10, 60)), rnd, seal_every=rnd.choice([1, 2, 5]),
                   disclose_every=rnd.choice([0, 6]))
    given = disclosures(rows)
    for _ in range(rnd.randrange(1, 4)):
        i = rnd.randrange(len(rows))
        rows[i] = hostile(rows[i], rnd)
    agree(rows, monkeypatch, disclosures=given)


def test_the_sha256_is_hashlib_s() -> None:
    rnd = random.Random(3)
    for size in [0, 1, 55, 56, 63, 64, 65, 300, 5000, *(rnd.randrange(2000) for _ in range(50))]:
        data = rnd.randbytes(size)
        assert C.sha256(data) == hashlib.sha256(data).digest()


def test_a_state_past_int64_goes_on_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed verification whose head is past int64: the C loop hands back at once."""
    rnd = random.Random(4)
    rows = chained(history(rnd, 20), rnd, seal_every=2)
    far = [replace(r, position=r.position + 2**63) for r in rows]
    agree(far, monkeypatch, start=(2**63, bytes(32), 0), sealed=True)
    calls: list[str] = []
    original = Verifier._run_python

    def counted(self: Verifier, rows: Iterable[Row]) -> None:
        calls.append("python")
        original(self, rows)

    monkeypatch.setattr(Verifier, "_run_python", counted)
    run(far, C, monkeypatch, start=(2**63, bytes(32), 0), sealed=True)
    assert calls == ["python"]


def failing(rows: list[Row], at: int) -> Iterator[Row]:
    for i, row in enumerate(rows):
        if i == at:
            raise ValueError(f"line {i} is not a row")
        yield row


@pytest.mark.parametrize("seed", range(30))
def test_an_iterator_that_raises_leaves_the_same_state(seed: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rows, options = made(seed)
    at = random.Random(seed).randrange(len(rows))
    c, c_exc = run(failing(rows, at), C, monkeypatch, **options)
    py, py_exc = run(failing(rows, at), None, monkeypatch, **options)
    assert isinstance(c_exc, ValueError) and repr(c_exc) == repr(py_exc)
    assert state(c) == state(py)


def raising_on(method: str, nth: int, monkeypatch: pytest.MonkeyPatch) -> None:
    original: Callable[..., None] = getattr(Verifier, method)
    seen = [0]

    def wrapped(self: Verifier, *args: Any) -> None:
        seen[0] += 1
        if seen[0] == nth:
            raise RuntimeError(f"{method} {nth}")
        original(self, *args)

    monkeypatch.setattr(Verifier, method, wrapped)


@pytest.mark.parametrize("method", ["feed", "_check_seal"])
@pytest.mark.parametrize("seed", range(20))
def test_a_check_that_raises_leaves_the_same_state(method: str, seed: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    rows = chained(history(rnd, 40), rnd, seal_every=3)  # no disclosures: every seal checked
    if method == "feed":
        rows = tamper(rows, rnd)
    nth = rnd.randrange(1, 4)
    raising_on(method, nth, monkeypatch)
    c, c_exc = run(rows, C, monkeypatch)
    monkeypatch.undo()
    raising_on(method, nth, monkeypatch)
    py, py_exc = run(rows, None, monkeypatch)
    assert repr(c_exc) == repr(py_exc)
    assert state(c) == state(py)
    if method == "_check_seal":  # every seal of the clean history goes there: the nth raised
        assert isinstance(c_exc, RuntimeError)


def test_no_reference_is_kept_or_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every object of the rows has the same reference count after the C loop's Verifier is
    gone as before it was made (the loop takes and releases references per row)."""
    rnd = random.Random(5)
    far = [(position + 10**6, event) for position, event in history(rnd, 400)]
    rows = chained(far, rnd, seal_every=2, disclose_every=20)  # positions: ints of their own
    given = disclosures(rows)
    rows = seal_tamper(tamper(rows, rnd), rnd)
    objects = [o for r in rows for o in (r, r.position, r.event, r.chain, r.seal, *(
        (r.event.originator_id, r.event.state) if r.event else ()), *(
        (r.chain.entry_hash, r.chain.prev_hash) if r.chain else ()), *(
        (r.seal.mac, r.seal.key_id) if r.seal else ())) if o is not None]
    gc.collect()
    before = [sys.getrefcount(o) for o in objects]
    for _ in range(3):
        v, exc = run(rows, C, monkeypatch, disclosures=given)
        assert exc is None and v._by_mac
        del v
    gc.collect()
    assert [sys.getrefcount(o) for o in objects] == before


def test_a_row_of_another_class_is_read_by_its_attributes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows of subclasses (no slot read) are checked as fast as Row's by the same rules."""
    rnd = random.Random(6)
    rows = chained(history(rnd, 50, gaps=0), rnd, seal_every=2, disclose_every=10)
    given = disclosures(rows)

    class MyEvent(EventRow):
        pass

    class MyChain(ChainRow):
        pass

    class MySeal(SealRow):
        pass

    odd = [OddRow(r.position, MyEvent(**vars_of(r.event)), MyChain(**vars_of(r.chain)),
                  None if r.seal is None else MySeal(**vars_of(r.seal))) for r in rows]
    v = agree(odd, monkeypatch, disclosures=given)
    assert v.finish().ok and v._by_mac > 15
    # and the C loop checked them itself: feed() was never called
    monkeypatch.setattr(Verifier, "feed", lambda self, row: pytest.fail(f"feed({row})"))
    run(odd, C, monkeypatch, disclosures=given)


def vars_of(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}
