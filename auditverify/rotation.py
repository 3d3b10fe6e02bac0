"""Signed key rotations (issue 18, part 4): the old key signs the new one.

A rotation statement says "the log's key with public key OLD hands over to NEW at time T"; its
signature, by OLD, covers `field("cxgov-key-rotation-v1") || field(OLD) || field(NEW) ||
field(int(T in microseconds))` (auditverify.encoding framing, raw 32-byte keys). An auditor who
holds only OLD's public key trusts NEW through a valid statement, and every key that a trusted
key handed over to, transitively; a statement not signed by its old key, or from a key the
auditor does not trust, adds nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditverify.encoding import frame, int64
from auditverify.keys import key_id, raw_public_key, verify_signature

ROTATION_TAG = b"cxgov-key-rotation-v1"


@dataclass(frozen=True)
class KeyRotation:
    """One hand-over from an old key to a new one, signed by the old key."""

    old_public_key: bytes
    new_public_key: bytes
    rotated_at_us: int
    signature: bytes

    def payload(self) -> bytes:
        """The signed bytes."""
        return frame(ROTATION_TAG, self.old_public_key, self.new_public_key,
                     int64(self.rotated_at_us))

    def valid(self) -> bool:
        """Whether the old key signed this statement."""
        if len(self.old_public_key) != 32 or len(self.new_public_key) != 32:
            return False
        old = Ed25519PublicKey.from_public_bytes(self.old_public_key)
        return verify_signature(old, self.signature, self.payload())

    def to_json(self) -> dict[str, Any]:
        """As a JSON object (keys and signature in base64)."""
        return {"old_key_id": key_id(self.old_public_key),
                "new_key_id": key_id(self.new_public_key),
                "old_public_key": base64.b64encode(self.old_public_key).decode("ascii"),
                "new_public_key": base64.b64encode(self.new_public_key).decode("ascii"),
                "rotated_at_us": self.rotated_at_us,
                "signature": base64.b64encode(self.signature).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRotation:
        """From a JSON object written by to_json (ValueError if malformed)."""
        try:
            return cls(old_public_key=base64.b64decode(data["old_public_key"], validate=True),
                       new_public_key=base64.b64decode(data["new_public_key"], validate=True),
                       rotated_at_us=int(data["rotated_at_us"]),
                       signature=base64.b64decode(data["signature"], validate=True))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a key rotation statement: {exc}") from None


def sign_rotation(old: Ed25519PrivateKey, new: Ed25519PublicKey, at_us: int) -> KeyRotation:
    """The statement handing `old` over to `new`, signed by `old`."""
    unsigned = KeyRotation(raw_public_key(old.public_key()), raw_public_key(new), at_us, b"")
    return KeyRotation(unsigned.old_public_key, unsigned.new_public_key, at_us,
                       old.sign(unsigned.payload()))


def trusted_keys(given: Iterable[Ed25519PublicKey],
                 rotations: Sequence[KeyRotation]) -> list[Ed25519PublicKey]:
    """The keys you gave plus every key a trusted key validly handed over to (transitively)."""
    keys = list(given)
    trusted = {raw_public_key(k) for k in keys}
    valid = [r for r in rotations if r.valid()]
    grew = True
    while grew:
        grew = False
        for r in valid:
            if r.old_public_key in trusted and r.new_public_key not in trusted:
                trusted.add(r.new_public_key)
                keys.append(Ed25519PublicKey.from_public_bytes(r.new_public_key))
                grew = True
    return keys


def load_rotations(path: Path) -> list[KeyRotation]:
    """Rotation statements from a file: JSON lines, or one JSON array."""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        return []
    try:
        items = json.loads(text) if text.startswith("[") else [
            json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(f"{path}: expected key rotation objects")
    return [KeyRotation.from_json(i) for i in items]
