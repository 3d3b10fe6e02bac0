"""The embedded PostgreSQL server starts, answers, reports its state and stops."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from governance.stores.database import (
    EmbeddedServerError,
    connect,
    embedded_start,
    embedded_status,
    embedded_stop,
    pgdata_dir,
)

pytestmark = pytest.mark.pg


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A short-lived cxgov data folder (short path: the unix socket lives in it)."""
    folder = Path(tempfile.mkdtemp(prefix="cxgov-emb-"))
    try:
        yield folder
    finally:
        embedded_stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_embedded_server_starts_answers_and_stops(data_dir: Path) -> None:
    assert embedded_status(data_dir).running is False

    url = embedded_start(data_dir)
    with connect(url) as conn:
        row = conn.execute("SELECT current_user, current_setting('server_version_num')").fetchone()
    assert row is not None
    assert row[0] == "postgres"
    assert int(row[1]) >= 180000

    running = embedded_status(data_dir)
    assert (running.running, running.url, running.pgdata) == (True, url, pgdata_dir(data_dir))
    assert running.pid is not None
    assert embedded_start(data_dir) == url  # idempotent: the same server, not a second one
    assert embedded_status(data_dir).pid == running.pid

    assert embedded_stop(data_dir) is True
    stopped = embedded_status(data_dir)
    assert (stopped.running, stopped.pid, stopped.url) == (False, None, None)
    assert embedded_stop(data_dir) is False


def test_restart_keeps_the_data(data_dir: Path) -> None:
    url = embedded_start(data_dir)
    with connect(url) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    embedded_stop(data_dir)

    url = embedded_start(data_dir)
    with connect(url) as conn:
        assert conn.execute("SELECT n FROM kept").fetchone() == (42,)


def test_a_server_that_cannot_start_raises_an_error_naming_the_log(data_dir: Path) -> None:
    pgdata = pgdata_dir(data_dir)
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("18\n")  # looks initialised, but holds no cluster

    with pytest.raises(EmbeddedServerError) as raised:
        embedded_start(data_dir)
    assert str(pgdata / "log") in str(raised.value)
    assert embedded_status(data_dir).running is False
