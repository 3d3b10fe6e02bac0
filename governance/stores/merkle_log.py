"""The Merkle log served to auditors and witnesses (issue 18, parts 2-4): signed C2SP checkpoints
with their stored cosignatures, inclusion and consistency proofs, the registered witnesses, and
signed key rotations.

The RFC 9162 tree over the chain's entry hashes is kept per database in this process and
brought up to date on each request by appending the entries written since (O(log n) hashes
each, in batches: `MerkleTree.extend`), never rebuilt per request: a proof at 1M entries is
one snapshot transaction on a kept connection (the newest entry held and any after it, the
cosignatures, the proven entry) and O(log^2 n) stored hashes; no new connection per request
(decision 220). The tree is rebuilt only when the entry hash at the newest position it holds
has changed or gone (the chain was rewritten or cut: a re-chained edit changes every later
entry hash, so the newest one too); the proofs then show the fork to whoever kept an older
checkpoint. An edit that was not re-chained leaves the newest entry as it was: the served tree
keeps the history as this process first read it (the proofs stay those of the original), and
the chain verifier reports the edit (`broken_link`); `cxgov audit prove` and `tree-head` read
the chain afresh (a new process: about 35 s at 1M on the loaded test box). Memory: about 190
bytes per entry (every level of the tree kept, positions in an array; 182 MB of resident
memory at 1M); the first request of a process reads the whole chain (16 s of wall time,
1.6 s of CPU, at 1M on the loaded box; docs/performance.md).

Over 400 lines on purpose: the checkpoints, proofs, witnesses, cosignatures and key rotations
all read through the same kept tree and connections.
"""

from __future__ import annotations

import base64
import bisect
import string
import threading
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg.sql import SQL, Identifier

from auditverify.keys import key_id, raw_public_key
from auditverify.live import snapshot
from auditverify.merkle import MerkleTree
from auditverify.note import DASH, NoteError, TreeHead, sign_note
from auditverify.rotation import KeyRotation
from auditverify.witness import cosignature_key_hash, cosigners, parse_note_lenient
from domain.errors import InvalidInput, NotFound
from governance.stores.integrity import NOTE_KEY_NAME, Target, _schema, database_url

#: The largest cosigned note the service reads (a checkpoint and a few dozen signature lines).
MAX_NOTE_BYTES = 16_384
WITNESS_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "._+/-")


class TreeSizeOutOfRange(InvalidInput):
    """A tree size the log does not have (or an old size above the new one)."""

    code = "validation.tree_size"


class PositionNotInLog(NotFound):
    """No chain entry at this position (a gap, or beyond the log)."""

    code = "chain_entry.not_found"


class CosignatureRefused(InvalidInput):
    """Not a valid cosignature, by a registered witness, of a checkpoint of this log."""

    code = "validation.cosignature"


class WitnessUnknown(InvalidInput):
    """The cosignature names no registered witness."""

    code = "validation.witness_unknown"


@dataclass
class _Tree:
    """One database's tree, its leaves' positions, the newest leaf's data, and the idle
    read-only connections kept for the next requests."""

    origin: str
    tree: MerkleTree = field(default_factory=lambda: MerkleTree([]))
    positions: array[int] = field(default_factory=lambda: array("q"))
    tip: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: list[psycopg.Connection[Any]] = field(default_factory=list)


_TREES: dict[tuple[str, str], _Tree] = {}
_TREES_LOCK = threading.Lock()
#: Idle snapshot connections kept per database: a request reuses one instead of connecting
#: (a new PostgreSQL connection cost 15-60 ms of wall time on the loaded test box, several
#: times the proof itself; decision 220).
MAX_IDLE = 4
#: Chain rows read per statement when the tree catches up (a first read of 1M entries).
BATCH = 50_000


def _table(schema: str, name: str) -> Identifier:
    return Identifier(schema, name)


def _origin(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT (SELECT system_identifier FROM pg_control_system()), "
                       "current_database()").fetchone()
    assert row is not None
    return f"cxgov/{row[0]}/{row[1]}"


@dataclass(frozen=True)
class LogView:
    """The tree as of one refresh: proofs for any size up to `size` stay valid while later
    entries are appended (stored subtrees never change)."""

    origin: str
    tree: MerkleTree
    positions: Sequence[int]
    size: int

    def root(self, size: int) -> bytes:
        return self.tree.root(size)


@dataclass(frozen=True)
class _Reader:
    """One request's read: a repeatable-read snapshot, the tree brought up to date in it."""

    conn: psycopg.Connection[Any]
    schema: str
    view: LogView

    def table(self, name: str) -> Identifier:
        return _table(self.schema, name)


def _state(url: str, schema: str) -> _Tree | None:
    with _TREES_LOCK:
        return _TREES.get((url, schema))


@contextmanager
def _reading(target: Target) -> Iterator[_Reader]:
    """A snapshot transaction on a kept connection (or a new one), the tree refreshed in it.
    A kept connection the server closed meanwhile is dropped and the read retried once on a
    new connection (reads only: retrying is harmless)."""
    url, schema = database_url(target), _schema(target)
    conn, view = _begin(url, schema)
    try:
        yield _Reader(conn, schema, view)
    finally:
        reusable = False
        try:
            conn.rollback()  # read-only: nothing to commit; refusals (raised above) end here too
            reusable = True
        except psycopg.Error:
            pass
        state = _state(url, schema)
        with _TREES_LOCK:
            kept = reusable and state is not None and len(state.idle) < MAX_IDLE
            if kept:
                assert state is not None
                state.idle.append(conn)
        if not kept:
            conn.close()


def _begin(url: str, schema: str) -> tuple[psycopg.Connection[Any], LogView]:
    state = _state(url, schema)
    with _TREES_LOCK:
        conn = state.idle.pop() if state is not None and state.idle else None
    if conn is not None:
        try:
            return conn, _refresh(conn, url, schema)
        except psycopg.OperationalError:  # closed by the server while it was kept
            conn.close()
    conn = snapshot(url)
    try:
        return conn, _refresh(conn, url, schema)
    except BaseException:
        conn.close()
        raise


def _refresh(conn: psycopg.Connection[Any], url: str, schema: str) -> LogView:
    """Bring the database's tree up to date with the chain, in this snapshot."""
    with _TREES_LOCK:
        state = _TREES.get((url, schema))
        if state is None:
            state = _TREES[(url, schema)] = _Tree(origin=_origin(conn))
    with state.lock:
        chain = _table(schema, "cxgov_chain")
        while True:  # the newest entry held (still there, unchanged?), then those after it
            after = state.positions[-1] if state.positions else 0
            rows = conn.execute(SQL("SELECT position, entry_hash FROM {} WHERE position >= %s "
                                    "ORDER BY position LIMIT %s").format(chain),
                                (after, BATCH + 1)).fetchall()
            if state.positions:
                if not rows or int(rows[0][0]) != after or bytes(rows[0][1]) != state.tip:
                    state.tree, state.positions, state.tip = MerkleTree([]), array("q"), b""
                    continue  # rewritten or cut: rebuild
                rows = rows[1:]
            if not rows:
                break
            state.tree.extend([bytes(r[1]) for r in rows])
            state.positions.extend(int(r[0]) for r in rows)
            state.tip = bytes(rows[-1][1])
            if len(rows) < BATCH:
                break
        return LogView(state.origin, state.tree, state.positions, len(state.positions))


def current(target: Target) -> LogView:
    """The log's tree, brought up to date with the chain."""
    with _reading(target) as read:
        return read.view


def forget(target: Target) -> None:
    """Drop this process's tree of a database and its kept connections (tests that empty it,
    the CLI)."""
    with _TREES_LOCK:
        state = _TREES.pop((database_url(target), _schema(target)), None)
    for conn in state.idle if state is not None else ():
        conn.close()


def _size(view: LogView, size: int | None, name: str = "size") -> int:
    if size is None:
        return view.size
    if not 0 <= size <= view.size:
        raise TreeSizeOutOfRange(f"{name} {size} is outside this log's tree sizes 0..{view.size}",
                                 field=name)
    return size


def checkpoint(target: Target, key: Ed25519PrivateKey, size: int | None = None) -> str:
    """The C2SP signed note of the log at `size` (default: now), with every stored
    cosignature of that very checkpoint appended."""
    with _reading(target) as read:
        return _note(read, key, _size(read.view, size))


def _note(read: _Reader, key: Ed25519PrivateKey, size: int) -> str:
    head = TreeHead(read.view.origin, size, read.view.root(size))
    return sign_note(head, NOTE_KEY_NAME, key) + "".join(_cosignature_lines(read, head))


def inclusion(target: Target, key: Ed25519PrivateKey, position: int,
              size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of the entry at `position` in the tree of `size`, with its signed
    checkpoint (the JSON `python -m auditverify.proofs` checks)."""
    with _reading(target) as read:
        view = read.view
        size = _size(view, size)
        index = bisect.bisect_left(view.positions, position, 0, view.size)
        if index >= view.size or view.positions[index] != position:
            raise PositionNotInLog(f"position {position} has no chain entry", field="position")
        if index >= size:
            raise TreeSizeOutOfRange(f"position {position} is leaf {index}, not in a tree of "
                                     f"size {size}", field="size")
        proof = view.tree.inclusion_proof(index, size)
        return {"checkpoint": _note(read, key, size), "kind": "inclusion",
                "position": position, "index": index,
                "entry_hash": _leaf(read, position).hex(), "proof": _b64(proof)}


def consistency(target: Target, key: Ed25519PrivateKey, old: int,
                size: int | None = None) -> dict[str, Any]:
    """The consistency proof from the tree of `old` entries to the tree of `size`."""
    with _reading(target) as read:
        size = _size(read.view, size)
        if not 0 <= old <= size:
            raise TreeSizeOutOfRange(f"old size {old} is outside 0..{size}", field="old")
        proof = read.view.tree.consistency_proof(old, size)
        return {"checkpoint": _note(read, key, size), "kind": "consistency",
                "old_size": old, "proof": _b64(proof)}


def _leaf(read: _Reader, position: int) -> bytes:
    row = read.conn.execute(SQL("SELECT entry_hash FROM {} WHERE position = %s").format(
        read.table("cxgov_chain")), (position,)).fetchone()
    if row is None:
        raise PositionNotInLog(f"position {position} has no chain entry", field="position")
    return bytes(row[0])


def _b64(proof: list[bytes]) -> list[str]:
    return [base64.b64encode(p).decode("ascii") for p in proof]


# --- witnesses and their cosignatures -----------------------------------------------------


def valid_witness_name(name: str) -> bool:
    """A signed-note key name: 1-64 of letters, digits and ._+/- (no spaces, no plus sign
    ambiguity with the note format)."""
    return 0 < len(name) <= 64 and set(name) <= WITNESS_NAME_CHARS


def register_witness(target: Target, name: str, public_key: Ed25519PublicKey) -> None:
    """Accept cosignatures by `name` with this key (append-only: never replaced)."""
    if not valid_witness_name(name):
        raise InvalidInput(f"not a witness name: {name!r} (1-64 of A-Z a-z 0-9 . _ + / -)",
                           field="name")
    url, schema = database_url(target), _schema(target)
    with psycopg.connect(url) as conn:
        inserted = conn.execute(
            SQL("INSERT INTO {} (name, public_key) VALUES (%s, %s) ON CONFLICT DO NOTHING"
                ).format(_table(schema, "cxgov_witnesses")),
            (name, raw_public_key(public_key))).rowcount
    if not inserted and raw_public_key(witnesses(target)[name]) != raw_public_key(public_key):
        raise InvalidInput(f"witness {name!r} is registered with another key; register the "
                           "new key under another name", field="name")


def witnesses(target: Target) -> dict[str, Ed25519PublicKey]:
    """The registered witnesses, by name."""
    url, schema = database_url(target), _schema(target)
    with snapshot(url) as conn, conn.transaction():
        rows = conn.execute(SQL("SELECT name, public_key FROM {} ORDER BY name").format(
            _table(schema, "cxgov_witnesses"))).fetchall()
    return {str(r[0]): Ed25519PublicKey.from_public_bytes(bytes(r[1])) for r in rows}


def store_cosignatures(target: Target, note: str) -> list[str]:
    """Check and store the cosignatures on `note` (a checkpoint of this log, as a witness
    returned it); the names stored. Refused: a note too long or malformed, a checkpoint this
    log never had (another origin, a size beyond it, another root), a cosignature by no
    registered witness, or one whose signature the witness's key does not verify."""
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise CosignatureRefused(f"the note is over {MAX_NOTE_BYTES} bytes", field="note")
    try:
        head, _ = parse_note_lenient(note)
    except NoteError as exc:
        raise CosignatureRefused(f"not a signed note: {exc}", field="note") from None
    view = current(target)
    if head.origin != view.origin:
        raise CosignatureRefused(f"the checkpoint is of log {head.origin!r}, not this log "
                                 f"{view.origin!r}", field="note")
    if head.size > view.size or view.root(head.size) != head.root:
        raise CosignatureRefused(f"this log never had that checkpoint (size {head.size}, "
                                 "another root)", field="note")
    registered = witnesses(target)
    named = _cosignature_names(note)
    if not named:
        raise CosignatureRefused("the note carries no cosignature line", field="note")
    unknown = sorted(set(named) - set(registered))
    valid = cosigners(note, registered)
    if not valid:
        if unknown:
            raise WitnessUnknown(f"no registered witness {', '.join(map(repr, unknown))}",
                                 field="note")
        raise CosignatureRefused("no cosignature on the note verifies with its witness's "
                                 "registered key", field="note")
    url, schema = database_url(target), _schema(target)
    with psycopg.connect(url) as conn:
        for name in sorted(valid):
            stamp = named[name]
            conn.execute(
                SQL("INSERT INTO {} (witness, origin, size, root, cosigned_at, signature) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
                    _table(schema, "cxgov_cosignatures")),
                (name, head.origin, head.size, head.root, int.from_bytes(stamp[4:12], "big"),
                 stamp[12:]))
    return sorted(valid)


def _cosignature_names(note: str) -> dict[str, bytes]:
    """The cosignature stamps on a note, by name (lines of 4 + 8 + 64 bytes)."""
    found: dict[str, bytes] = {}
    for line in note.partition("\n\n")[2].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            continue
        try:
            stamp = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if len(stamp) == 4 + 8 + 64:
            found[parts[1]] = stamp
    return found


def _cosignature_lines(read: _Reader, head: TreeHead) -> list[str]:
    rows = read.conn.execute(
        SQL("SELECT c.witness, w.public_key, c.cosigned_at, c.signature FROM {} c "
            "JOIN {} w ON w.name = c.witness WHERE c.size = %s AND c.root = %s "
            "AND c.origin = %s ORDER BY c.witness").format(
            read.table("cxgov_cosignatures"), read.table("cxgov_witnesses")),
        (head.size, head.root, head.origin)).fetchall()
    lines = []
    for name, public, at, signature in rows:
        key = Ed25519PublicKey.from_public_bytes(bytes(public))
        stamp = cosignature_key_hash(name, key) + int(at).to_bytes(8, "big") + bytes(signature)
        lines.append(f"{DASH} {name} {base64.b64encode(stamp).decode('ascii')}\n")
    return lines


def witnessed_sizes(target: Target, limit: int = 20) -> list[dict[str, Any]]:
    """The newest cosigned checkpoints: size, root (base64) and the witnesses that cosigned."""
    url, schema = database_url(target), _schema(target)
    with snapshot(url) as conn, conn.transaction():
        rows = conn.execute(
            SQL("SELECT size, root, array_agg(witness ORDER BY witness) FROM {} "
                "GROUP BY size, root ORDER BY size DESC LIMIT %s").format(
                _table(schema, "cxgov_cosignatures")), (limit,)).fetchall()
    return [{"size": int(r[0]), "root": base64.b64encode(bytes(r[1])).decode("ascii"),
             "witnesses": list(r[2])} for r in rows]


# --- key rotations ------------------------------------------------------------------------


def record_rotation(target: Target, rotation: KeyRotation) -> None:
    """Store a rotation statement (checked: the old key signed it)."""
    if not rotation.valid():
        raise InvalidInput("the rotation statement is not signed by its old key")
    url, schema = database_url(target), _schema(target)
    with psycopg.connect(url) as conn:
        conn.execute(
            SQL("INSERT INTO {} (new_key_id, old_public_key, new_public_key, rotated_at_us, "
                "signature) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING").format(_table(schema, "cxgov_key_rotations")),
            (key_id(rotation.new_public_key), rotation.old_public_key,
             rotation.new_public_key, rotation.rotated_at_us, rotation.signature))


def rotations(target: Target) -> list[KeyRotation]:
    """Every stored rotation statement, oldest first."""
    url, schema = database_url(target), _schema(target)
    with snapshot(url) as conn, conn.transaction():
        rows = conn.execute(
            SQL("SELECT old_public_key, new_public_key, rotated_at_us, signature FROM {} "
                "ORDER BY rotated_at_us").format(_table(schema, "cxgov_key_rotations"))).fetchall()
    return [KeyRotation(bytes(r[0]), bytes(r[1]), int(r[2]), bytes(r[3])) for r in rows]


def origin_of(target: Target) -> str:
    """The log's origin line (cached with its tree)."""
    return current(target).origin

