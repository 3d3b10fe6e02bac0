"""The verification rules, applied in one pass over the history in position order.

Longer than the house's ~400 lines on purpose: feed(), feed_many's fast loop, the seal and
write-epoch checks and the end-of-history checks all read and write one Verifier's state (the
head, the pending seal coverage, the versions, the findings), and the fast loop must stay
finding-for-finding equal to feed(); splitting them would spread that state over modules. So do
check_part and _merge (decisions 288, 290), which set that state up in the forked helper and
take the helper's back; starting the helper process and its answer's shape are
auditverify/forked.py. feed_many's loop also exists in C (auditverify/_chainloop.c, decision
291): _run_python row for row, the reference it is tested against and the fallback where it
is not built.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import os
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditverify.encoding import (
    CHAIN_FORMATS,
    CHAIN_HEAD,
    GENESIS,
    HASH_SIZE,
    SEAL_MAC_PACK,
    chain_pack,
    entry_hash,
    seal_mac_state,
)
from auditverify.forked import Helper, Part
from auditverify.keys import key_id, verify_signature
from auditverify.model import (
    ChainRow,
    Checkpoint,
    Disclosure,
    EventRow,
    Finding,
    Receipt,
    Report,
    Row,
    SealRow,
    Severity,
)

try:
    from auditverify import _chainloop
except ImportError:  # not built here (setup.py: it is optional): the Python loop
    _chainloop = None  # type: ignore[assignment]
else:
    _chainloop.configure(CHAIN_HEAD, Row, EventRow, ChainRow, SealRow)

#: feed_many's loop in C (auditverify/_chainloop.c, decision 291), or None for the Python loop
#: (Verifier._run_python): None where the extension was not built or AUDITVERIFY_PURE=1
ACCELERATOR: Any = None if os.environ.get("AUDITVERIFY_PURE") == "1" else _chainloop

DEFAULT_MAX_FINDINGS = 1000
#: feed_many with workers=2: the fewest rows worth forking a helper for, and about the share
#: of them this process checks while the helper checks the rest
SPLIT_MIN = 20_000
SPLIT_SHARE = 0.5
#: how far past SPLIT_SHARE the split may move to land after a seal
SPLIT_REACH = 1_000
#: feed_many with workers=2 on a stream (any iterable but a list): the rows are read this many
#: at a time, and each batch is split as a list is (a bundle is split once, each process
#: reading its half of the file: auditverify/bundle.py, decision 290)
STREAM_CHUNK = 50_000
#: below any position: `top` in feed_many's loop before the first row
_BEFORE_ALL = -(1 << 64)
#: Errors found in the rows themselves; they explain a disagreeing anchor precisely.
ROW_ERRORS = frozenset({
    "order", "unchained_event", "missing_event", "hash_mismatch", "altered_entry",
    "broken_link", "missing_row", "unexpected_row", "version_discontinuity",
})


@dataclass(frozen=True)
class Anchor:
    """A position whose entry hash (and maybe chain count) is known from outside the history."""

    position: int
    entry_hash: bytes
    count: int | None
    source: str
    is_checkpoint: bool



@dataclass(frozen=True)
class Epoch:
    """A disclosed write epoch: its seals lie in (after, through], MAC'd under the key whose
    keyed BLAKE2b state is `mac` by the signing key `key_id` (decision 287)."""

    after: int
    through: int
    mac: Any
    key_id: str

    def authenticates(self, p: int, seal: SealRow) -> bool:
        """Whether the seal at p lies in this epoch and its MAC is this epoch key's."""
        if not self.after < p <= self.through:
            return False
        try:
            data = seal.mac_input(p)
        except ValueError:
            return False
        state = self.mac.copy()
        state.update(data)
        return hmac.compare_digest(state.digest(), seal.mac)



def keyring(keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    """Index the auditor's public keys by key id."""
    return {key_id(key): key for key in keys}


def _boundary(rows: list[Row], at: int) -> int:
    """Where to split a row list for the helper: after the first sealed row from `at` (the
    end of a write transaction, so the helper's part starts with nothing pending), or
    len(rows) if none is within SPLIT_REACH rows."""
    for index in range(max(at, 1), min(len(rows), at + SPLIT_REACH)):
        if rows[index - 1].seal is not None:
            return index
    return len(rows)


class Verifier:
    """Feed rows in position order, then call finish() for the report.

    `start` resumes after a trusted point (position, entry hash, chain count), for checking
    only the rows added since a checkpoint; version continuity is then not checked. `sealed`
    says that the history before `start` already had write seals (so every row after it must
    be sealed).

    Write seals (issue 18, part 1): once the history has a seal, every chain entry must be
    covered by one, signed by a key the auditor gave. A seal covers the entries after the
    head its transaction extended (its prev_position) up to its own position; entries between
    the previous seal and that head were appended by someone without the service's key (e.g.
    the INSERT-only role) and are reported one by one as `unsealed_row`. Entries before the
    first seal (written before sealing was turned on) are one `unsealed_history` warning.

    Write epochs (decision 287): a seal that names a write epoch whose key the service has
    disclosed (`disclosures`, each signed by a key the auditor gave) is authenticated by its
    MAC under that key, a hash, instead of its signature; it must lie in the epoch, after the
    previous disclosure's position and at or before its own (a seal of a disclosed epoch
    after it was made with a key that was public by then). Each disclosure also pins the
    chain's head and count at its position, as a checkpoint does. Two seals that claim the
    same entries (only a MAC made with a disclosed key can add one) are told apart by their
    signatures. `check_signatures` checks every seal's signature instead, as before epochs.
    """

    def __init__(
        self,
        *,
        public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey] = (),
        checkpoints: Sequence[Checkpoint] = (),
        trusted_checkpoints: Sequence[Checkpoint] = (),
        receipts: Sequence[Receipt] = (),
        start: tuple[int, bytes, int] | None = None,
        sealed: bool = False,
        max_findings: int = DEFAULT_MAX_FINDINGS,
        workers: int = 1,
        disclosures: Sequence[Disclosure] = (),
        check_signatures: bool = False,
    ) -> None:
        self._keys = dict(public_keys) if isinstance(public_keys, Mapping) else keyring(
            public_keys)
        self._check_signatures = check_signatures
        self._checkpoints = tuple(sorted(checkpoints, key=lambda c: c.seq))
        self._trusted = tuple(sorted(trusted_checkpoints, key=lambda c: c.seq))
        self._receipts = tuple(receipts)
        self._needed = {c.position for c in (*self._checkpoints, *self._trusted)}
        self._needed |= {r.position for r in self._receipts}
        self._seen: dict[int, tuple[bytes, int]] = {}
        self._positions = array("q")
        self._chain_positions = array("q")  # positions with a chain entry, for counts
        self._check_versions = start is None
        position, head, count = start or (0, GENESIS, 0)
        self._start_count = count
        self._seals = 1 if sealed else 0  # valid seals seen (1: resumed after sealed rows)
        self._sealed_through = position if sealed else 0
        self._pending = array("q")  # chain entries no valid seal covers yet
        self._legacy: list[int] = []  # (first, last) unsealed entries before the first seal
        self._legacy_count = 0
        self._last_chain_position = position
        self._last_entry = head
        self._chain_count = count
        self._versions: dict[str, int] = {}
        self._last_at: dict[str, int] = {}  # each aggregate's newest position
        self._gap_starts = array("q")  # where the chain attests unused positions
        self._holes = array("q")  # rows the chain names that are not in the history
        # versions an aggregate skipped -> the index of the finding that reported the skip
        # (empty in a clean history): a skipped version that turns up later was reordered
        self._skipped: dict[tuple[str, int], int] = {}
        self._findings: list[Finding] = []
        self._omitted = 0
        self._errors = 0
        self._first_bad: int | None = None
        self._error_positions: list[int] = []
        self._max_findings = max_findings
        self._workers = workers
        # while feed_many reads a stream ahead: the rows read so far, and the add() calls the
        # stream's producer made meanwhile (how many rows it had yielded, the call), replayed
        # in order between the rows (a bundle reports an unreadable line that way)
        self._reading: list[Row] | None = None
        self._held: list[tuple[int, tuple[str, int | None, str, Severity, str]]] = []
        # the last valid seal: (its position, the seal, the entries it took, the position
        # the seals before it had covered through, whether its MAC authenticated it)
        self._last_seal: tuple[int, SealRow, array[int], int, bool] | None = None
        self._by_mac = self._by_signature = 0
        self._epochs: dict[int, Epoch] = {}
        self._disclosed: list[Disclosure] = []
        self._take_disclosures(disclosures, after=position)

    def _take_disclosures(self, disclosures: Sequence[Disclosure], *, after: int) -> None:
        """Keep each disclosure signed by a key the auditor gave, in epoch and position order
        (the others are findings); those after `after` also pin the chain like anchors."""
        through, last = 0, 0
        for d in sorted(disclosures, key=lambda d: (d.epoch, d.position)):
            what = f"the key disclosure of write epoch {d.epoch}"
            key = self._keys.get(d.key_id)
            if key is None:
                self.add("unknown_key", d.position,
                         f"{what} is signed by key {d.key_id}, not a key the auditor gave")
            elif not verify_signature(key, d.signature, d.payload()):
                self.add("bad_disclosure", d.position, f"{what} has an invalid signature")
            elif d.epoch == last:
                self.add("bad_disclosure", d.position,
                         f"{what} is the second one for that epoch", tamper="inserted")
            elif d.position < through:
                self.add("bad_disclosure", d.position,
                         f"{what} ends it at position {d.position}, before epoch {last} "
                         f"ended ({through})", tamper="reordered")
            else:
                if last and d.epoch > last + 1:
                    self.add("bad_disclosure", d.position,
                             f"{what} follows that of epoch {last}: {d.epoch - last - 1} "
                             "disclosure(s) deleted (their seals are checked by signature)",
                             "warning", tamper="deleted")
                self._epochs[d.epoch] = Epoch(through, d.position, seal_mac_state(d.epoch_key),
                                              d.key_id)
                if d.position > after:
                    self._disclosed.append(d)
                    self._needed.add(d.position)
                through, last = d.position, d.epoch

    # --- findings ----------------------------------------------------------------------

    def add(self, kind: str, position: int | None, detail: str,
            severity: Severity = "error", tamper: str = "") -> None:
        """Record a finding (errors also move the first bad position)."""
        if self._reading is not None:  # feed_many is reading ahead: in order, later
            self._held.append((len(self._reading), (kind, position, detail, severity, tamper)))
            return
        self._errors += severity == "error"
        if severity == "error" and position is not None and (
                self._first_bad is None or position < self._first_bad):
            self._first_bad = position
        if len(self._findings) >= self._max_findings:
            self._omitted += 1
            return
        self._findings.append(Finding(kind, position, detail, severity, tamper))

    @property
    def has_errors(self) -> bool:
        """Whether any error was found so far."""
        return self._errors > 0

    @property
    def head(self) -> tuple[int, bytes, int]:
        """The last chain entry seen: (position, entry hash, chain entries so far)."""
        return self._last_chain_position, self._last_entry, self._chain_count

    # --- rows --------------------------------------------------------------------------

    def feed(self, row: Row) -> None:
        """Check one position: presence, hash, linkage and the aggregate's version."""
        p = row.position
        if self._positions and p <= self._positions[-1]:
            self.add("order", p, f"position {p} follows position {self._positions[-1]}")
            return
        self._positions.append(p)
        event, chain = row.event, row.chain
        if chain is None:
            if event is not None:
                self.add("unchained_event", p, "an event without a hash-chain entry")
        else:
            hash_ok = False
            if event is None:
                self._holes.append(p)
                self.add("missing_event", p, "a hash-chain entry whose event is missing")
            else:
                expected = entry_hash(
                    prev_hash=chain.prev_hash,
                    prev_position=chain.prev_position,
                    position=p,
                    originator_id=event.originator_id,
                    originator_version=event.originator_version,
                    topic=event.topic,
                    state=event.state,
                    recorded_at_us=chain.recorded_at_us,
                )
                hash_ok = expected == chain.entry_hash
                if not hash_ok:
                    self.add("hash_mismatch", p,
                             "the stored entry hash does not match the event's stored bytes")
            self._check_link(p, chain.prev_position, chain.prev_hash, hash_ok=hash_ok)
            self._chain_count += 1
            self._chain_positions.append(p)
            self._pending.append(p)
            if row.seal is not None:
                self._check_seal(p, row.seal, chain.entry_hash)
            self._last_chain_position = p
            self._last_entry = chain.entry_hash
            if p in self._needed:
                self._seen[p] = (chain.entry_hash, self._chain_count)
        if event is not None and self._check_versions:
            self._check_version(p, event.originator_id, event.originator_version)

    def feed_many(self, rows: Iterable[Row]) -> None:
        """feed() each row, in order, with the same checks and the same findings.

        The common row (the next position, the next chain entry linked to the previous one,
        its hash matching its stored fields, the aggregate's next version) is checked here
        without feed()'s per-row method calls; every other row (anything feed() would report,
        including a gap) goes through feed() itself, before this loop has changed anything.
        The common seal (its epoch's MAC, tiling on the last seal) is checked here too; any
        other goes through _check_seal as in feed().

        With `workers=2` (given to the Verifier) and a list of at least SPLIT_MIN rows, a
        forked helper process checks the list's part after the first seal from SPLIT_SHARE
        of it entirely, as the continuation of a clean history, while this process checks
        the first part (decision 288). The helper answers with the state its part leaves
        (forked.Part), or None if it found anything; this process takes that state only if
        its own at the boundary is what the helper assumed (the head, nothing pending, each
        aggregate's version), and otherwise checks the part itself, so every finding of a
        tampered history is made here, in order, as feed() makes it. Any other iterable (a
        stream of rows) is read STREAM_CHUNK rows at a time and each batch split so
        (decision 213).
        """
        if self._workers > 1 and isinstance(rows, list):
            self._split(rows, [])
        elif self._workers > 1:
            self._stream(iter(rows))
        else:
            self._run(rows)

    def _stream(self, rows: Iterator[Row]) -> None:
        """feed_many with workers=2 on a stream: read STREAM_CHUNK rows at a time and _split
        each batch; what the stream's producer add()s while it is read is held and replayed
        where it was said, between the same rows as feed() would see it. A stream that
        raises has the rows it gave fed first, then the error raised, as feed() one by one
        would."""
        while True:
            batch: list[Row] = []
            self._reading, self._held = batch, []
            try:
                for row in rows:
                    batch.append(row)
                    if len(batch) >= STREAM_CHUNK:
                        break
            except BaseException:
                self._reading = None
                self._split(batch, self._held)
                raise
            self._reading = None
            self._split(batch, self._held)
            if len(batch) < STREAM_CHUNK:
                return

    def _split(self, rows: list[Row],
               held: list[tuple[int, tuple[str, int | None, str, Severity, str]]]) -> None:
        """A list through the helper (from SPLIT_MIN rows: the part after a seal near
        SPLIT_SHARE of it, when no held add() falls in that part) and this process, with the
        held add() calls replayed before the row each was said before."""
        split, helper = len(rows), None
        if len(rows) >= SPLIT_MIN:
            split = _boundary(rows, int(len(rows) * SPLIT_SHARE))
            if split < len(rows) and all(mark <= split for mark, _ in held):
                helper = Helper.start(rows[split:], self.check_part)
            if helper is None:
                split = len(rows)
        try:
            at = 0
            for mark, call in held:
                if mark > at:
                    self._run(rows[at:mark])
                    at = mark
                self.add(*call)
            if at < split:
                self._run(rows[at:split])
            if helper is not None:
                part = helper.result()
                if part is None or not self._merge(part):
                    self._run(rows[split:])
        finally:
            if helper is not None:
                helper.stop()

    def check_part(self, rows: list[Row]) -> Part | None:
        """In a helper process (a fork: this Verifier is its own copy, whose state this
        replaces): check rows as the continuation of a clean history whose head is where
        their first row's chain entry says; the Part they leave, or None if anything was
        found. The rows are feed_many's list's part, or a bundle's second half read by the
        helper itself (decision 290)."""
        first = rows[0].chain
        if first is None:
            return None
        start, head = first.prev_position, first.prev_hash
        firsts: dict[str, int] = {}
        if self._check_versions:
            for row in rows:
                if row.event is not None and row.event.originator_id not in firsts:
                    firsts[row.event.originator_id] = row.event.originator_version
        self._findings, self._errors, self._omitted = [], 0, 0
        self._positions, self._chain_positions = array("q"), array("q")
        self._pending, self._gap_starts, self._holes = array("q"), array("q"), array("q")
        self._last_chain_position, self._last_entry, self._chain_count = start, head, 0
        self._seals, self._sealed_through, self._last_seal = 1, start, None
        self._by_mac = self._by_signature = self._legacy_count = 0
        self._seen, self._skipped = {}, {}
        self._versions = {oid: version - 1 for oid, version in firsts.items()}
        self._last_at = {}
        first_seal = next((row.seal for row in rows if row.seal is not None), None)
        if first_seal is not None and first_seal.prev_position < start:
            return None  # it overlaps the seals before the part: the verifier resolves it
        self._run(rows)
        positions = self._positions
        if (self._findings or self._errors or self._omitted or not positions
                or positions[0] != start + 1 or positions[-1] != start + len(positions)
                or len(self._chain_positions) != len(positions)):
            return None
        return Part(start, head, self._last_entry, self._chain_count, self._pending,
                    self._sealed_through, self._seals - 1, self._by_mac,
                    self._by_signature, self._last_seal, self._seen, firsts, self._versions,
                    self._last_at)

    def take(self, part: Part) -> bool:
        """_merge: take a helper's Part if this verifier's state is what it assumed."""
        return self._merge(part)

    def _merge(self, part: Part) -> bool:
        """Take the helper's Part if this verifier's state is what it assumed: the head at
        its start, nothing after it, every entry sealed, each aggregate's version just
        before the part's first. False (nothing changed): check the part here."""
        if not (self._last_chain_position == part.start and self._last_entry == part.head
                and self._positions and self._positions[-1] == part.start
                and self._seals > 0 and not self._pending
                and self._sealed_through == part.start):
            return False
        if self._check_versions:
            version_of = self._versions.get
            if any(version_of(oid, 0) + 1 != version for oid, version in part.firsts.items()):
                return False
            self._versions.update(part.versions)
            self._last_at.update(part.last_at)
        last = part.start + part.count
        span = range(part.start + 1, last + 1)
        self._positions.extend(span)
        self._chain_positions.extend(span)
        count = self._chain_count
        for position, (entry, at) in part.seen.items():
            self._seen[position] = (entry, count + at)
        self._last_chain_position, self._last_entry = last, part.entry
        self._chain_count = count + part.count
        self._pending.extend(part.pending)
        if part.seals:
            self._sealed_through, self._last_seal = part.sealed_through, part.last_seal
            self._seals += part.seals
            self._by_mac += part.by_mac
            self._by_signature += part.by_signature
        return True

    def _run(self, rows: Iterable[Row]) -> None:
        """feed_many's loop: ACCELERATOR's (decision 291), the same loop in C, or this one's.
        The C loop hands back to this one, with the same iterator and the state written
        back, if the head or a count is ever not an int64."""
        loop = ACCELERATOR
        if loop is not None:
            rows = iter(rows)
            epochs = {} if self._check_signatures else self._epochs
            if loop.run(self, rows, self.feed, self._check_seal, epochs, self._check_versions):
                return
        self._run_python(rows)

    def _run_python(self, rows: Iterable[Row]) -> None:
        """feed_many's loop in Python.

        Lean on purpose (decision 210): every attribute and method it uses per row is a local,
        the entry's bytes are framed by one cached struct pack (encoding.chain_pack, the bytes
        chain_hash frames) and hashed here, `top` is the last position fed and `framable` says
        the head's hash is HASH_SIZE bytes (what chain_pack frames; any other head goes
        through feed())."""
        positions, chain_positions = self._positions, self._chain_positions
        pending, needed, seen = self._pending, self._needed, self._seen
        versions, last_at = self._versions, self._last_at
        add_position, add_chain, add_pending = (positions.append, chain_positions.append,
                                                pending.append)
        version_of, pack_for, sha256 = versions.get, CHAIN_FORMATS.get, hashlib.sha256
        check_versions, check_seal, feed = self._check_versions, self._check_seal, self.feed
        epochs: dict[int, Epoch] = {} if self._check_signatures else self._epochs
        epoch_of = epochs.get
        mac_pack = SEAL_MAC_PACK
        last, entry, count = self._last_chain_position, self._last_entry, self._chain_count
        top = positions[-1] if positions else _BEFORE_ALL
        framable = isinstance(entry, bytes) and len(entry) == HASH_SIZE
        try:
            for row in rows:
                p, event, chain = row.position, row.event, row.chain
                slow = True
                if (p == last + 1 and p > top and framable and chain is not None
                        and event is not None and chain.prev_position == last
                        and chain.prev_hash == entry):
                    oid, version = event.originator_id, event.originator_version
                    try:
                        if not check_versions or version == version_of(oid, 0) + 1:
                            identity, name, state = (oid.encode("utf-8"),
                                                     event.topic.encode("utf-8"), event.state)
                            sizes = (len(identity), len(name), len(state))
                            pack = pack_for(sizes) or chain_pack(*sizes)
                            slow = sha256(pack(
                                CHAIN_HEAD, entry, 8, last, 8, p, sizes[0], identity, 8,
                                version, sizes[1], name, sizes[2], state, 8,
                                chain.recorded_at_us)).digest() != chain.entry_hash
                    except Exception:  # feed() raises it, with feed()'s state
                        slow = True
                if slow:
                    self._last_chain_position, self._last_entry = last, entry
                    self._chain_count = count
                    feed(row)
                    last, entry = self._last_chain_position, self._last_entry
                    count = self._chain_count
                    top = positions[-1] if positions else _BEFORE_ALL
                    framable = isinstance(entry, bytes) and len(entry) == HASH_SIZE
                    continue
                assert chain is not None  # for mypy: not slow, so both are there
                add_position(p)
                count += 1
                add_chain(p)
                add_pending(p)
                entry = chain.entry_hash
                seal = row.seal
                if seal is not None:
                    # the common seal (decision 288): this epoch's MAC, tiling on the last
                    # seal, covering exactly the pending entries; anything else, _check_seal
                    epoch = epoch_of(seal.epoch) if seal.epoch else None
                    through = self._sealed_through
                    try:
                        common = (epoch is not None and epoch.key_id == seal.key_id
                                  and epoch.after < p <= epoch.through
                                  and seal.entry_hash == entry
                                  and seal.prev_position == through
                                  and seal.entries == len(pending)
                                  and len(seal.prev_hash) == HASH_SIZE)
                        if common and epoch is not None:
                            state = epoch.mac.copy()
                            state.update(mac_pack(through, p, seal.prev_hash, entry,
                                                  seal.entries))
                            # `==`, not compare_digest: both sides are public data here
                            common = state.digest() == seal.mac
                    except Exception:  # struct.error: _check_seal says what it is
                        common = False
                    if common:
                        self._last_seal = (p, seal, pending[:], through, True)
                        self._by_mac += 1
                        self._seals += 1
                        self._sealed_through = p
                        del pending[:]
                    else:
                        check_seal(p, seal, entry)
                last = top = p
                if p in needed:
                    seen[p] = (entry, count)
                if check_versions:
                    last_at[oid] = p
                    versions[oid] = version
        finally:
            self._last_chain_position, self._last_entry = last, entry
            self._chain_count = count

    def _check_link(self, p: int, prev_position: int, prev_hash: bytes, *,
                    hash_ok: bool) -> None:
        last = self._last_chain_position
        if prev_position == last:
            if prev_hash == self._last_entry:
                if p > last + 1:
                    self._gap_starts.append(last + 1)
                    self.add("gap", last + 1,
                             f"positions {last + 1}..{p - 1} unused (attested by the chain)",
                             "info")
            elif hash_ok and last > 0:
                self.add("altered_entry", last,
                         f"position {p} attests a different entry hash for position {last}")
            else:
                self.add("broken_link", p,
                         f"the previous-hash does not match the entry hash of position {last}")
        elif prev_position > last:
            if prev_position < p:
                self._holes.append(prev_position)
                self.add("missing_row", prev_position,
                         f"position {p} names position {prev_position} as its predecessor, "
                         "which is not in the history")
            else:
                self.add("broken_link", p, f"names a predecessor {prev_position} not before it")
        else:
            index = bisect.bisect_right(self._positions, prev_position)
            intruder = self._positions[index] if index < len(self._positions) - 1 else p
            self.add("unexpected_row", intruder,
                     f"position {p} names position {prev_position} as its predecessor, so "
                     f"the rows {prev_position + 1}..{p - 1} are not part of the chain")

    def _mac_epoch(self, seal: SealRow) -> Epoch | None:
        """The disclosed epoch whose key authenticates this seal's MAC, if any."""
        if not seal.epoch or self._check_signatures:
            return None
        epoch = self._epochs.get(seal.epoch)
        return epoch if epoch is not None and epoch.key_id == seal.key_id else None

    def _signed_seal(self, p: int, seal: SealRow) -> bool:
        key = self._keys.get(seal.key_id)
        return key is not None and verify_signature(key, seal.signature, seal.payload(p))

    def _check_seal(self, p: int, seal: SealRow, entry: bytes) -> None:
        key = self._keys.get(seal.key_id)
        if key is None:
            self.add("bad_seal", p, f"the write seal at {p} is signed by key {seal.key_id}, "
                     "not a key the auditor gave")
            return
        epoch = self._mac_epoch(seal)
        if not (epoch.authenticates(p, seal) if epoch is not None
                else self._signed_seal(p, seal)):
            if epoch is None:
                self.add("bad_seal", p, f"the write seal at {p} has an invalid signature")
            elif not epoch.after < p <= epoch.through:
                self.add("bad_seal", p, f"the write seal at {p} names write epoch "
                         f"{seal.epoch}, which ran from position {epoch.after + 1} to "
                         f"{epoch.through}, when its key was disclosed: it was made with a "
                         "key that was public by then", tamper="unauthenticated")
            else:
                self.add("bad_seal", p, f"the write seal at {p} has a MAC that the disclosed "
                         f"key of write epoch {seal.epoch} does not give")
            return
        if seal.entry_hash != entry:
            self.add("bad_seal", p, f"the write seal at {p} signs another entry hash than "
                     "the chain holds there (the entry was re-computed)", tamper="altered")
            return
        covered_from = seal.prev_position  # entries after it are the seal's transaction
        if covered_from < self._sealed_through and self._last_seal is not None and (
                not self._overlap_resolved(p, seal)):
            return
        split = bisect.bisect_right(self._pending, covered_from)  # pending is ascending
        unsealed = self._pending[:split]
        if unsealed:
            if self._seals == 0:
                self._legacy_count += len(unsealed)
                self._legacy = [self._legacy[0] if self._legacy else unsealed[0], unsealed[-1]]
            else:
                for q in unsealed:
                    self.add("unsealed_row", q,
                             f"the chain entry at {q} is not covered by a write seal: the "
                             f"seal at {p} extends position {covered_from}, the one before "
                             f"ended at {self._sealed_through}; it was appended without the "
                             "service's key (e.g. by a role that can only INSERT)")
        covered = len(self._pending) - split
        if covered != seal.entries:
            self.add("bad_seal", p, f"the write seal at {p} covers {seal.entries} entries "
                     f"after {covered_from}; the history holds {covered} there",
                     tamper="inserted" if covered > seal.entries else "deleted")
        self._last_seal = (p, seal, self._pending[split:], self._sealed_through,
                           epoch is not None)
        if epoch is not None:
            self._by_mac += 1
        else:
            self._by_signature += 1
        del self._pending[:]  # emptied in place: feed_many holds it
        self._seals += 1
        self._sealed_through = p

    def _overlap_resolved(self, p: int, seal: SealRow) -> bool:
        """The seal at p claims entries the last seal took. The service writes one seal per
        transaction, so one of the two was added by someone holding only a disclosed epoch
        key: the one whose signature fails. False (this seal is the forgery, reported) or
        True (the last one was: reported, and its entries given back to this one)."""
        assert self._last_seal is not None
        last_p, last_seal, took, through, by_mac = self._last_seal
        if not self._signed_seal(p, seal):
            self.add("bad_seal", p, f"the write seal at {p} claims entries after "
                     f"{seal.prev_position} that the seal at {last_p} covers, and its signature"
                     " is invalid: it was added with a disclosed epoch key",
                     tamper="inserted")
            return False
        if not self._signed_seal(last_p, last_seal):
            self.add("bad_seal", last_p, f"the write seal at {last_p} claims entries after "
                     f"{last_seal.prev_position} that the seal at {p} covers, and its "
                     "signature is invalid: it was added with a disclosed epoch key",
                     tamper="inserted")
            self._pending[0:0] = took  # in place: feed_many holds it
            self._sealed_through, self._seals = through, self._seals - 1
            if by_mac:
                self._by_mac -= 1
            else:
                self._by_signature -= 1
            self._last_seal = None
        return True

    def _finish_seals(self) -> None:
        if self._legacy_count:
            first, last = self._legacy
            self.add("unsealed_history", first,
                     f"{self._legacy_count} chain entr(y/ies) at positions {first}..{last} "
                     "were written before write seals began; only checkpoints vouch for them",
                     "warning")
        if self._seals == 0:
            if self._pending:
                self.add("unsealed_history", self._pending[0],
                         f"no write seal in the history: its {len(self._pending)} chain "
                         "entries were written without the service's writer key (sealing is "
                         "off); only checkpoints vouch for them", "warning")
            return
        for q in self._pending:
            self.add("unsealed_row", q,
                     f"the chain entry at {q} is after the last write seal (at "
                     f"{self._sealed_through}): appended without the service's key (e.g. by "
                     "a role that can only INSERT)")

    def _check_version(self, p: int, originator_id: str, version: int) -> None:
        expected = self._versions.get(originator_id, 0) + 1
        previous_at = self._last_at.get(originator_id, 0)
        self._last_at[originator_id] = p
        if version > expected:
            missing = version - expected
            if len(self._findings) < self._max_findings:
                for skipped in range(expected, version):
                    self._skipped[(originator_id, skipped)] = len(self._findings)
            # where the row went: a missing row the chain names since the aggregate's
            # previous event, else (its successors re-chained) the nearest gap the new chain
            # attests, else here
            where = p
            for marks in (self._holes, self._gap_starts):
                index = bisect.bisect_left(marks, p) - 1
                if index >= 0 and marks[index] > previous_at:
                    where = marks[index]
                    break
            self.add("version_discontinuity", where,
                     f"aggregate {originator_id} has version {version} at position {p} where "
                     f"{expected} was due: {missing} of its event(s) deleted between positions "
                     f"{previous_at} and {p}"
                     + (f", likely at {where} (a gap)" if where != p else ""),
                     tamper="deleted")
        elif version < expected:
            index = self._skipped.pop((originator_id, version), -1)
            if index < 0:
                self.add("version_discontinuity", p,
                         f"aggregate {originator_id} has version {version} where {expected} "
                         "was due: a second event at a version it already had (inserted)",
                         tamper="inserted")
            else:
                earlier = self._findings[index]
                self._findings[index] = replace(
                    earlier, tamper="reordered",
                    detail=f"{earlier.detail.split(':')[0]}: its version {version} comes "
                           f"later, at position {p} (reordered)")
                self.add("version_discontinuity", p,
                         f"aggregate {originator_id} has version {version} after version "
                         f"{expected - 1}, at {earlier.position}: its events were reordered",
                         tamper="reordered")
                return  # the aggregate's newest version stays the higher one
        self._versions[originator_id] = version

    # --- anchors -----------------------------------------------------------------------

    def _valid_checkpoints(self) -> list[Checkpoint]:
        valid: list[Checkpoint] = []
        prev_digest, prev_seq, prev_position = GENESIS, 0, 0
        for c in self._checkpoints:
            if c.seq > prev_seq + 1:
                self.add("checkpoint_sequence", c.position,
                         f"checkpoint {c.seq} follows checkpoint {prev_seq}: "
                         f"{c.seq - prev_seq - 1} checkpoint(s) deleted", tamper="deleted")
            elif c.seq != prev_seq + 1:
                self.add("checkpoint_sequence", c.position,
                         f"checkpoint {c.seq} follows checkpoint {prev_seq}", tamper="inserted")
            if c.prev_hash != prev_digest:
                self.add("checkpoint_link", c.position,
                         f"checkpoint {c.seq} does not name checkpoint {prev_seq} as predecessor")
            if c.position < prev_position:
                self.add("checkpoint_order", c.position,
                         f"checkpoint {c.seq} is at a position before its predecessor's")
            if self._signed(c, "checkpoint"):
                valid.append(c)
            prev_digest, prev_seq, prev_position = c.digest(), c.seq, c.position
        return valid

    def _signed(self, c: Checkpoint, what: str) -> bool:
        key = self._keys.get(c.key_id)
        if key is None:
            self.add("unknown_key", c.position,
                     f"{what} {c.seq} is signed by key {c.key_id}, not a key the auditor gave")
            return False
        if not verify_signature(key, c.signature, c.payload()):
            self.add("bad_signature", c.position, f"{what} {c.seq} has an invalid signature")
            return False
        return True

    def _trusted_checkpoints(self) -> list[Checkpoint]:
        served = {c.seq: c for c in self._checkpoints}
        valid: list[Checkpoint] = []
        for c in self._trusted:
            if not self._signed(c, "kept checkpoint"):
                continue
            valid.append(c)
            other = served.get(c.seq)
            if other is None:
                self.add("checkpoint_missing", c.position,
                         f"checkpoint {c.seq} that the auditor kept is not in the history")
            elif other.digest() != c.digest():
                self.add("checkpoint_replaced", c.position,
                         f"checkpoint {c.seq} differs from the one the auditor kept")
        return valid

    def _after(self, position: int) -> int:
        """The first position in the history after `position` (or the next integer)."""
        index = bisect.bisect_right(self._positions, position)
        return self._positions[index] if index < len(self._positions) else position + 1

    def count_at(self, position: int) -> int:
        """How many chain entries the history holds at or before `position`."""
        return self._start_count + bisect.bisect_right(self._chain_positions, position)

    def _count_tamper(self, a: Anchor) -> tuple[str, str]:
        """What a disagreeing anchor says happened, from the entries it counts (a receipt
        counts none: then only that the history forked from it)."""
        if a.count is None:
            return "forked", ""
        held = self.count_at(a.position)
        if held != a.count:
            what = "deleted" if held < a.count else "inserted"
            return what, (f"; {abs(a.count - held)} chain entry(ies) {what}: {a.source} counts "
                          f"{a.count} through position {a.position}, the history holds {held}")
        return "altered", (f"; as many entries as {a.source} counts ({a.count}), so an entry "
                           "was altered")

    def _explained(self, low: int, high: int) -> bool:
        """Whether an error was already found at a position in (low, high]."""
        index = bisect.bisect_right(self._error_positions, low)
        return index < len(self._error_positions) and self._error_positions[index] <= high

    def _check_anchors(self, anchors: list[Anchor]) -> None:
        last = self._positions[-1] if self._positions else 0
        good = 0
        beyond = [a for a in anchors if a.position > last]
        if beyond:
            first = min(beyond, key=lambda x: x.position)
            self.add("truncated", self._after(last),
                     f"the history ends at position {last}, but {first.source} (and "
                     f"{len(beyond) - 1} other anchor(s)) prove later positions existed")
        self._error_positions = sorted(
            f.position for f in self._findings
            if f.kind in ROW_ERRORS and f.severity == "error" and f.position)
        for a in sorted(anchors, key=lambda x: x.position):
            if a.position > last:
                break
            if a.position == 0:
                if a.entry_hash != GENESIS or a.count not in (None, 0):
                    self.add("anchor_mismatch", 0, f"{a.source} claims an impossible genesis")
                continue
            seen = self._seen.get(a.position)
            if seen is None:
                self.add("anchor_missing", a.position,
                         f"{a.source} names position {a.position}, which has no chain entry")
            elif seen[0] != a.entry_hash or (a.count is not None and a.count != seen[1]):
                tamper, why = self._count_tamper(a)
                self.add("anchor_mismatch", a.position,
                         f"the chain at {a.position} disagrees with {a.source}{why}",
                         tamper=tamper)
            else:
                good = max(good, a.position)
                continue
            if not self._explained(good, a.position):
                tamper, why = self._count_tamper(a)
                self.add("rewritten", self._after(good),
                         f"the history between position {good} (the last matching anchor) "
                         f"and {a.position} was changed and the chain re-computed over it: "
                         f"{a.source} disagrees{why}", tamper=tamper)

    # --- verdict -----------------------------------------------------------------------

    def finish(self) -> Report:
        """Check checkpoints and receipts against what was fed, and report."""
        self._finish_seals()
        checkpoints = self._valid_checkpoints()
        trusted = self._trusted_checkpoints()
        anchors = [
            Anchor(c.position, c.head, c.count, f"checkpoint {c.seq}", True)
            for c in (*checkpoints, *trusted)
        ] + [
            Anchor(r.position, r.entry_hash, None, f"the receipt for position {r.position}",
                   False)
            for r in self._receipts
        ] + [
            Anchor(d.position, d.head, d.count, f"the key disclosure of write epoch {d.epoch}",
                   False)
            for d in self._disclosed
        ]
        self._check_anchors(anchors)
        anchored = max(
            (a.position for a in anchors if a.is_checkpoint and self._matches(a)), default=0)
        last = self._positions[-1] if self._positions else 0
        if last > anchored and self._chain_count:
            tail = len(self._positions) - bisect.bisect_right(self._positions, anchored)
            self.add("unanchored", self._after(anchored),
                     f"{tail} row(s) after position {anchored} are not covered by a signed "
                     "checkpoint", "warning")
        return Report(
            ok=not self.has_errors,
            first_bad_position=self._first_bad,
            findings=tuple(self._findings),
            rows=len(self._positions),
            last_position=last,
            valid_checkpoints=len(checkpoints),
            newest_checkpoint_at_us=max(
                (c.issued_at_us for c in (*checkpoints, *trusted) if self._matches(Anchor(
                    c.position, c.head, c.count, "", True))), default=None),
            anchored_through=anchored,
            sealed_through=self._sealed_through,
            omitted_findings=self._omitted,
            seals_by_mac=self._by_mac,
            seals_by_signature=self._by_signature,
        )

    def _matches(self, a: Anchor) -> bool:
        if a.position == 0:
            return a.entry_hash == GENESIS
        seen = self._seen.get(a.position)
        return seen is not None and seen[0] == a.entry_hash and a.count in (None, seen[1])


def verify_rows(
    rows: Iterable[Row],
    *,
    public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey],
    checkpoints: Sequence[Checkpoint] = (),
    trusted_checkpoints: Sequence[Checkpoint] = (),
    receipts: Sequence[Receipt] = (),
    disclosures: Sequence[Disclosure] = (),
    check_signatures: bool = False,
) -> Report:
    """Verify a whole history given as rows in position order."""
    verifier = Verifier(public_keys=public_keys, checkpoints=checkpoints,
                        trusted_checkpoints=trusted_checkpoints, receipts=receipts,
                        disclosures=disclosures, check_signatures=check_signatures)
    verifier.feed_many(rows)
    return verifier.finish()
