"""The pg test harness picks a server in a fixed order and fails loudly, never skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pg import (
    ENV_SKIP_LOCAL,
    ENV_TEST_URL,
    LOCAL_URL,
    Candidate,
    NoTestServerError,
    candidates,
    choose_server,
)

REPO = Path(__file__).resolve().parents[2]


class FakeServers:
    """Stand-ins for the probe and the embedded start, recording what was tried."""

    def __init__(self, *, reachable: set[str], embedded_ok: bool = True) -> None:
        self.reachable = reachable
        self.embedded_ok = embedded_ok
        self.tried: list[str] = []

    def probe(self, url: str, timeout_s: float) -> str:
        """Pretend to connect to url."""
        self.tried.append(url)
        if url not in self.reachable:
            raise OSError("connection refused")
        return url

    def start_embedded(self) -> str:
        """Pretend to start an embedded server."""
        self.tried.append("embedded")
        if not self.embedded_ok:
            raise RuntimeError("initdb failed, see /tmp/x/pg/log")
        return "postgresql://postgres:@/postgres?host=/tmp/x/pg"

    def choose(self, environ: dict[str, str]) -> tuple[str, str]:
        """Run the real selection over the fakes; return (kind, url)."""
        found = candidates(environ, probe=self.probe, start_embedded=self.start_embedded)
        choice = choose_server(found)
        return choice.kind, choice.url


def test_local_server_is_chosen_when_it_answers_and_embedded_is_not_started() -> None:
    servers = FakeServers(reachable={LOCAL_URL})
    assert servers.choose({}) == ("local", LOCAL_URL)
    assert servers.tried == [LOCAL_URL]


def test_embedded_server_is_started_when_local_does_not_answer() -> None:
    servers = FakeServers(reachable=set())
    kind, url = servers.choose({})
    assert (kind, url) == ("embedded", "postgresql://postgres:@/postgres?host=/tmp/x/pg")
    assert servers.tried == [LOCAL_URL, "embedded"]


def test_skip_local_goes_straight_to_embedded() -> None:
    servers = FakeServers(reachable={LOCAL_URL})
    assert servers.choose({ENV_SKIP_LOCAL: "1"})[0] == "embedded"
    assert servers.tried == ["embedded"]


def test_explicit_url_is_the_only_candidate() -> None:
    explicit = "postgresql://ci:pw@db:5432/postgres"
    servers = FakeServers(reachable={explicit, LOCAL_URL})
    assert servers.choose({ENV_TEST_URL: explicit}) == ("env", explicit)
    assert servers.tried == [explicit]


def test_unreachable_explicit_url_fails_without_falling_back_and_hides_the_password() -> None:
    servers = FakeServers(reachable={LOCAL_URL})
    with pytest.raises(NoTestServerError) as raised:
        servers.choose({ENV_TEST_URL: "postgresql://ci:s3cret@db:5432/postgres"})
    assert ENV_TEST_URL in str(raised.value)
    assert "s3cret" not in str(raised.value)
    assert servers.tried == ["postgresql://ci:s3cret@db:5432/postgres"]


def test_no_server_raises_an_error_naming_everything_tried() -> None:
    servers = FakeServers(reachable=set(), embedded_ok=False)
    with pytest.raises(NoTestServerError) as raised:
        servers.choose({})
    message = str(raised.value)
    assert "local (postgresql://postgres@127.0.0.1:5432/postgres)" in message
    assert "embedded" in message
    assert "initdb failed, see /tmp/x/pg/log" in message
    assert ENV_TEST_URL in message


def test_choose_server_reports_failures_before_the_winner() -> None:
    def refuse() -> str:
        raise OSError("refused")

    choice = choose_server([Candidate("a", "first", refuse), Candidate("b", "second", lambda: "u")])
    assert (choice.kind, choice.url) == ("b", "u")
    assert choice.tried == ("a (first): refused",)


def test_a_pg_test_without_any_server_errors_instead_of_skipping() -> None:
    env = {**os.environ, ENV_TEST_URL: "mysql://nobody@nowhere/db"}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
            "tests/pg/test_migrations.py::test_fresh_database_is_not_at_head",
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout
    assert "skipped" not in result.stdout
    assert "no PostgreSQL server for the pg tests" in result.stdout
