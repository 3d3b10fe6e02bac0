"""API fixtures: the app on the in-memory store with Harborview loaded, and minted tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from api.app import create_app
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints import common
from governance.entrypoints.cli import app as cli_app
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.identity import mint_token
from governance.settings import Settings

SECRET = "test-secret-for-the-api-suite-0123456789"
Mint = Callable[..., dict[str, str]]


def memory_settings(**overrides: Any) -> Settings:
    """Settings for the in-memory store with a known signing secret."""
    return Settings(store="memory", jwt_secret=SecretStr(SECRET), **overrides)


def harborview_runtime() -> Runtime:
    """A runtime on the in-memory store with the Harborview company imported."""
    runtime = bootstrap(memory_settings())
    import_company(runtime.app, bundled_company())
    return runtime


def serve_cli_from(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every `cxgov` command's runtime at `runtime` (they all open it through
    `governance.entrypoints.common.runtime`), so consecutive invocations share its log."""

    @contextmanager
    def same(**_: object) -> Iterator[Runtime]:
        yield runtime

    monkeypatch.setattr(common, "runtime", same)


def cli_harborview(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A Harborview runtime that every `cxgov` command uses (for a fixture to yield from)."""
    shared = harborview_runtime()
    serve_cli_from(shared, monkeypatch)
    yield shared
    shared.close()


def cxgov(*args: str) -> tuple[int, str]:
    """Run the command line in-process: its exit code and output."""
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A fresh Harborview world."""
    rt = harborview_runtime()
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """A TestClient over the app (problems, not exceptions, for server errors)."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c


def auth(sub: str, *roles: str, pnls: tuple[str, ...] = (), **claims: Any) -> dict[str, str]:
    """An Authorization header with an embedded-mode token."""
    return {"Authorization": "Bearer " + mint_token(SECRET, sub=sub, roles=roles, pnls=pnls,
                                                     **claims)}


@pytest.fixture
def mint() -> Mint:
    """Mint an Authorization header."""
    return auth
