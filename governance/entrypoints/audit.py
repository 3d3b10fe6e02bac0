"""`cxgov audit`: issue signed checkpoints, verify the history, export an audit bundle."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated

import typer

from auditverify.bundle import BundleError, load_checkpoints, load_receipts, verify_bundle
from auditverify.cli import render
from auditverify.keys import key_id, load_public_key, public_key_pem
from auditverify.live import verify_database
from auditverify.model import Report
from auditverify.note import NoteError, parse_note
from auditverify.policy import Policy, parse_duration
from governance.bootstrap import Runtime, SchemaNotMigrated, bootstrap
from governance.settings import get_settings
from governance.stores.database import DatabaseError
from governance.stores.integrity import (
    HistoryTampered,
    SigningKeyRefused,
    entry_hash,
    export_bundle,
    issue_checkpoint,
    latest_checkpoint,
    load_signing_key,
    log_origin,
    merkle_log,
    signing_key_path,
    tree_head_note,
)

audit_app = typer.Typer(
    help="Tamper evidence: signed checkpoints, verification and export for auditors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _runtime() -> Runtime:
    try:
        runtime = bootstrap()
    except (SchemaNotMigrated, DatabaseError) as exc:
        raise _fail(str(exc)) from None
    if runtime.database_url is None:
        runtime.close()
        raise _fail("the in-memory store has no hash chain; use CXGOV_STORE=postgres")
    return runtime


@audit_app.command("checkpoint")
def checkpoint_command(
    keep: Annotated[Path | None, typer.Option(
        "--keep", help="Also append the checkpoint (one JSON line) to this file, kept "
                       "outside the database.")] = None,
    new_key: Annotated[bool, typer.Option(
        "--new-key", help="Sign with a key other than the one that signed the newest "
                          "checkpoint (creating the key file if absent): a deliberate "
                          "rotation; give auditors the new public key.")] = False,
) -> None:
    """Check the rows added since the last checkpoint, then sign and store a new one.

    Never starts a new key silently: with no key configured, a key file is created only for
    a log without checkpoints (or with --new-key), and a key other than the one that signed
    the newest checkpoint is refused (exit 2) unless --new-key.
    """
    settings = get_settings()
    with _runtime() as runtime:
        try:
            try:
                key = load_signing_key(settings, create=False)
            except SigningKeyRefused as missing:
                last = latest_checkpoint(runtime.app)
                if last is not None and not new_key:
                    raise SigningKeyRefused(
                        f"{missing}, but the log has {last.seq} checkpoint(s), the newest "
                        f"signed by key {last.key_id}: point CXGOV_DATA_DIR or "
                        "CXGOV_AUDIT_SIGNING_KEY_FILE at that key, or pass --new-key to "
                        "rotate on purpose") from None
                key = load_signing_key(settings)
                typer.echo(f"created a new signing key at {signing_key_path(settings)} (key "
                           f"id {key_id(key.public_key())}); give auditors its public key "
                           "(cxgov audit public-key)", err=True)
            checkpoint = issue_checkpoint(runtime.app, key, new_key=new_key)
        except SigningKeyRefused as exc:
            raise _fail(f"refused to sign: {exc}") from None
        except HistoryTampered as exc:
            for finding in exc.findings:
                typer.echo(f"  {finding.tamper} {finding.kind} at {finding.position}: "
                           f"{finding.detail}", err=True)
            raise _fail(f"refused to sign: {exc}", 1) from None
    line = json.dumps(checkpoint.to_json(), sort_keys=True)
    if keep is not None:
        with keep.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    typer.echo(line)


@audit_app.command("public-key")
def public_key_command() -> None:
    """Print the checkpoint signing public key (PEM) for auditors to keep."""
    settings = get_settings()
    try:
        key = load_signing_key(settings, create=False).public_key()
    except SigningKeyRefused as exc:
        raise _fail(f"{exc}; `cxgov audit checkpoint` creates one for a new log") from None
    if settings.audit_signing_key is None:
        typer.echo(f"# key file: {signing_key_path(settings)}", err=True)
    typer.echo(f"# key id: {key_id(key)}", err=True)
    typer.echo(public_key_pem(key), nl=False)


@audit_app.command("verify")
def verify_command(
    public_key: Annotated[list[str], typer.Option(
        "--public-key", help="The auditor's copy of the signing public key (PEM file, or "
                             "base64/hex of the raw 32 bytes); repeat for rotated keys.")],
    bundle: Annotated[Path | None, typer.Option(
        "--bundle", help="Verify this exported bundle instead of the live database.")] = None,
    checkpoints: Annotated[Path | None, typer.Option(
        "--checkpoints", help="Checkpoints you kept (JSON lines).")] = None,
    receipts: Annotated[Path | None, typer.Option(
        "--receipts", help="Receipts you kept: {position, entry_hash} per line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    anchored_through: Annotated[int | None, typer.Option(
        "--require-anchored-through", help="Fail unless valid checkpoints anchor the history "
                                           "through this position.")] = None,
    min_checkpoints: Annotated[int | None, typer.Option(
        "--min-checkpoints", help="Fail unless at least this many valid checkpoints.")] = None,
    max_age: Annotated[str | None, typer.Option(
        "--max-age", help="Fail unless the newest valid checkpoint is at most this old "
                          "(3600, 90m, 2h, 7d).")] = None,
) -> None:
    """Verify hashes, linkage, versions, seals, checkpoints and receipts, and the policy
    given (exit 1 if tampered or the policy is not met)."""
    try:
        policy = Policy(anchored_through=anchored_through, min_checkpoints=min_checkpoints,
                        max_age_s=None if max_age is None else parse_duration(max_age))
        keys = [load_public_key(k) for k in public_key]
        kept = load_checkpoints(checkpoints) if checkpoints else []
        kept_receipts = load_receipts(receipts) if receipts else []
        report: Report
        if bundle is not None:
            report = verify_bundle(bundle, public_keys=keys, trusted_checkpoints=kept,
                                   receipts=kept_receipts)
        else:
            with _runtime() as runtime:
                assert runtime.database_url is not None
                report = verify_database(runtime.database_url, public_keys=keys,
                                         trusted_checkpoints=kept, receipts=kept_receipts)
    except (BundleError, OSError, ValueError, KeyError) as exc:
        raise _fail(f"unusable input: {exc}") from None
    report = policy.check(report)
    typer.echo(json.dumps(report.to_json(), indent=2) if as_json else render(report))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="Where to write the bundle (JSON lines).")],
) -> None:
    """Export events (exact stored bytes), the chain and the checkpoints as one bundle."""
    with _runtime() as runtime:
        assert runtime.database_url is not None
        rows = export_bundle(runtime.database_url, path)
    typer.echo(f"exported {rows} positions to {path}")


@audit_app.command("tree-head")
def tree_head_command(
    size: Annotated[int | None, typer.Option(
        "--size", help="The tree size (chain entries) to sign; default: all.")] = None,
) -> None:
    """Print a signed C2SP checkpoint (signed note) of the log's RFC 9162 Merkle tree: its
    origin line, size and root, signed with the audit signing key."""
    try:
        key = load_signing_key(get_settings(), create=False)
    except SigningKeyRefused as exc:
        raise _fail(str(exc)) from None
    with _runtime() as runtime:
        try:
            note = tree_head_note(runtime.app, key, size=size)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    typer.echo(note, nl=False)


@audit_app.command("prove")
def prove_command(
    position: Annotated[int | None, typer.Option(
        "--position", help="Prove this position's chain entry included.")] = None,
    old_note: Annotated[Path | None, typer.Option(
        "--since", help="A checkpoint (signed note) you kept: prove the log extends it.")] = None,
    size: Annotated[int | None, typer.Option(
        "--size", help="The tree size to prove against; default: all.")] = None,
) -> None:
    """Print an inclusion proof (--position) or a consistency proof (--since NOTE) as JSON,
    with the signed checkpoint it is against; check it with python -m auditverify.proofs."""
    if (position is None) == (old_note is None):
        raise _fail("give exactly one of --position and --since")
    try:
        key = load_signing_key(get_settings(), create=False)
        old = None if old_note is None else parse_note(old_note.read_text(encoding="utf-8"))[0]
    except (SigningKeyRefused, NoteError, OSError) as exc:
        raise _fail(str(exc)) from None
    with _runtime() as runtime:
        tree, positions = merkle_log(runtime.app)
        origin = log_origin(runtime.app)
        if old is not None and old.origin != origin:
            raise _fail(f"that checkpoint is of log {old.origin!r}, not this log {origin!r}")
        try:
            note = tree_head_note(runtime.app, key, size=size)
            target = tree.size if size is None else size
            out: dict[str, object] = {"checkpoint": note}
            if position is not None:
                if position not in positions:
                    raise ValueError(f"position {position} has no chain entry")
                index = positions.index(position)
                proof = tree.inclusion_proof(index, target)
                leaf = entry_hash(runtime.app, position)
                assert leaf is not None
                out.update(kind="inclusion", position=position, index=index,
                           entry_hash=leaf.hex())
            else:
                assert old is not None
                proof = tree.consistency_proof(old.size, target)
                out.update(kind="consistency", old_size=old.size)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    out["proof"] = [base64.b64encode(p).decode("ascii") for p in proof]
    typer.echo(json.dumps(out, indent=2))

