"""C2SP checkpoints (tlog-checkpoint) in the signed-note format (signed-note), Ed25519.

A checkpoint body is three lines: the log's origin (its identity: two databases never share
one), the tree size in decimal, and the root hash in base64; a blank line; then one signature
line per signer: an em dash, a space, the key name, a space, and base64 of the 4-byte key hash
followed by the 64-byte signature of the body. The key hash is the first four bytes of
SHA-256(name || "\\n" || 0x01 || public key) (0x01: the Ed25519 signature type).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditverify.keys import raw_public_key, verify_signature

DASH = "\u2014"
ED25519 = b"\x01"


class NoteError(ValueError):
    """Not a well-formed signed-note checkpoint."""


def key_hash(name: str, key: Ed25519PublicKey) -> bytes:
    """The signed-note key hash (4 bytes) of an Ed25519 key by name."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519 + raw_public_key(key)).digest()[:4]


@dataclass(frozen=True)
class TreeHead:
    """A checkpoint body: origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The three lines that are signed."""
        if not self.origin or "\n" in self.origin:
            raise NoteError("the origin is one non-empty line")
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"


def sign_note(head: TreeHead, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note: body, blank line, one signature line."""
    body = head.body()
    signature = key.sign(body.encode("utf-8"))
    stamp = base64.b64encode(key_hash(name, key.public_key()) + signature).decode("ascii")
    return f"{body}\n{DASH} {name} {stamp}\n"


def add_signature(note: str, name: str, key: Ed25519PrivateKey) -> str:
    """The note with one more signature line (a cosigner's)."""
    head, _ = parse_note(note)
    signature = key.sign(head.body().encode("utf-8"))
    stamp = base64.b64encode(key_hash(name, key.public_key()) + signature).decode("ascii")
    return f"{note}{DASH} {name} {stamp}\n"


def parse_note(note: str) -> tuple[TreeHead, list[tuple[str, bytes, bytes]]]:
    """The checkpoint and its signature lines: (name, key hash, signature) each."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("no blank line between the checkpoint and its signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"not a tree size: {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("the root hash is not base64") from None
    if len(root) != 32:
        raise NoteError("the root hash is not 32 bytes")
    found: list[tuple[str, bytes, bytes]] = []
    for line in signatures.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"not a signature line: {line!r}")
        try:
            stamp = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("a signature is not base64") from None
        if len(stamp) != 4 + 64:
            raise NoteError("an Ed25519 signature line holds 4 + 64 bytes")
        found.append((parts[1], stamp[:4], stamp[4:]))
    return TreeHead(origin, int(size_text), root), found


def verify_note(note: str, keys: dict[str, Ed25519PublicKey], *,
                origin: str | None = None) -> tuple[TreeHead, set[str]]:
    """The checkpoint and the names (among `keys`, name -> key) whose signature on it is
    valid; an unknown name or key hash is ignored, as signed-note prescribes. With `origin`,
    a checkpoint of another log is refused (NoteError)."""
    head, signatures = parse_note(note)
    if origin is not None and head.origin != origin:
        raise NoteError(f"the checkpoint is of log {head.origin!r}, not {origin!r}")
    body = head.body().encode("utf-8")
    valid = {name for name, hashed, signature in signatures
             if name in keys and hashed == key_hash(name, keys[name])
             and verify_signature(keys[name], signature, body)}
    return head, valid
