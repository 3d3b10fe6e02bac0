"""The byte encodings that the chain and the checkpoints hash and sign (format v1)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

CHAIN_TAG = b"cxgov-chain-v1"
CHECKPOINT_TAG = b"cxgov-checkpoint-v1"
SEAL_TAG = b"cxgov-seal-v1"
DISCLOSURE_TAG = b"cxgov-epoch-key-v1"
#: BLAKE2b personalisations (at most 16 bytes): one for deriving an epoch's MAC key, one for
#: the write seals' MACs, so neither output can stand for the other
EPOCH_KEY_PERSON = b"cxgov-epoch-key"
SEAL_MAC_PERSON = b"cxgov-seal-mac"
MAC_SIZE = 32
GENESIS = bytes(32)
HASH_SIZE = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant")
    return (moment - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    """The UTC datetime of a count of microseconds since the Unix epoch."""
    return _EPOCH + value * _MICRO


def int64(value: int) -> bytes:
    """Eight bytes, big-endian two's complement."""
    return value.to_bytes(8, "big", signed=True)


def frame(*fields: bytes) -> bytes:
    """Concatenate fields, each preceded by its length as eight big-endian bytes."""
    return b"".join(len(field).to_bytes(8, "big") + field for field in fields)


def entry_hash(
    *,
    prev_hash: bytes,
    prev_position: int,
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded_at_us: int,
) -> bytes:
    """SHA-256 of one chain entry: the event's stored fields bound to its predecessor."""
    return chain_hash(
        prev_hash,
        prev_position,
        position,
        originator_id,
        originator_version,
        topic,
        state,
        recorded_at_us,
    )


_LENGTH = struct.Struct(">Q").pack
_CHAIN_HEAD = _LENGTH(len(CHAIN_TAG)) + CHAIN_TAG
#: The tag and the prev_hash's length field of an entry whose prev_hash is HASH_SIZE bytes (every
#: entry after the first one that a chain_pack frames): one field of its struct format.
CHAIN_HEAD = _CHAIN_HEAD + _LENGTH(HASH_SIZE)
#: chain_pack's formats kept, by (id, topic, state) size; emptied when full (a log's states
#: have a few thousand sizes; each struct costs a few hundred bytes).
CHAIN_FORMATS: dict[tuple[int, int, int], Callable[..., bytes]] = {}
CHAIN_FORMATS_KEPT = 16_384


def chain_pack(id_size: int, topic_size: int, state_size: int) -> Callable[..., bytes]:
    """struct's pack of one chain entry's framed bytes (the bytes entry_hash hashes) whose
    prev_hash is HASH_SIZE bytes and whose encoded originator id, encoded topic and state have
    these sizes, in one call; its arguments: (CHAIN_HEAD, prev_hash, 8, prev_position, 8,
    position, id_size, originator_id, 8, originator_version, topic_size, topic, state_size,
    state, 8, recorded_at_us). Kept in CHAIN_FORMATS."""
    if len(CHAIN_FORMATS) >= CHAIN_FORMATS_KEPT:
        CHAIN_FORMATS.clear()
    pack = CHAIN_FORMATS[(id_size, topic_size, state_size)] = struct.Struct(
        f">{len(CHAIN_HEAD)}s{HASH_SIZE}sQqQqQ{id_size}sQqQ{topic_size}sQ{state_size}sQq").pack
    return pack


def chain_hash(
    prev_hash: bytes,
    prev_position: int,
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded_at_us: int,
) -> bytes:
    """entry_hash with positional arguments, for the verifier: the same bytes framed with one
    struct pack (chain_pack) instead of one int.to_bytes per field (anything it cannot frame,
    e.g. a value outside int64 or a prev_hash of another size, falls back to the
    field-by-field framing, which raises the same error it always did)."""
    try:
        if len(prev_hash) != HASH_SIZE or not isinstance(state, bytes):
            raise ValueError("framed field by field")
        oid = originator_id.encode("utf-8")
        name = topic.encode("utf-8")
        sizes = (len(oid), len(name), len(state))
        pack = CHAIN_FORMATS.get(sizes) or chain_pack(*sizes)
        framed = pack(CHAIN_HEAD, prev_hash, 8, prev_position, 8, position, sizes[0], oid, 8,
                      originator_version, sizes[1], name, sizes[2], state, 8, recorded_at_us)
    except Exception:  # raised again, in the same order, by the reference
        return _framed_hash(
            prev_hash,
            prev_position,
            position,
            originator_id,
            originator_version,
            topic,
            state,
            recorded_at_us,
        )
    return hashlib.sha256(framed).digest()


def _framed_hash(
    prev_hash: bytes,
    prev_position: int,
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded_at_us: int,
) -> bytes:
    return hashlib.sha256(
        frame(
            CHAIN_TAG,
            prev_hash,
            int64(prev_position),
            int64(position),
            originator_id.encode("utf-8"),
            int64(originator_version),
            topic.encode("utf-8"),
            state,
            int64(recorded_at_us),
        )
    ).digest()


def checkpoint_payload(
    *,
    seq: int,
    position: int,
    count: int,
    head: bytes,
    issued_at_us: int,
    prev_hash: bytes,
    key_id: str,
) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return frame(
        CHECKPOINT_TAG,
        int64(seq),
        int64(position),
        int64(count),
        head,
        int64(issued_at_us),
        prev_hash,
        key_id.encode("utf-8"),
    )


def seal_payload(
    *,
    prev_position: int,
    prev_hash: bytes,
    position: int,
    entry_hash: bytes,
    entries: int,
    key_id: str,
) -> bytes:
    """The exact bytes a write seal's signature covers: one transaction's chain entries, from
    the head it extended (prev_position, prev_hash) to its last entry (position, entry_hash)."""
    return frame(
        SEAL_TAG,
        int64(prev_position),
        prev_hash,
        int64(position),
        entry_hash,
        int64(entries),
        key_id.encode("utf-8"),
    )


def epoch_key(secret: bytes, epoch: int) -> bytes:
    """The write seals' MAC key of one epoch (decision 287): BLAKE2b keyed with the service's
    secret (its signing key's 32-byte seed) over the epoch number. A pseudo-random function:
    a disclosed epoch key tells nothing of the secret or of any other epoch's key."""
    if epoch < 1:
        raise ValueError("epochs are numbered from 1")
    return hashlib.blake2b(int64(epoch), key=secret, digest_size=MAC_SIZE,
                           person=EPOCH_KEY_PERSON).digest()


#: struct's pack of seal_mac_input's bytes, (prev_position, position, prev_hash, entry_hash,
#: entries), without its checks: `32s` pads or cuts a hash of another size silently, so a caller
#: checks both hashes are HASH_SIZE bytes first (and takes struct.error for a number outside
#: int64)
SEAL_MAC_PACK = struct.Struct(">qq32s32sq").pack


def seal_mac_input(*, prev_position: int, prev_hash: bytes, position: int, entry_hash: bytes,
                   entries: int) -> bytes:
    """The bytes a write seal's MAC covers: its transaction's fields at fixed widths (the
    signing key is bound by the epoch key, which is that key's own). ValueError for a hash
    that is not HASH_SIZE bytes or a number outside int64 (no MAC can then be valid)."""
    if len(prev_hash) != HASH_SIZE or len(entry_hash) != HASH_SIZE:
        raise ValueError("a seal's hashes are 32 bytes")
    try:
        return SEAL_MAC_PACK(prev_position, position, prev_hash, entry_hash, entries)
    except struct.error as exc:
        raise ValueError(str(exc)) from None


def seal_mac_state(key: bytes) -> Any:
    """BLAKE2b keyed with an epoch's key, before any data: `.copy()`, `.update(data)`,
    `.digest()` give seal_mac(key, data) without hashing the key block again."""
    return hashlib.blake2b(key=key, digest_size=MAC_SIZE, person=SEAL_MAC_PERSON)


def seal_mac(key: bytes, data: bytes) -> bytes:
    """A write seal's MAC: BLAKE2b in its keyed mode (RFC 7693) over seal_mac_input."""
    return hashlib.blake2b(data, key=key, digest_size=MAC_SIZE,
                           person=SEAL_MAC_PERSON).digest()


def disclosure_payload(
    *,
    epoch: int,
    position: int,
    count: int,
    head: bytes,
    epoch_key: bytes,
    key_id: str,
) -> bytes:
    """The exact bytes a key disclosure's signature covers: epoch `epoch` ended at `position`
    (the chain then held `count` entries, the last with hash `head`), and its MAC key."""
    return frame(
        DISCLOSURE_TAG,
        int64(epoch),
        int64(position),
        int64(count),
        head,
        epoch_key,
        key_id.encode("utf-8"),
    )


def sha256(data: bytes) -> bytes:
    """SHA-256 digest."""
    return hashlib.sha256(data).digest()
