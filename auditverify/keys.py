"""Ed25519 public keys: loading the auditor's key, key ids and signature checks."""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

RAW_KEY_SIZE = 32


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey | bytes) -> str:
    """The key id: the first 16 hex digits of SHA-256 over the raw public key."""
    raw = key if isinstance(key, bytes) else raw_public_key(key)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(key: Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo)."""
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A key from PEM text, or from base64 or hex of the 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return key
    for decode in (bytes.fromhex, _b64):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == RAW_KEY_SIZE:
            return Ed25519PublicKey.from_public_bytes(raw)
    raise ValueError("not an Ed25519 public key (expected PEM, or base64/hex of 32 bytes)")


def load_public_key(source: str | Path) -> Ed25519PublicKey:
    """A key from a file (PEM or one line of base64/hex), or from the text itself."""
    path = Path(source)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a base64 string too long to be a file name
        is_file = False
    if is_file:
        return parse_public_key(path.read_text(encoding="ascii"))
    return parse_public_key(str(source))


def verify_signature(key: Ed25519PublicKey, signature: bytes, payload: bytes) -> bool:
    """Whether `signature` is the key's signature of `payload`."""
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
