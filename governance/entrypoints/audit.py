"""`cxgov audit`: issue signed checkpoints, verify the history, export an audit bundle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditverify.bundle import BundleError, load_checkpoints, load_receipts, verify_bundle
from auditverify.cli import render
from auditverify.encoding import micros
from auditverify.keys import key_id, load_public_key, public_key_pem
from auditverify.live import chain_entries, verify_database
from auditverify.model import Report
from auditverify.note import NoteError, parse_note
from auditverify.policy import Policy, parse_duration
from auditverify.rotation import load_rotations, sign_rotation, trusted_keys
from auditverify.treeheads import bundle_entries, check_witnessed, with_witnesses
from domain.errors import CxgovError
from governance.bootstrap import Runtime, SchemaNotMigrated, bootstrap
from governance.settings import get_settings
from governance.stores import merkle_log as served_log
from governance.stores.database import DatabaseError
from governance.stores.integrity import (
    HistoryTampered,
    SigningKeyRefused,
    export_bundle,
    issue_checkpoint,
    latest_checkpoint,
    load_signing_key,
    parse_signing_key,
    signing_key_path,
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
            checkpoint = issue_checkpoint(runtime.app, key,
                                          new_key=new_key or _handed_over(runtime, key))
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


def _handed_over(runtime: Runtime, key: Ed25519PrivateKey) -> bool:
    """Whether a stored rotation, signed by the key of the newest checkpoint, hands over to
    this key (transitively): then signing with it is the rotation the old key asked for."""
    last = latest_checkpoint(runtime.app)
    if last is None or last.key_id == key_id(key.public_key()):
        return False
    old = Ed25519PublicKey.from_public_bytes(last.public_key)
    trusted = trusted_keys([old], served_log.rotations(runtime.app))
    return any(key_id(k) == key_id(key.public_key()) for k in trusted)


@audit_app.command("rotate-key")
def rotate_key_command(
    old_key: Annotated[Path, typer.Option(
        "--old-key", help="The key being retired (PEM or seed file): the one that signed the "
                          "newest checkpoint. The configured key is the new one.")],
) -> None:
    """Rotate the signing key with the old key's consent: the old key signs a statement
    handing over to the configured key (stored in the log's key rotations, printed as one
    JSON line), then the new key signs a checkpoint. Auditors who hold only the old public
    key trust the new one through it (python -m auditverify --key-rotations)."""
    settings = get_settings()
    try:
        old = parse_signing_key(old_key.read_text(encoding="ascii"))
        new = load_signing_key(settings, create=False)
    except (OSError, ValueError, SigningKeyRefused) as exc:
        raise _fail(f"refused to rotate: {exc}") from None
    if key_id(old.public_key()) == key_id(new.public_key()):
        raise _fail("refused to rotate: the old key is the configured key")
    with _runtime() as runtime:
        last = latest_checkpoint(runtime.app)
        if last is not None and last.key_id != key_id(old.public_key()):
            raise _fail(f"refused to rotate: the newest checkpoint ({last.seq}) was signed by "
                        f"key {last.key_id}, not by the old key {key_id(old.public_key())}")
        rotation = sign_rotation(old, new.public_key(), micros(datetime.now(UTC)))
        served_log.record_rotation(runtime.app, rotation)
        try:
            checkpoint = issue_checkpoint(runtime.app, new, new_key=True)
        except (SigningKeyRefused, HistoryTampered) as exc:
            raise _fail(f"rotated, but refused to sign a checkpoint: {exc}", 1) from None
    typer.echo(json.dumps(rotation.to_json(), sort_keys=True))
    typer.echo(f"key {key_id(old.public_key())} handed over to {key_id(new.public_key())}; "
               f"checkpoint {checkpoint.seq} signed by the new key", err=True)


@audit_app.command("key-rotations")
def key_rotations_command() -> None:
    """Print every signed key rotation, one JSON line each (for --key-rotations)."""
    with _runtime() as runtime:
        for rotation in served_log.rotations(runtime.app):
            typer.echo(json.dumps(rotation.to_json(), sort_keys=True))


@audit_app.command("witness-add")
def witness_add_command(
    name: Annotated[str, typer.Argument(help="The witness's key name (as on its cosignatures).")],
    public_key: Annotated[str, typer.Argument(
        help="Its Ed25519 public key: a PEM file, or base64/hex of the 32 raw bytes.")],
) -> None:
    """Register a witness: its cosignatures (POST /v1/audit/cosignatures) are then checked
    against this key, stored and served with the checkpoint. Never replaced in place."""
    try:
        key = load_public_key(public_key)
    except (OSError, ValueError) as exc:
        raise _fail(f"not a public key: {exc}") from None
    with _runtime() as runtime:
        try:
            served_log.register_witness(runtime.app, name, key)
        except CxgovError as exc:
            raise _fail(exc.message) from None
    typer.echo(f"witness {name} registered (key id {key_id(key)})")


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
    require_witness: Annotated[list[str] | None, typer.Option(
        "--require-witness", help="NAME=KEY of a witness whose cosignature the history needs "
                                  "(repeat): it must extend every checkpoint the quorum "
                                  "cosigned.")] = None,
    quorum: Annotated[int | None, typer.Option(
        "--quorum", help="How many of the required witnesses suffice (default: all).")] = None,
    cosigned: Annotated[list[Path] | None, typer.Option(
        "--cosigned", help="A checkpoint as your witnesses cosigned it (repeat).")] = None,
    key_rotations: Annotated[Path | None, typer.Option(
        "--key-rotations", help="Signed key rotations (cxgov audit key-rotations): a key "
                                "a key you gave handed over to is trusted.")] = None,
    check_signatures: Annotated[bool, typer.Option(
        "--check-signatures", help="Check every write seal's signature, even where its MAC "
                                   "under a disclosed epoch key authenticates it (slower; "
                                   "decision 287).")] = False,
) -> None:
    """Verify hashes, linkage, versions, seals, checkpoints and receipts, and the policy
    given (exit 1 if tampered or the policy is not met)."""
    try:
        policy = Policy(anchored_through=anchored_through, min_checkpoints=min_checkpoints,
                        max_age_s=None if max_age is None else parse_duration(max_age))
        keys = trusted_keys([load_public_key(k) for k in public_key],
                            load_rotations(key_rotations) if key_rotations else [])
        witnesses = {}
        for item in require_witness or []:
            name, sep, key = item.partition("=")
            if not sep:
                raise ValueError(f"--require-witness takes NAME=KEY, not {item!r}")
            witnesses[name] = load_public_key(key)
        notes = [p.read_text(encoding="utf-8") for p in cosigned or []]
        kept = load_checkpoints(checkpoints) if checkpoints else []
        kept_receipts = load_receipts(receipts) if receipts else []
        report: Report
        if bundle is not None:
            report = verify_bundle(bundle, public_keys=keys, trusted_checkpoints=kept,
                                   receipts=kept_receipts, check_signatures=check_signatures)
        else:
            with _runtime() as runtime:
                assert runtime.database_url is not None
                report = verify_database(runtime.database_url, public_keys=keys,
                                         trusted_checkpoints=kept, receipts=kept_receipts,
                                         check_signatures=check_signatures)
                entries = chain_entries(runtime.database_url) if witnesses else []
        if witnesses:
            if bundle is not None:
                entries = bundle_entries(bundle)
            report = with_witnesses(report, check_witnessed(entries, notes, keys, witnesses,
                                                            quorum=quorum))
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
    origin line, size and root, signed with the audit signing key, followed by the witness
    cosignatures stored for it (GET /v1/audit/checkpoint)."""
    try:
        key = load_signing_key(get_settings(), create=False)
    except SigningKeyRefused as exc:
        raise _fail(str(exc)) from None
    with _runtime() as runtime:
        served_log.forget(runtime.app)  # read the whole chain afresh (no process cache)
        try:
            note = served_log.checkpoint(runtime.app, key, size)
        except CxgovError as exc:
            raise _fail(exc.message) from None
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
    with the signed checkpoint it is against (GET /v1/audit/proofs/...); check it with
    python -m auditverify.proofs."""
    if (position is None) == (old_note is None):
        raise _fail("give exactly one of --position and --since")
    try:
        key = load_signing_key(get_settings(), create=False)
        old = None if old_note is None else parse_note(
            old_note.read_text(encoding="utf-8").partition("\n\n")[0] + "\n\n")[0]
    except (SigningKeyRefused, NoteError, OSError) as exc:
        raise _fail(str(exc)) from None
    with _runtime() as runtime:
        served_log.forget(runtime.app)  # read the whole chain afresh (no process cache)
        try:
            if old is not None:
                origin = served_log.origin_of(runtime.app)
                if old.origin != origin:
                    raise _fail(f"that checkpoint is of log {old.origin!r}, not this log "
                                f"{origin!r}")
                out = served_log.consistency(runtime.app, key, old.size, size)
            else:
                assert position is not None
                out = served_log.inclusion(runtime.app, key, position, size)
        except CxgovError as exc:
            raise _fail(exc.message) from None
    typer.echo(json.dumps(out, indent=2))
