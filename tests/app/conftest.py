"""Application fixtures: the governance app on the in-memory store (and PostgreSQL on request)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from governance.app import Governance
from tests.builders import World


@pytest.fixture
def gov() -> Iterator[Governance]:
    """A governance app on the in-memory store."""
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


@pytest.fixture(params=["popo", pytest.param("postgres", marks=pytest.mark.pg)])
def any_gov(request: pytest.FixtureRequest) -> Iterator[Governance]:
    """The same app on the in-memory store and on a real PostgreSQL."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "postgres":
        env = request.getfixturevalue("pg_env")
    app = Governance(env=env)
    yield app
    app.close()


@pytest.fixture
def world(gov: Governance) -> World:
    """A small world on the in-memory store."""
    return World(gov)
