"""Alembic owns the event store: revisions apply, revert, re-apply and match the library."""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Iterator
from types import ModuleType

import pytest

from governance.settings import Settings, eventstore_env
from governance.stores.database import (
    connect,
    create_database,
    current_revision,
    downgrade,
    drop_database,
    head_revision,
    is_at_head,
    migrate,
    migrations_dir,
)
from tests.pg.standins import Cxgov, Probe

pytestmark = pytest.mark.pg

EVENT_STORE_OBJECTS = """
    SELECT
      to_regclass('public.cxgov_events') IS NOT NULL,
      to_regclass('public.cxgov_events_notification_id_idx') IS NOT NULL,
      to_regtype('public.stored_event_uuid') IS NOT NULL,
      EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'public' AND p.proname = 'es_insert_events_uuid')
"""


@pytest.fixture
def scratch_url(pg_admin_url: str) -> Iterator[str]:
    """An empty, never-migrated database of its own."""
    name = f"cxgov_scratch_{secrets.token_hex(4)}"
    url = create_database(pg_admin_url, name)
    try:
        yield url
    finally:
        drop_database(pg_admin_url, name)


def event_store_objects(url: str) -> tuple[bool, ...]:
    """Tell which of table, index, type and function exist."""
    with connect(url) as conn:
        row = conn.execute(EVENT_STORE_OBJECTS).fetchone()
    assert row is not None
    return tuple(row)


def first_revision() -> ModuleType:
    """Load revision 0001 the way alembic does, from its file."""
    path = migrations_dir() / "versions" / "20261123_0001_event_store.py"
    spec = importlib.util.spec_from_file_location("revision_0001", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fresh_database_is_not_at_head(scratch_url: str) -> None:
    assert current_revision(scratch_url) is None
    assert is_at_head(scratch_url) is False


def test_upgrade_downgrade_upgrade_round_trip(scratch_url: str) -> None:
    migrate(scratch_url)
    assert current_revision(scratch_url) == head_revision()
    assert is_at_head(scratch_url) is True
    assert event_store_objects(scratch_url) == (True, True, True, True)

    downgrade(scratch_url, "base")
    assert current_revision(scratch_url) is None
    assert event_store_objects(scratch_url) == (False, False, False, False)

    migrate(scratch_url)
    assert is_at_head(scratch_url) is True
    assert event_store_objects(scratch_url) == (True, True, True, True)


def test_a_database_at_revision_0001_is_behind_head_until_upgraded(scratch_url: str) -> None:
    migrate(scratch_url, "0001")
    assert current_revision(scratch_url) == "0001"
    assert is_at_head(scratch_url) is (head_revision() == "0001")
    migrate(scratch_url)
    assert is_at_head(scratch_url) is True


def test_upgrade_when_already_at_head_changes_nothing(pg_url: str) -> None:
    migrate(pg_url)
    assert current_revision(pg_url) == head_revision()


def test_revision_0001_is_exactly_the_library_ddl(pg_url: str) -> None:
    env = eventstore_env(Settings(store="postgres", env="dev"), pg_url)
    with Cxgov(env=env) as app:
        library = [s.as_string() for s in app.recorder.sql_create_statements]
    assert list(first_revision().UPGRADE_STATEMENTS) == library


def test_library_with_create_table_off_saves_and_loads_on_the_migrated_schema(
    pg_env: dict[str, str],
) -> None:
    assert pg_env["CREATE_TABLE"] == "n"
    with Cxgov(env=pg_env) as app:
        probe = Probe("first")
        probe.rename("second")
        app.save(probe)
        loaded = app.repository.get(probe.id)
        positions = [n.id for n in app.notification_log.select(start=1, limit=10)]
    assert (loaded.text, loaded.version) == ("second", 2)
    assert positions == [1, 2]


def test_each_test_starts_with_an_empty_event_store(pg_env: dict[str, str]) -> None:
    with Cxgov(env=pg_env) as app:
        assert app.recorder.max_notification_id() in (None, 0)
        app.save(Probe("again"))
        assert app.recorder.max_notification_id() == 1


def test_the_revisions_read_without_alembic_are_alembics(scratch_url: str) -> None:
    """Decision 286: `head_revision` reads the revision files with `ast` and
    `current_revision` reads `alembic_version` with psycopg; alembic is the oracle, at every
    revision on the way up and down."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from governance.stores.database import alembic_config, sqlalchemy_url

    script = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == script.get_current_head()

    def alembics() -> str | None:
        engine = create_engine(sqlalchemy_url(scratch_url), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()

    assert current_revision(scratch_url) is None is alembics()
    order = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in order:
        migrate(scratch_url, revision)
        assert current_revision(scratch_url) == alembics() == revision
        assert is_at_head(scratch_url) is (revision == order[-1])
    downgrade(scratch_url, "base")
    assert current_revision(scratch_url) is None is alembics()


def test_a_process_that_checks_the_schema_imports_neither_alembic_nor_httpx(
        pg_url: str) -> None:
    """`cxgov project` and `cxgov serve` on a migrated database check it is at head at start,
    and /readyz every few seconds; neither migrates, so neither loads alembic (and through it
    SQLAlchemy and Mako: 37 MB of memory measured on import), and `cxgov project` delivers no
    webhooks, so it does not load httpx (and the rich and pygments it brings: 18 MB)."""
    import subprocess
    import sys

    probe = ("import sys; import governance.entrypoints.cli; "
             "from governance.bootstrap import bootstrap; "
             "from governance.settings import Settings; "
             "from governance.stores.database import is_at_head; "
             f"runtime = bootstrap(Settings(database_url={pg_url!r}, store='postgres')); "
             f"assert is_at_head({pg_url!r}); runtime.close(); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'alembic', 'sqlalchemy', 'mako', 'httpx', 'rich', 'pygments'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
