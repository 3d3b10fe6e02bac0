"""Helpers shared by the command-line modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from domain.errors import CxgovError
from governance.bootstrap import Runtime, SchemaNotMigrated, bootstrap
from governance.stores.database import DatabaseError
from projections.query import AsOfOutOfRange, NotCaughtUp, ReadModels
from projections.rows import jsonable


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error in red on stderr; return the Exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def runtime(*, auto_migrate: bool = False, keep_embedded: bool = False) -> Runtime:
    """Bootstrap from the environment, turning setup problems into one clear line."""
    try:
        return bootstrap(auto_migrate=auto_migrate, keep_embedded=keep_embedded)
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
