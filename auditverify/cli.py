"""`python -m auditverify`: verify a bundle file or a live database against the auditor's key."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from auditverify.bundle import BundleError, load_checkpoints, load_receipts, verify_bundle
from auditverify.keys import load_public_key
from auditverify.live import (
    DEFAULT_PREFIX,
    DEFAULT_SCHEMA,
    HttpLog,
    LogUnavailable,
    chain_entries,
    verify_database,
)
from auditverify.model import Report
from auditverify.policy import Policy, parse_duration
from auditverify.rotation import KeyRotation, load_rotations, trusted_keys
from auditverify.treeheads import bundle_entries, check_witnessed, with_witnesses
from auditverify.witness import headers

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2

DESCRIPTION = """\
Verify a cxgov history: every entry hash, the linkage of the chain, position order (gaps
are allowed and reported), per-aggregate version continuity, every checkpoint's signature
against the PUBLIC KEY YOU SUPPLY (keys inside a bundle are never trusted), that each
checkpoint's head equals the chain at its position, and the receipts and checkpoints you
kept. Each finding says what happened (deleted, inserted, altered, reordered,
unauthenticated, truncated, forked, or rule: a decision the service's rules forbid) and where.
The per-row checks run in C (auditverify/_chainloop.c, built at install where a C compiler and
the Python and OpenSSL 3 headers are there) or else in Python; AUDITVERIFY_PURE=1 runs them in
Python, with the same findings, about half as fast (decision 291).
Exit status: 0 verified, 1 tampering or damage found, 2 unusable input.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m auditverify", description=DESCRIPTION)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", type=Path, metavar="FILE",
                        help="an audit bundle exported with `cxgov audit export`")
    source.add_argument("--database", metavar="URL",
                        help="a libpq URL of the live database (read-only access suffices)")
    parser.add_argument("--public-key", action="append", required=True, metavar="KEY",
                        help="the signing public key you hold: a PEM file, or base64/hex of "
                             "the 32 raw bytes; repeat for rotated keys")
    parser.add_argument("--checkpoints", type=Path, metavar="FILE",
                        help="checkpoints you kept (JSON lines or array); each must still be "
                             "in the history and match it")
    parser.add_argument("--receipts", type=Path, metavar="FILE",
                        help="receipts you kept: {\"position\", \"entry_hash\"} per line")
    parser.add_argument("--require-anchored-through", type=int, metavar="POSITION",
                        help="fail unless valid checkpoints anchor the history through "
                             "POSITION (e.g. the newest position you saw last time)")
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1,
                        help="with --bundle (8 MiB or more): 2 has a forked helper process "
                             "read and check the file's second half while this one reads the "
                             "first; its work is used only if its half was clean (same "
                             "findings either way; a 1,000,000-row bundle took 7.8 s against "
                             "13.5-13.8 s on a 2-core VM, with 573 MB of memory against 100 "
                             "MB; decisions 290, 291)")
    parser.add_argument("--check-signatures", action="store_true",
                        help="check every write seal's Ed25519 signature, even where its MAC "
                             "under a disclosed epoch key authenticates it (about five times "
                             "slower on a real log's bundle; the findings are the same unless a "
                             "disclosed key was misused)")
    parser.add_argument("--min-checkpoints", type=int, metavar="N",
                        help="fail unless at least N valid checkpoints are in the history")
    parser.add_argument("--max-age", metavar="DURATION",
                        help="fail unless the newest valid checkpoint is at most this old "
                             "(3600, 90m, 2h, 7d)")
    parser.add_argument("--key-rotations", type=Path, metavar="FILE",
                        help="signed key rotations (JSON lines, `cxgov audit key-rotations`): "
                             "a key is trusted when a key you gave handed over to it")
    parser.add_argument("--require-witness", action="append", default=[], metavar="NAME=KEY",
                        help="a witness (name and public key) whose cosignature the history "
                             "needs: the history must extend every checkpoint the quorum "
                             "cosigned (repeat)")
    parser.add_argument("--quorum", type=int, metavar="N",
                        help="how many of the required witnesses suffice (default: all)")
    parser.add_argument("--cosigned", type=Path, action="append", default=[], metavar="NOTE",
                        help="a checkpoint as witnesses cosigned it (signed note; repeat)")
    parser.add_argument("--url", help="the service's base URL: fetch its newest witnessed "
                                      "checkpoint and its key rotations (checked here)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                        help="an HTTP header for --url (e.g. 'Authorization: Bearer ...')")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="schema of a live database")
    parser.add_argument("--table-prefix", default=DEFAULT_PREFIX,
                        help="table prefix (application name) of a live database")
    return parser


def render(report: Report) -> str:
    """A human summary of the report."""
    lines = [
        ("VERIFIED" if report.ok else "FAILED")
        + f": {report.rows} rows up to position {report.last_position}, "
        + f"{report.valid_checkpoints} valid checkpoint(s), anchored through position "
        + f"{report.anchored_through}"
    ]
    if report.seals_by_mac or report.seals_by_signature:
        lines.append(f"write seals: {report.seals_by_mac} authenticated by MAC under a "
                     f"disclosed epoch key, {report.seals_by_signature} by signature")
    if report.first_bad_position is not None:
        lines.append(f"first bad position: {report.first_bad_position}")
    gaps = [f for f in report.findings if f.kind == "gap"]
    for f in report.findings:
        if f.kind != "gap":
            where = "-" if f.position is None else str(f.position)
            lines.append(f"  {f.severity:7} {f.tamper:15} {f.kind:22} at {where}: {f.detail}")
    if gaps:
        lines.append(f"  info    {len(gaps)} gap(s) in the positions, each attested by the chain")
    if report.omitted_findings:
        lines.append(f"  ... and {report.omitted_findings} more finding(s)")
    return "\n".join(lines)


def newest_witnessed(log: HttpLog, names: set[str], quorum: int | None) -> str:
    """The checkpoint (with its stored cosignatures) of the newest size the service says
    enough of these witnesses cosigned; its newest checkpoint if none (then `unwitnessed`)."""
    need = len(names) if quorum is None else quorum
    for item in log.witnessed():
        named = item.get("witnesses")
        if isinstance(named, list) and len(names & set(map(str, named))) >= need:
            return log.checkpoint(int(item["size"]))
    return log.checkpoint()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verifier; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        policy = Policy(
            anchored_through=args.require_anchored_through,
            min_checkpoints=args.min_checkpoints,
            max_age_s=None if args.max_age is None else parse_duration(args.max_age))
        log = None if args.url is None else HttpLog(args.url, headers=headers(args.header))
        rotations = load_rotations(args.key_rotations) if args.key_rotations else []
        if log is not None:
            rotations += [KeyRotation.from_json(r) for r in log.rotations()]
        keys = trusted_keys([load_public_key(k) for k in args.public_key], rotations)
        witnesses = {}
        for item in args.require_witness:
            name, sep, key = item.partition("=")
            if not sep:
                raise ValueError(f"--require-witness takes NAME=KEY, not {item!r}")
            witnesses[name] = load_public_key(key)
        notes = [p.read_text(encoding="utf-8") for p in args.cosigned]
        if witnesses and log is not None:
            notes.append(newest_witnessed(log, set(witnesses), args.quorum))
        kept = load_checkpoints(args.checkpoints) if args.checkpoints else []
        receipts = load_receipts(args.receipts) if args.receipts else []
        if args.bundle is not None:
            report = verify_bundle(args.bundle, public_keys=keys, trusted_checkpoints=kept,
                                   receipts=receipts, workers=args.workers,
                                   check_signatures=args.check_signatures)
        else:
            report = verify_database(args.database, public_keys=keys, trusted_checkpoints=kept,
                                     receipts=receipts, prefix=args.table_prefix,
                                     schema=args.schema,
                                     check_signatures=args.check_signatures)
        if witnesses:
            entries = (bundle_entries(args.bundle) if args.bundle is not None else
                       chain_entries(args.database, prefix=args.table_prefix,
                                     schema=args.schema))
            report = with_witnesses(report, check_witnessed(
                entries, notes, keys, witnesses, quorum=args.quorum))
    except LogUnavailable as exc:
        print(f"auditverify: the service did not answer: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (BundleError, OSError, ValueError, KeyError) as exc:
        print(f"auditverify: unusable input: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as exc:  # e.g. psycopg errors on a live database
        print(f"auditverify: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    report = policy.check(report)
    print(json.dumps(report.to_json(), indent=2) if args.json else render(report))
    return EXIT_OK if report.ok else EXIT_FAILED
