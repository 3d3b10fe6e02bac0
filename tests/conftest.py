"""Shared fixtures: the PostgreSQL server, a migrated test database and its event-store env.

Server choice (tests/pg/__init__.py): CXGOV_TEST_DATABASE_URL if set (nothing else is
tried); else 127.0.0.1:5432 as user postgres if it answers within 2 s (CXGOV_TEST_SKIP_LOCAL=1
skips it); else an embedded server in a temporary folder, stopped and deleted at the end.
When none works, every test that needs PostgreSQL fails with what was tried; none is skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from psycopg import sql
from pydantic import SecretStr

from governance.settings import Settings, eventstore_env
from governance.stores.database import (
    connect,
    create_database,
    drop_database,
    embedded_start,
    embedded_stop,
    migrate,
    wait_for_database,
)
from tests.pg import NoTestServerError, ServerChoice, candidates, choose_server

# Tests never read the user's own data folder: an audit key a demo left there would turn write
# seals on for every PostgreSQL test (decision 87). A throwaway folder unless the caller names one.
if "CXGOV_DATA_DIR" not in os.environ:
    os.environ["CXGOV_DATA_DIR"] = tempfile.mkdtemp(prefix="cxgov-test-data-")

PG_FIXTURE = "pg_admin_url"
EMBEDDED_START_TIMEOUT_S = 30.0


def _probe(url: str, timeout_s: float) -> str:
    """Return url once a connection to it succeeds within timeout_s."""
    wait_for_database(url, timeout_s=timeout_s)
    return url


class _Harness:
    """Picks the server once per session and removes the embedded one at the end."""

    def __init__(self) -> None:
        self._choice: ServerChoice | None = None
        self._error: str | None = None
        self._embedded_dir: Path | None = None

    def options(self) -> list[str]:
        """Name the candidates in the order they will be tried."""
        found = candidates(os.environ, probe=_probe, start_embedded=self._start_embedded)
        return [option.kind for option in found]

    def choice(self) -> ServerChoice:
        """Return the chosen server, choosing on first use; raise NoTestServerError."""
        if self._choice is None and self._error is None:
            found = candidates(os.environ, probe=_probe, start_embedded=self._start_embedded)
            try:
                self._choice = choose_server(found)
            except NoTestServerError as exc:
                self._error = str(exc)
        if self._choice is None:
            raise NoTestServerError(self._error)
        return self._choice

    def _start_embedded(self) -> str:
        """Start an embedded server in a fresh temporary folder."""
        self._embedded_dir = Path(tempfile.mkdtemp(prefix="cxgov-pg-"))
        url = embedded_start(self._embedded_dir)
        wait_for_database(url, timeout_s=EMBEDDED_START_TIMEOUT_S)
        return url

    def close(self) -> None:
        """Stop and delete the embedded server, if this session started one."""
        if self._embedded_dir is not None:
            embedded_stop(self._embedded_dir)
            shutil.rmtree(self._embedded_dir, ignore_errors=True)
            self._embedded_dir = None


_HARNESS = pytest.StashKey[_Harness]()


def pytest_configure(config: pytest.Config) -> None:
    """Create the session's server harness."""
    config.stash[_HARNESS] = _Harness()


def pytest_report_header(config: pytest.Config) -> str:
    """Show the order in which a PostgreSQL server will be looked for."""
    return "cxgov pg server order: " + " -> ".join(config.stash[_HARNESS].options())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: Sequence[pytest.Item]) -> None:
    """Mark every test that uses the PostgreSQL fixtures as `pg` (so -m 'not pg' works)."""
    for item in items:
        if PG_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pg)


def pytest_report_collectionfinish(
    config: pytest.Config, items: Sequence[pytest.Item]
) -> str:
    """Choose the server now if any selected test needs it, and say which one CI got."""
    if not any(PG_FIXTURE in getattr(item, "fixturenames", ()) for item in items):
        return "cxgov pg server: not needed (no selected test uses PostgreSQL)"
    try:
        return "cxgov pg server: " + config.stash[_HARNESS].choice().describe()
    except NoTestServerError as exc:
        return f"cxgov pg server: NONE, pg tests will fail: {exc}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the embedded server this session started."""
    session.config.stash[_HARNESS].close()


@pytest.fixture(scope="session")
def pg_admin_url(request: pytest.FixtureRequest) -> str:
    """Return an admin URL of the chosen PostgreSQL server, or fail (never skip)."""
    try:
        return request.config.stash[_HARNESS].choice().url
    except NoTestServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """Return the URL of a fresh database migrated to head, dropped after the session."""
    name = f"cxgov_test_{secrets.token_hex(4)}"
    url = create_database(pg_admin_url, name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def pg_env(pg_url: str) -> dict[str, str]:
    """Return the eventsourcing env for pg_url, with every table emptied first."""
    truncate_all_tables(pg_url)
    settings = Settings(
        store="postgres",
        database_url=SecretStr(pg_url),
        env="dev",
        db_pool_size=2,
        db_max_overflow=8,
    )
    return eventstore_env(settings, pg_url)


def truncate_all_tables(url: str) -> None:
    """Empty every table except alembic_version and restart sequences (ids start at 1)."""
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        if not rows:
            return
        tables = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in rows)
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))

