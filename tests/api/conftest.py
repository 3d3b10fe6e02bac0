"""API fixtures: the app on the in-memory store with Harborview loaded, and minted tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from governance.bootstrap import Runtime, bootstrap
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
