"""First run outside the demo (issue 17): on the embedded default (no CXGOV_DATABASE_URL),
`cxgov import` starts and migrates the embedded server in a fresh data folder, and `cxgov
serve` alone serves reads that its own projectors keep current; a configured database is
never migrated implicitly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from governance.entrypoints.cli import app as cli
from governance.settings import get_settings
from governance.stores.database import (
    create_database,
    current_revision,
    drop_database,
    embedded_status,
    embedded_stop,
)
from tests.api.conftest import SECRET, auth
from tests.api.test_pg_http import free_port

ROOT = Path(__file__).resolve().parents[2]
HARBORVIEW = Path(str(resources.files("governance").joinpath("data/harborview.json")))
FINANCE = auth("fiona", "finance")


@pytest.fixture
def fresh_data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A new, empty CXGOV_DATA_DIR on the embedded default (short path: the server's unix
    socket lives in it); its embedded server is stopped and the folder removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="cxgov-fr-"))
    for name in ("CXGOV_DATABASE_URL", "CXGOV_STORE", "CXGOV_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(folder))
    monkeypatch.setenv("CXGOV_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        yield folder
    finally:
        get_settings.cache_clear()
        embedded_stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(300)
def test_import_on_a_fresh_data_folder_starts_and_migrates_the_embedded_server(
        fresh_data_dir: Path) -> None:
    assert embedded_status(fresh_data_dir).running is False

    imported = CliRunner().invoke(cli, ["import", str(HARBORVIEW)])

    assert imported.exit_code == 0, imported.output
    assert "imported Harborview" in imported.output
    assert embedded_status(fresh_data_dir).running is False  # left as it was found
    ranking = CliRunner().invoke(cli, ["ranking", "FY2027", "--json"])
    assert ranking.exit_code == 0, ranking.output
    assert len(json.loads(ranking.output)["ranking"]) == 30


def test_import_refuses_a_configured_database_that_is_not_migrated(
        pg_admin_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name = f"cxgov_unmigrated_{os.getpid()}"
    url = create_database(pg_admin_url, name)
    monkeypatch.setenv("CXGOV_DATABASE_URL", url)
    monkeypatch.delenv("CXGOV_STORE", raising=False)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        refused = CliRunner().invoke(cli, ["import", str(HARBORVIEW)])
        assert current_revision(url) is None  # never migrated implicitly
    finally:
        get_settings.cache_clear()
        drop_database(pg_admin_url, name)
    assert refused.exit_code == 1
    assert "run `cxgov migrate`" in refused.output


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition until it holds, or fail naming it."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.timeout(300)
def test_serve_alone_on_the_embedded_default_keeps_its_reads_current(
        fresh_data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = fresh_data_dir / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "governance.entrypoints.cli", "serve", "--port", str(port),
             "--workers", "2"], cwd=ROOT, env=dict(os.environ), stdout=out,
            stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: process.poll() is not None or answers(f"{base}/healthz"), 120,
                 "cxgov serve to answer")
        assert process.poll() is None, log.read_text()
        written = httpx.post(f"{base}/v1/periods", headers=FINANCE, timeout=30, json={
            "code": "FY2031", "currency": "USD", "opex_total": "1000000"})
        assert written.status_code == 201, written.text
        position = written.json()["position"]
        read = httpx.get(f"{base}/v1/periods/FY2031", headers=FINANCE, timeout=30,
                         params={"min_position": position})
        assert read.status_code == 200, read.text + log.read_text()
        assert read.json()["item"]["period"] == "FY2031"
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert embedded_status(fresh_data_dir).running is False, log.read_text()
