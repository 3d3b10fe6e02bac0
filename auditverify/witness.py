"""`python -m auditverify.witness`: a witness an auditor runs on their own machine (issue 18,
part 3). It keeps its own state (the last checkpoint it cosigned, per origin), and for each new
checkpoint and consistency proof (`cxgov audit prove --since <its last note>`) it checks the
log's signature, the origin, and that the new tree extends the old one; only then does it
cosign with its own key (a C2SP tlog-cosignature line) and move its state. A checkpoint
inconsistent with what it saw is refused, whatever key signed it.

Cosignature (C2SP tlog-cosignature, Ed25519): the witness signs
"cosignature/v1\\ntime <unix seconds>\\n" followed by the checkpoint body; the line is
"— <name> base64(key hash (4) || time (8, big-endian) || signature (64))", key hash
SHA-256(name || "\\n" || 0x04 || public key)[:4].

With `--url`, the witness fetches the service's newest checkpoint and the consistency proof
from its last one itself (GET /v1/audit/checkpoint, /v1/audit/proofs/consistency), and hands the
cosigned checkpoint back (POST /v1/audit/cosignatures), which the service stores and serves.

Exit status: 0 cosigned, 1 refused, 2 unusable input. Imports nothing of the service.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from auditverify.keys import load_public_key, raw_public_key, verify_signature
from auditverify.live import HttpLog, LogUnavailable
from auditverify.merkle import verify_consistency
from auditverify.note import DASH, NoteError, TreeHead, parse_note, verify_note

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2
COSIGNATURE = b"\x04"


class Refused(Exception):
    """The witness will not cosign this checkpoint."""


def cosignature_key_hash(name: str, key: Ed25519PublicKey) -> bytes:
    """The tlog-cosignature key hash (4 bytes)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE
                          + raw_public_key(key)).digest()[:4]


def _message(head: TreeHead, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{head.body()}".encode()


def cosign(note: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    """The note with the witness's cosignature line added."""
    head, _ = parse_note(note)
    signature = key.sign(_message(head, timestamp))
    stamp = (cosignature_key_hash(name, key.public_key()) + timestamp.to_bytes(8, "big")
             + signature)
    return f"{note}{DASH} {name} {base64.b64encode(stamp).decode('ascii')}\n"


def cosigners(note: str, witnesses: dict[str, Ed25519PublicKey]) -> set[str]:
    """The named witnesses whose cosignature on the note is valid."""
    head, lines = _cosignature_lines(note)
    valid: set[str] = set()
    for name, stamp in lines:
        key = witnesses.get(name)
        if key is None or len(stamp) != 4 + 8 + 64:
            continue
        if stamp[:4] != cosignature_key_hash(name, key):
            continue
        timestamp = int.from_bytes(stamp[4:12], "big")
        if verify_signature(key, stamp[12:], _message(head, timestamp)):
            valid.add(name)
    return valid


def _cosignature_lines(note: str) -> tuple[TreeHead, list[tuple[str, bytes]]]:
    head, _ = parse_note_lenient(note)
    _, _, signatures = note.partition("\n\n")
    found = []
    for line in signatures.split("\n"):
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == DASH:
            try:
                found.append((parts[1], base64.b64decode(parts[2], validate=True)))
            except ValueError:
                continue
    return head, found


def parse_note_lenient(note: str) -> tuple[TreeHead, list[Any]]:
    """The checkpoint of a note whose signature lines may be of other lengths (cosignatures)."""
    body, sep, _ = note.partition("\n\n")
    if not sep:
        raise NoteError("no blank line between the checkpoint and its signatures")
    return parse_note(body + "\n\n")[0], []


def verify_log_note(note: str, log_keys: dict[str, Ed25519PublicKey],
                    origin: str | None) -> tuple[TreeHead, set[str]]:
    """Like note.verify_note, over the log's own signature lines only (cosignatures, whose
    lines are longer, are skipped)."""
    body, _, signatures = note.partition("\n\n")
    kept = [line for line in signatures.split("\n") if line and _is_note_line(line)]
    return verify_note(body + "\n\n" + "".join(f"{line}\n" for line in kept), log_keys,
                       origin=origin)


def _is_note_line(line: str) -> bool:
    parts = line.split(" ")
    try:
        return len(parts) == 3 and len(base64.b64decode(parts[2], validate=True)) == 4 + 64
    except ValueError:
        return False


class Witness:
    """A witness's state: a directory with one JSON file per origin (its last cosigned
    checkpoint)."""

    def __init__(self, state: Path, name: str, key: Ed25519PrivateKey,
                 log_keys: dict[str, Ed25519PublicKey]) -> None:
        self.state, self.name, self.key, self.log_keys = state, name, key, log_keys

    def _path(self, origin: str) -> Path:
        return self.state / (hashlib.sha256(origin.encode()).hexdigest()[:32] + ".json")

    def last(self, origin: str) -> str | None:
        """The last checkpoint this witness cosigned for the origin."""
        path = self._path(origin)
        return json.loads(path.read_text())["note"] if path.exists() else None

    def observe(self, note: str, proof: Sequence[bytes], *, now: int | None = None) -> str:
        """Cosign `note` if it extends what this witness saw (Refused otherwise)."""
        head, signed = verify_log_note(note, self.log_keys, None)
        if not signed:
            raise Refused("the checkpoint is not signed by the log's key")
        previous = self.last(head.origin)
        if previous is not None:
            old, _ = parse_note_lenient(previous)
            if head.size < old.size:
                raise Refused(f"the log shrank from {old.size} to {head.size} entries")
            if not verify_consistency(old.size, head.size, old.root, head.root, proof):
                raise Refused(f"the tree of size {head.size} does not extend the one of size "
                              f"{old.size} this witness cosigned: the history was rewritten")
        body, _, _ = note.partition("\n\n")
        log_lines = "".join(f"{line}\n" for line in note.partition("\n\n")[2].split("\n")
                            if line and _is_note_line(line))
        cosigned = cosign(f"{body}\n\n{log_lines}", self.name, self.key,
                          int(time.time()) if now is None else now)
        self.state.mkdir(parents=True, exist_ok=True)
        tmp = self._path(head.origin).with_suffix(".tmp")
        tmp.write_text(json.dumps({"origin": head.origin, "note": cosigned}))
        tmp.replace(self._path(head.origin))
        return cosigned


def proof_hashes(data: dict[str, Any]) -> list[bytes]:
    """The proof's hashes, decoded (ValueError if they are not base64 of 32 bytes)."""
    items = data.get("proof", [])
    if not isinstance(items, list):
        raise ValueError("the proof is not a list of hashes")
    hashes = [base64.b64decode(str(p), validate=True) for p in items]
    if len(hashes) > 128 or any(len(h) != 32 for h in hashes):
        raise ValueError("a proof holds at most 128 hashes of 32 bytes")
    return hashes


def observe_log(witness: Witness, log: HttpLog, *, now: int | None = None) -> str:
    """Fetch the log's newest checkpoint and the consistency proof from the one this witness
    cosigned last, cosign (or raise Refused), and hand the cosignature to the service."""
    note = log.checkpoint()
    head, _ = parse_note_lenient(note)
    proof: list[bytes] = []
    previous = witness.last(head.origin)
    if previous is not None:
        old, _ = parse_note_lenient(previous)
        if head.size >= old.size:
            data = log.consistency(old.size, head.size)
            if data.get("old_size") != old.size:
                raise Refused(f"the log answered a proof from size {data.get('old_size')}, "
                              f"not from {old.size}")
            note, proof = str(data["checkpoint"]), proof_hashes(data)
    cosigned = witness.observe(note, proof, now=now)
    log.post_cosignature(cosigned)
    return cosigned


def main(argv: Sequence[str] | None = None) -> int:
    """Observe one checkpoint and its consistency proof; print the cosigned note."""
    parser = argparse.ArgumentParser(prog="python -m auditverify.witness", description=__doc__)
    parser.add_argument("proof", type=Path, nargs="?",
                        help="the JSON of `cxgov audit prove --since <last.note>` (or of "
                             "`--position` the first time): its checkpoint and proof")
    parser.add_argument("--url", help="fetch from the service at this base URL instead, and "
                                      "POST the cosignature back")
    parser.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                        help="an HTTP header for --url (e.g. 'Authorization: Bearer ...')")
    parser.add_argument("--state", type=Path, required=True, help="this witness's state folder")
    parser.add_argument("--name", required=True, help="this witness's key name")
    parser.add_argument("--key", type=Path, required=True, help="this witness's private key (PEM)")
    parser.add_argument("--log-key", required=True, help="the log's public key (name cxgov)")
    args = parser.parse_args(argv)
    try:
        key = load_pem_private_key(args.key.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the witness key is not an Ed25519 private key")
        witness = Witness(args.state, args.name, key, {"cxgov": load_public_key(args.log_key)})
        if (args.proof is None) == (args.url is None):
            raise ValueError("give a proof file or --url, not both")
        if args.url is not None:
            cosigned = observe_log(witness, HttpLog(args.url, headers=headers(args.header)))
        else:
            data = json.loads(args.proof.read_text(encoding="utf-8"))
            cosigned = witness.observe(str(data["checkpoint"]), proof_hashes(data))
    except (Refused, NoteError) as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except LogUnavailable as exc:
        print(f"auditverify.witness: the log did not answer: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"auditverify.witness: unusable input: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(cosigned, end="")
    return EXIT_OK


def headers(items: Sequence[str]) -> dict[str, str]:
    """HTTP headers from 'Name: value' options."""
    found = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"not a header: {item!r} (NAME: VALUE)")
        found[name.strip()] = value.strip()
    return found


if __name__ == "__main__":
    sys.exit(main())
