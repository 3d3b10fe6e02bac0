"""Witnessed tree heads in the full verifier (issue 18, part 3): `python -m auditverify
--require-witness NAME=KEY ... --cosigned NOTE` (or `--url`, fetching the newest checkpoint the
service says its witnesses cosigned). The history's own RFC 9162 tree must equal every signed
checkpoint that a quorum of the witnesses you name cosigned: a history cut below a witnessed
size is `witnessed_truncated`, one whose tree at that size has another root is
`witnessed_forked`, and no checkpoint with the quorum is `unwitnessed`. Only public keys are
used (the log's and the witnesses'), never a key the service names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditverify.bundle import _bundle_rows
from auditverify.merkle import MerkleTree
from auditverify.model import Finding, Report
from auditverify.note import NoteError, TreeHead
from auditverify.witness import cosigners, verify_log_note

LOG_KEY_NAME = "cxgov"


def witnessed_heads(notes: Sequence[str], log_keys: Sequence[Ed25519PublicKey],
                    witnesses: dict[str, Ed25519PublicKey],
                    quorum: int | None = None) -> tuple[list[TreeHead], list[Finding]]:
    """The checkpoints signed by the log and cosigned by the quorum (default: every witness
    named), counting the cosignatures on every note of the same checkpoint (each witness
    gives you its own), and a finding per checkpoint that is not."""
    need = len(witnesses) if quorum is None else quorum
    bodies: dict[str, tuple[TreeHead, bool, set[str]]] = {}
    problems: list[Finding] = []
    for note in notes:
        try:
            head, _ = verify_log_note(note, {}, None)
        except NoteError as exc:
            problems.append(Finding("unwitnessed", None, f"a cosigned note is unreadable: {exc}",
                                    tamper="unauthenticated"))
            continue
        signed = any(verify_log_note(note, {LOG_KEY_NAME: key}, None)[1] for key in log_keys)
        body = head.body()
        _, was_signed, names = bodies.get(body, (head, False, set()))
        bodies[body] = (head, was_signed or signed, names | cosigners(note, witnesses))
    heads: list[TreeHead] = []
    for head, signed, have in bodies.values():
        if signed and len(have) >= need:
            heads.append(head)
            continue
        why = ("not signed by the log's key you gave" if not signed else
               f"cosigned by {len(have)} of the {need} witness(es) required "
               f"(missing: {', '.join(sorted(set(witnesses) - have))})")
        problems.append(Finding("unwitnessed", None,
                                f"the checkpoint of size {head.size} is {why}",
                                tamper="unauthenticated"))
    return heads, problems


def check_witnessed(entries: Sequence[tuple[int, bytes]], notes: Sequence[str],
                    log_keys: Sequence[Ed25519PublicKey],
                    witnesses: dict[str, Ed25519PublicKey], *, quorum: int | None = None,
                    origin: str | None = None) -> list[Finding]:
    """Findings for the history's chain entries ((position, entry hash) in position order)
    against the witnessed checkpoints; none when every witnessed checkpoint is a prefix."""
    heads, problems = witnessed_heads(notes, log_keys, witnesses, quorum)
    if origin is not None:
        heads = [h for h in heads if h.origin == origin]
    if not heads:
        after = entries[-1][0] + 1 if entries else 1
        return [*problems, Finding(
            "unwitnessed", after, "no checkpoint signed by the log and cosigned by the "
            "required witnesses: the history is not witnessed", tamper="unauthenticated")]
    tree = MerkleTree([digest for _, digest in entries])
    findings: list[Finding] = []
    for head in sorted(heads, key=lambda h: h.size):
        if head.size > tree.size:
            after = entries[-1][0] + 1 if entries else 1
            findings.append(Finding(
                "witnessed_truncated", after,
                f"witnesses cosigned {head.size} entries of {head.origin}; the history holds "
                f"{tree.size}: {head.size - tree.size} entries after it were removed",
                tamper="truncated"))
        elif tree.root(head.size) != head.root:
            findings.append(Finding(
                "witnessed_forked", entries[head.size - 1][0],
                f"the history's first {head.size} entries do not hash to the root the "
                f"witnesses cosigned: an entry at or before this position was rewritten",
                tamper="forked"))
    return findings


def bundle_entries(path: Path) -> list[tuple[int, bytes]]:
    """The chain entries of a bundle, (position, entry hash) in order."""
    return [(row.position, row.chain.entry_hash) for row in _bundle_rows(path)
            if row.chain is not None]


def with_witnesses(report: Report, findings: Sequence[Finding]) -> Report:
    """The report plus the witness findings (errors)."""
    errors = [f for f in findings if f.severity == "error"]
    return report.with_findings(errors) if errors else report
