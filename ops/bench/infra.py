"""Scratch PostgreSQL databases and API server processes for the benchmarks and drills."""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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

ROOT = Path(__file__).resolve().parents[2]
JWT_SECRET = "bench-secret-0123456789-0123456789-abcdef"
STARTUP_TIMEOUT_S = 90


@contextmanager
def scratch_server() -> Iterator[str]:
    """An admin URL: CXGOV_DATABASE_URL's server, else an embedded one in a temp folder."""
    configured = os.environ.get("CXGOV_DATABASE_URL")
    if configured:
        yield configured
        return
    folder = Path(tempfile.mkdtemp(prefix="cxgov-bench-"))
    try:
        url = embedded_start(folder)
        wait_for_database(url, timeout_s=60)
        yield url
    finally:
        embedded_stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh migrated database on the admin URL's server, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    url = create_database(admin_url, name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(admin_url, name)


def env_for(url: str, *, pool_size: int = 1, overflow: int = 4) -> dict[str, str]:
    """The eventsourcing env of a database, with a small connection pool."""
    settings = Settings(database_url=SecretStr(url), store="postgres", db_pool_size=pool_size,
                        db_max_overflow=overflow)
    return eventstore_env(settings, url)


def machine_facts(url: str) -> str:
    """CPU, Python and PostgreSQL versions, for the top of every report."""
    with connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    version = row[0] if row else "?"
    return (f"machine: {os.cpu_count()} cpu, {platform.machine()}, python "
            f"{platform.python_version()}, PostgreSQL {version}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ApiServer:
    """`uvicorn api.app:serve --factory` in a subprocess on one database."""

    def __init__(self, url: str, data_dir: Path, *, pool_size: int = 2,
                 overflow: int = 8, extra_env: dict[str, str] | None = None) -> None:
        self.url = url
        self.data_dir = data_dir
        self.pool_size = pool_size
        self.overflow = overflow
        self.extra_env = extra_env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self, module: str = "api.app:serve") -> ApiServer:
        """Start the process and wait until uvicorn reports startup."""
        env = {**os.environ, "CXGOV_DATABASE_URL": self.url, "CXGOV_STORE": "postgres",
               "CXGOV_DATA_DIR": str(self.data_dir), "CXGOV_JWT_SECRET": JWT_SECRET,
               "CXGOV_DB_POOL_SIZE": str(self.pool_size),
               "CXGOV_DB_MAX_OVERFLOW": str(self.overflow), "CXGOV_LOG_JSON": "false",
               **self.extra_env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", module, "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self._wait_started()
        return self

    def _wait_started(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        # --log-level warning hides the startup line: probe the port instead.
        import httpx

        timer = threading.Timer(STARTUP_TIMEOUT_S, self.process.kill)
        timer.start()
        try:
            with httpx.Client(base_url=self.base, timeout=2) as client:
                while self.process.poll() is None:
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        threading.Event().wait(0.1)
        finally:
            timer.cancel()
        if self.process.poll() is not None:
            raise RuntimeError("API server did not start:\n" + self.process.stderr.read()[-3000:])
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def kill(self) -> None:
        """SIGKILL the process (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """Terminate the process."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
