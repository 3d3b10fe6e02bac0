"""Helpers shared by the command-line modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from domain.errors import CxgovError
from governance.app import Governance
from governance.bootstrap import Runtime, SchemaNotMigrated, bootstrap
from governance.principal import Principal
from governance.settings import Settings, get_settings
from governance.stores.database import DatabaseError
from governance.unit_of_work import CommandResult
from projections.query import AsOfOutOfRange, NotCaughtUp, ReadModels
from projections.rows import jsonable


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error in red on stderr; return the Exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def embedded_default(settings: Settings) -> bool:
    """Whether the store is cxgov's own embedded server (PostgreSQL, no CXGOV_DATABASE_URL)."""
    return settings.store == "postgres" and settings.database_url is None


def runtime(*, auto_migrate: bool | None = None, keep_embedded: bool = False) -> Runtime:
    """Bootstrap from the environment, turning setup problems into one clear line.

    The embedded server (no CXGOV_DATABASE_URL) is started if needed and migrated to the
    newest schema, as `cxgov demo` does: it is cxgov's own, in CXGOV_DATA_DIR. A configured
    database is never migrated implicitly: an unmigrated schema is refused with a message
    naming `cxgov migrate` (docs/operator-guide.md)."""
    settings = get_settings()
    if auto_migrate is None:
        auto_migrate = embedded_default(settings)
    try:
        return bootstrap(settings, auto_migrate=auto_migrate, keep_embedded=keep_embedded)
    except (SchemaNotMigrated, DatabaseError) as exc:
        raise fail(str(exc)) from None


def read(query: Callable[[ReadModels], Any]) -> Any:
    """Run a query against caught-up read models; domain and as-of errors become messages."""
    with runtime() as rt:
        try:
            return jsonable(query(rt.read_models()))  # typed rows as plain JSON
        except CxgovError as exc:
            raise fail(f"[{exc.code}] {exc.message}") from None
        except (AsOfOutOfRange, NotCaughtUp) as exc:
            raise fail(str(exc)) from None


def write_as(subject: str, role: str,
             command: Callable[[Governance, Principal], CommandResult]) -> None:
    """Run one command as `subject` with one role; print where it was written, or the
    refusal (exit 1) with its stable code."""
    with runtime() as rt:
        principal = Principal(subject=subject, roles=frozenset({role}),
                              issuer=rt.settings.jwt_issuer)
        try:
            result = command(rt.app, principal)
        except CxgovError as exc:
            raise fail(f"[{exc.code}] {exc.message}") from None
    typer.echo(f"written: {result.id} version {result.version} at log position "
               f"{result.position}{f' ({result.status})' if result.status else ''}")
