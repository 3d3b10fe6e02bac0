"""The byte encodings that the chain and the checkpoints hash and sign (format v1)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

CHAIN_TAG = b"cxgov-chain-v1"
CHECKPOINT_TAG = b"cxgov-checkpoint-v1"
SEAL_TAG = b"cxgov-seal-v1"
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


def sha256(data: bytes) -> bytes:
    """SHA-256 digest."""
    return hashlib.sha256(data).digest()
