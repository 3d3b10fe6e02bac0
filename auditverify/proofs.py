"""`python -m auditverify.proofs`: check an inclusion or consistency proof (`cxgov audit prove`)
against the signed checkpoint it carries, the log's public key and, for consistency, a
checkpoint you kept. O(log n) data; imports nothing of the service.

With `--url` the proof is fetched from the service (GET /v1/audit/proofs/inclusion or
/consistency); the checkpoint it answers carries the witness cosignatures the service stored,
and with `--require-witness` and no `--size` the newest size the service says its witnesses
cosigned is asked for (the cosignatures themselves are checked here, never the claim).

Exit status: 0 proven, 1 the proof or checkpoint does not hold, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditverify.keys import load_public_key
from auditverify.live import HttpLog, LogUnavailable
from auditverify.merkle import verify_consistency, verify_inclusion
from auditverify.note import NoteError, TreeHead, parse_note
from auditverify.witness import cosigners, headers, proof_hashes, verify_log_note

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


def witnessed(checkpoint: str, cosigned: Sequence[str],
              witnesses: dict[str, Ed25519PublicKey]) -> set[str]:
    """The named witnesses that validly cosigned this very checkpoint (same body), on the
    checkpoint itself (as the service serves it) or on the notes the witnesses gave you."""
    body = checkpoint.partition("\n\n")[0]
    names: set[str] = set()
    for note in (checkpoint, *cosigned):
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
    path = proof_hashes(proof)
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


def fetch_proof(log: HttpLog, *, position: int | None, kept: str | None,
                size: int | None = None, witnesses: set[str] | frozenset[str] = frozenset(),
                quorum: int | None = None) -> dict[str, Any]:
    """The inclusion proof of `position`, or the consistency proof from the `kept`
    checkpoint, from the service; with witnesses required and no size, against the newest
    size the service says enough of them cosigned (checked afterwards, by `check`)."""
    if (position is None) == (kept is None):
        raise ValueError("with --url give exactly one of --position and --kept")
    if size is None and witnesses:
        need = len(witnesses) if quorum is None else quorum
        for item in log.witnessed():
            named = item.get("witnesses")
            if isinstance(named, list) and len(witnesses & set(map(str, named))) >= need:
                size = int(item["size"])
                break
    if position is not None:
        return log.inclusion(position, size)
    assert kept is not None
    return log.consistency(parse_note(_log_lines(kept))[0].size, size)


def _log_lines(note: str) -> str:
    body, _, _ = note.partition("\n\n")
    return body + "\n\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Check one proof file; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m auditverify.proofs", description=__doc__)
    parser.add_argument("proof", type=Path, nargs="?",
                        help="the JSON printed by `cxgov audit prove` (or use --url)")
    parser.add_argument("--url", help="fetch the proof from the service at this base URL")
    parser.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                        help="an HTTP header for --url (e.g. 'Authorization: Bearer ...')")
    parser.add_argument("--position", type=int, help="with --url: prove this position included")
    parser.add_argument("--size", type=int, help="with --url: the tree size to prove against")
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
        kept = None if args.kept is None else args.kept.read_text(encoding="utf-8")
        witnesses = {}
        for item in args.require_witness:
            name, sep, key = item.partition("=")
            if not sep:
                raise ValueError(f"--require-witness takes NAME=KEY, not {item!r}")
            witnesses[name] = load_public_key(key)
        if (args.proof is None) == (args.url is None):
            raise ValueError("give a proof file or --url, not both")
        if args.proof is not None:
            proof = json.loads(args.proof.read_text(encoding="utf-8"))
        else:
            proof = fetch_proof(HttpLog(args.url, headers=headers(args.header)),
                                position=args.position, kept=kept, size=args.size,
                                witnesses=set(witnesses), quorum=args.quorum)
        cosigned = [p.read_text(encoding="utf-8") for p in args.cosigned]
        ok, why = check(proof, keys, origin=args.origin, kept=kept, witnesses=witnesses,
                        cosigned=cosigned, quorum=args.quorum)
    except NoteError as exc:
        print(f"FAILED: {exc}")
        return EXIT_FAILED
    except LogUnavailable as exc:
        print(f"auditverify.proofs: the log did not answer: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"auditverify.proofs: unusable input: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(("PROVEN: " if ok else "FAILED: ") + why)
    return EXIT_OK if ok else EXIT_FAILED


__all__ = ["TreeHead", "check", "main"]

if __name__ == "__main__":
    sys.exit(main())
