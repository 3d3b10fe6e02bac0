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
