"""`python -m auditverify.proofs`: check an inclusion or consistency proof (`cxgov audit prove`)
against the signed checkpoint it carries, the log's public key and, for consistency, a
checkpoint you kept. O(log n) data; imports nothing of the service.

Exit status: 0 proven, 1 the proof or checkpoint does not hold, 2 unusable input.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditverify.keys import load_public_key
from auditverify.merkle import verify_consistency, verify_inclusion
from auditverify.note import NoteError, TreeHead
from auditverify.witness import cosigners, verify_log_note

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


def witnessed(checkpoint: str, cosigned: Sequence[str],
              witnesses: dict[str, Ed25519PublicKey]) -> set[str]:
    """The named witnesses that validly cosigned this very checkpoint (same body)."""
    body = checkpoint.partition("\n\n")[0]
    names: set[str] = set()
    for note in cosigned:
        if note.partition("\n\n")[0] == body:
            names |= cosigners(note, witnesses)
    return names


def check(proof: dict[str, Any], keys: dict[str, Any], *, origin: str | None = None,
          kept: str | None = None, witnesses: dict[str, Ed25519PublicKey] | None = None,
          cosigned: Sequence[str] = (), quorum: int | None = None) -> tuple[bool, str]:
    """Whether the proof holds, and why (or why not). With `witnesses`, the checkpoint must
    also be cosigned (in the `cosigned` notes the witnesses gave you) by `quorum` of them
    (default: all)."""
    head, signed = verify_log_note(str(proof["checkpoint"]), keys, origin)
    if not signed:
        return False, "the checkpoint is not signed by a key you gave"
    if witnesses:
        need = len(witnesses) if quorum is None else quorum
        have = witnessed(str(proof["checkpoint"]), cosigned, witnesses)
        if len(have) < need:
            missing = sorted(set(witnesses) - have)
            return False, (f"UNWITNESSED: {len(have)} of the {need} witness cosignature(s) "
                           f"required on this checkpoint (missing: {', '.join(missing)})")
    path = [base64.b64decode(p, validate=True) for p in proof["proof"]]
    if proof["kind"] == "inclusion":
        leaf = bytes.fromhex(str(proof["entry_hash"]))
        index = int(proof["index"])
        if verify_inclusion(leaf, index, head.size, path, head.root):
            return True, (f"position {proof['position']} (leaf {index}, entry hash "
                          f"{leaf.hex()}) is in {head.origin} at size {head.size}")
        return False, f"the inclusion proof does not lead to the root of size {head.size}"
    if kept is None:
        return False, "a consistency proof is checked against a checkpoint you kept (--kept)"
    old, old_signed = verify_log_note(kept, keys, head.origin)
    if not old_signed:
        return False, "the kept checkpoint is not signed by a key you gave"
    if old.size != int(proof["old_size"]):
        return False, f"the proof is from size {proof['old_size']}, you kept size {old.size}"
    if verify_consistency(old.size, head.size, old.root, head.root, path):
        return True, f"{head.origin} at size {head.size} extends the one you kept ({old.size})"
    return False, (f"FORKED: {head.origin} at size {head.size} does not extend the checkpoint "
                   f"you kept at size {old.size}")


def main(argv: Sequence[str] | None = None) -> int:
    """Check one proof file; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m auditverify.proofs", description=__doc__)
    parser.add_argument("proof", type=Path, help="the JSON printed by `cxgov audit prove`")
    parser.add_argument("--public-key", action="append", required=True, metavar="NAME=KEY",
                        help="a signer's name and key (PEM file, base64/hex); "
                             "the log's name is cxgov")
    parser.add_argument("--origin", help="the log's origin line you expect")
    parser.add_argument("--kept", type=Path, help="a checkpoint (signed note) you kept")
    parser.add_argument("--require-witness", action="append", default=[], metavar="NAME=KEY",
                        help="a witness whose cosignature the checkpoint needs (repeat)")
    parser.add_argument("--quorum", type=int, help="how many of the required witnesses "
                                                   "suffice (default: all)")
    parser.add_argument("--cosigned", type=Path, action="append", default=[],
                        help="the checkpoint as a witness cosigned it (repeat)")
    args = parser.parse_args(argv)
    try:
        keys = {}
        for item in args.public_key:
            name, sep, key = item.partition("=")
            if not sep:
                name, key = "cxgov", item
            keys[name] = load_public_key(key)
        proof = json.loads(args.proof.read_text(encoding="utf-8"))
        kept = None if args.kept is None else args.kept.read_text(encoding="utf-8")
        witnesses = {}
        for item in args.require_witness:
            name, sep, key = item.partition("=")
            if not sep:
                raise ValueError(f"--require-witness takes NAME=KEY, not {item!r}")
            witnesses[name] = load_public_key(key)
        cosigned = [p.read_text(encoding="utf-8") for p in args.cosigned]
        ok, why = check(proof, keys, origin=args.origin, kept=kept, witnesses=witnesses,
                        cosigned=cosigned, quorum=args.quorum)
    except NoteError as exc:
        print(f"FAILED: {exc}")
        return EXIT_FAILED
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"auditverify.proofs: unusable input: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(("PROVEN: " if ok else "FAILED: ") + why)
    return EXIT_OK if ok else EXIT_FAILED


__all__ = ["TreeHead", "check", "main"]

if __name__ == "__main__":
    sys.exit(main())
