"""CLI: `cxgov db start|stop|status|url` and `cxgov migrate`."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from governance.settings import Settings, get_settings, parse_database_url
from governance.stores.database import (
    DatabaseError,
    current_revision,
    embedded_start,
    embedded_status,
    embedded_stop,
    head_revision,
    migrate,
    resolve_database_url,
    wait_for_database,
)

#: Exit status of `cxgov db status` when the server is stopped (as `pg_ctl status`).
EXIT_NOT_RUNNING = 3

db_app = typer.Typer(
    help="Manage the embedded PostgreSQL server kept in CXGOV_DATA_DIR.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    """Print message to stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _settings() -> Settings:
    """Return the settings, or exit with the validation errors (without a traceback)."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise _fail(f"invalid CXGOV_* settings:\n{exc}") from None


def _note_configured_url() -> None:
    """Warn that cxgov will not use the embedded server while CXGOV_DATABASE_URL is set."""
    if _settings().database_url is not None:
        typer.echo("note: CXGOV_DATABASE_URL is set, so cxgov uses that database.", err=True)


@db_app.command("start")
def start() -> None:
    """Start the embedded server (initialising it on first use) and print its URL."""
    settings = _settings()
    _note_configured_url()
    try:
        url = embedded_start(settings.data_dir)
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    typer.echo(url)


@db_app.command("stop")
def stop() -> None:
    """Stop the embedded server (fast shutdown: open sessions are disconnected)."""
    settings = _settings()
    try:
        was_running = embedded_stop(settings.data_dir)
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    typer.echo("stopped" if was_running else "not running")


@db_app.command("status")
def status() -> None:
    """Show whether the embedded server runs, and its schema revision; exit 3 if stopped."""
    settings = _settings()
    state = embedded_status(settings.data_dir)
    typer.echo(f"pgdata:  {state.pgdata}")
    if not state.running or state.url is None:
        typer.echo("server:  stopped")
        raise typer.Exit(EXIT_NOT_RUNNING)
    typer.echo(f"server:  running (pid {state.pid})")
    typer.echo(f"url:     {state.url}")
    try:
        revision = current_revision(state.url)
    except Exception as exc:  # report, do not crash, a server that refuses us
        typer.echo(f"schema:  unknown ({type(exc).__name__}: {exc})")
        return
    head = head_revision()
    behind = "" if revision == head else f" (latest is {head}; run `cxgov migrate`)"
    typer.echo(f"schema:  {revision or 'empty'}{behind}")
    _note_configured_url()


@db_app.command("url")
def url() -> None:
    """Print the libpq URL cxgov connects to (e.g. psql "$(cxgov db url)")."""
    settings = _settings()
    if settings.database_url is not None:
        typer.echo(settings.database_url.get_secret_value())
        return
    state = embedded_status(settings.data_dir)
    if not state.running or state.url is None:
        raise _fail("the embedded server is not running; start it with `cxgov db start`")
    typer.echo(state.url)


def migrate_command() -> None:
    """Upgrade the configured database to the latest schema (alembic upgrade head)."""
    settings = _settings()
    if settings.store != "postgres":
        raise _fail("CXGOV_STORE is not postgres: there is no database to migrate")
    try:
        url, started = resolve_database_url(settings)
        if started:
            typer.echo("started the embedded server (stop it with `cxgov db stop`)", err=True)
        wait_for_database(url, timeout_s=float(settings.db_connect_timeout))
        before = current_revision(url)
        migrate(url)
        after = current_revision(url)
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    where = parse_database_url(url).redacted_url()
    if before == after:
        typer.echo(f"{where}: already at {after}")
    else:
        typer.echo(f"{where}: migrated {before or 'base'} -> {after}")
