"""`cxgov serve`, `cxgov token`, `cxgov sign-in-link` and the demo personas (mounted in
governance/entrypoints/cli.py)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from typing import Annotated

import typer

from auditverify.keys import key_id
from governance.bootstrap import Runtime
from governance.entrypoints.webhooks import delivering
from governance.identity import LINK_PURPOSE, Persona, demo_personas, mint
from governance.principal import ROLES
from governance.settings import get_settings
from governance.stores.checkpointer import Checkpointer
from governance.stores.database import embedded_status, embedded_stop
from governance.stores.integrity import (
    SigningKeyRefused,
    latest_checkpoint,
    load_signing_key,
    signing_key_path,
)
from governance.stores.projectors import run_projectors

#: The default lifetime of a one-time sign-in link (`cxgov sign-in-link`), in minutes.
LINK_MINUTES = 10


def app_factory() -> str:
    """The import string of the API's app factory (`api.app.serve`) for uvicorn, whose worker
    processes import it by name. Taken from the function itself, so a rename cannot leave a
    stale string: the one import of the API by the application layer, declared as such in
    pyproject.toml's import contracts."""
    from api.app import serve

    return f"{serve.__module__}:{serve.__qualname__}"


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.", min=1)] = 2,
    projectors: Annotated[bool | None, typer.Option(
        "--projectors/--no-projectors",
        help="Run the projectors (portfolio, audit log) in this process, beside the workers. "
             "Default: on with the embedded server (no CXGOV_DATABASE_URL), off with a "
             "configured database, where `cxgov project` runs as its own process. Give "
             "--no-projectors when `cxgov project` runs beside the embedded server.",
        show_default=False)] = None,
) -> None:
    """Run the HTTP API with uvicorn, several worker processes, via the app factory.

    With no CXGOV_DATABASE_URL the embedded server in CXGOV_DATA_DIR is started (and stopped
    at the end if this command started it) and migrated, and the projectors run in this
    process unless --no-projectors. A configured database must already be migrated
    (`cxgov migrate`); its projectors run as `cxgov project` unless --projectors. The audit
    signing key that seals every write is ready before the workers start: the projectors'
    checkpointer makes it; with --no-projectors on the embedded server it is made for a log
    without checkpoints, and otherwise a missing key is a warning (writes unsealed), never a
    new key."""
    import uvicorn

    from governance.entrypoints.common import embedded_default, fail, runtime

    settings = get_settings()
    embedded = embedded_default(settings)
    here = embedded if projectors is None else projectors
    if here and settings.store != "postgres":
        raise fail("projectors need PostgreSQL (CXGOV_STORE=postgres)")
    was_running = not embedded or embedded_status(settings.data_dir).running
    if here or not was_running:
        # SIGTERM ends this command like Ctrl-C (uvicorn re-raises it after its shutdown), so
        # the projectors stop and an embedded server this command started is stopped below.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        # Refuses an unreachable database or an unmigrated configured schema in one line;
        # kept open while serving: the workers find the embedded server running.
        with runtime(keep_embedded=True) as rt, projecting(rt) if here else nullcontext():
            if here:
                typer.echo("projectors running in this process (--no-projectors to leave "
                           "them to `cxgov project`)")
            else:
                note = writer_key(rt, embedded=embedded)
                if note:
                    typer.echo(note, err=True)
            uvicorn.run(app_factory(), factory=True, host=host, port=port, workers=workers,
                        proxy_headers=False, server_header=False)
    finally:
        if not was_running:
            embedded_stop(settings.data_dir)


def writer_key(rt: Runtime, *, embedded: bool) -> str | None:
    """Make sure the workers seal every write from the first, when the projectors (whose
    checkpointer makes the audit signing key) run elsewhere; a line to print, or None.

    The workers read the key when each builds its runtime, so it must exist before uvicorn
    starts them. With the embedded server (one machine, one data folder, which `cxgov
    project` beside it shares) the key file is made here, but only for a log without
    checkpoints, as `cxgov audit checkpoint` would: a log whose checkpoints another key
    signed gets a warning, never a new key. With a configured database it is never made
    here (each host would make its own): a warning says the writes are not sealed."""
    settings = rt.settings
    if settings.store != "postgres" or not settings.audit_checkpoint_interval_seconds:
        return None
    try:
        load_signing_key(settings, create=False)
        return None
    except SigningKeyRefused as missing:
        absent = str(missing)
    except (ValueError, OSError) as exc:  # a key that cannot be read: said, never replaced
        return f"warning: the audit signing key cannot be read ({exc}); writes are not sealed"
    last = latest_checkpoint(rt.app) if embedded else None
    if embedded and last is None:
        key = load_signing_key(settings)
        return (f"created the audit signing key at {signing_key_path(settings)} (key id "
                f"{key_id(key.public_key())}), so every write is sealed; give auditors its "
                "public key (cxgov audit public-key)")
    why = (f"the log's {last.seq} checkpoint(s) were signed by key {last.key_id}: point "
           "CXGOV_AUDIT_SIGNING_KEY_FILE at that key" if last is not None else
           "give every process that writes the same key (CXGOV_AUDIT_SIGNING_KEY or "
           "CXGOV_AUDIT_SIGNING_KEY_FILE)")
    return (f"warning: {absent}; this server's writes are not sealed, and auditors will "
            f"see them as unsealed rows: {why}")


def checkpointer(rt: Runtime) -> Callable[[], object] | None:
    """Periodic and period-close audit checkpoints, when configured."""
    interval = rt.settings.audit_checkpoint_interval_seconds
    if not interval or rt.database_url is None:
        return None
    return Checkpointer(rt.app, load_signing_key(rt.settings), interval).tick


@contextmanager
def projecting(rt: Runtime) -> Iterator[None]:
    """The projectors (and the periodic audit checkpoints) in one thread of this process while
    the block runs: `cxgov serve` and `cxgov demo` run them beside uvicorn, whose worker
    processes are spawned, so exactly one projector runs however many workers serve."""
    stop = threading.Event()
    thread = threading.Thread(target=run_projectors, args=(rt.env,),
                              kwargs={"stop": stop, "on_idle": checkpointer(rt)},
                              name="projectors", daemon=True)
    thread.start()
    try:
        with delivering(rt):  # the webhook process beside the projectors
            yield
    finally:
        stop.set()
        thread.join(timeout=30)


def token_command(
    sub: Annotated[str, typer.Option("--sub", help="The subject (user or service id).")],
    role: Annotated[list[str], typer.Option(
        "--role", help=f"A role ({', '.join(ROLES)}); repeat for several.")],
    pnl: Annotated[list[str] | None, typer.Option(
        "--pnl", help="A P&L code the subject owns; repeat for several.")] = None,
    name: Annotated[str, typer.Option(help="Display name (default: the subject).")] = "",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=60, max=86_400)] = 3600,
) -> None:
    """Print an embedded-mode (HS256) bearer token for a subject with roles and P&Ls."""
    _check_roles(role)
    typer.echo(mint(Persona(sub, name or sub, tuple(role), tuple(pnl or ())), ttl=ttl))


def _check_roles(role: Sequence[str]) -> None:
    unknown = sorted(set(role) - set(ROLES))
    if unknown or not role:
        raise typer.BadParameter(f"unknown role {', '.join(unknown)}; choose from "
                                 f"{', '.join(ROLES)}", param_hint="--role")


def sign_in_link_command(
    sub: Annotated[str, typer.Argument(help="The person's subject (user id).")],
    role: Annotated[list[str], typer.Option(
        "--role", help=f"A role ({', '.join(ROLES)}); repeat for several.")],
    pnl: Annotated[list[str] | None, typer.Option(
        "--pnl", help="A P&L code the person owns; repeat for several.")] = None,
    name: Annotated[str, typer.Option(help="Display name (default: the subject).")] = "",
    base_url: Annotated[str, typer.Option(
        help="The dashboard's address as the person's browser reaches it.")] = (
        "http://127.0.0.1:8000"),
    minutes: Annotated[int, typer.Option(
        help="Minutes until the link expires.", min=1, max=60)] = LINK_MINUTES,
) -> None:
    """Print a one-time dashboard sign-in link for a named person (embedded mode): it works
    once, within --minutes, and starts a dashboard session with these roles and P&Ls."""
    from governance.entrypoints.common import fail, runtime
    from governance.stores.sessions import Claims, sessions_of

    _check_roles(role)
    settings = get_settings()
    if settings.jwt_jwks_url:
        raise fail("with an identity provider (CXGOV_JWT_JWKS_URL) people sign in through it")
    with runtime() as rt:
        if rt.database_url is None:
            raise fail("sign-in links are kept in PostgreSQL: the in-memory store cannot "
                       "share them with a server")
        claims = Claims(sub, name or sub, tuple(role), tuple(pnl or ()), settings.jwt_issuer)
        code = sessions_of(rt).issue(LINK_PURPOSE, claims.to_dict(),
                                     ttl=timedelta(minutes=minutes))
    typer.echo(f"{base_url.rstrip('/')}/dashboard/sign-in/{code}")


def personas_json(ttl: int = 8 * 3600) -> str:
    """The demo personas with fresh tokens, as JSON (for `cxgov demo`)."""
    return json.dumps([{"sub": p.sub, "name": p.name, "roles": list(p.roles),
                        "pnls": list(p.pnls), "token": mint(p, ttl=ttl)}
                       for p in demo_personas()], indent=2)
