"""The largest documented bulk request, through the HTTP API, over a Unix socket and over TCP.

cxgov issue 12, finding 3: `POST /v1/observations` with 4 batches of 1,000 readings hung in
psycopg's pipeline over the embedded default's Unix socket while holding the events table
lock, so every later write failed. The documented limits (api/schemas.py
ObservationBatchesCreate, docs/api-guide.md) are 1,000 batches, at most 1,000 readings a
batch and 10,000 readings a request; each request shape at those limits must be recorded
over both transports. A hang fails the test at its timeout instead of hanging the suite.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from domain.metric import ObservationBatch
from governance.bootstrap import bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.settings import Settings, parse_database_url
from governance.stores.database import connect, create_database, drop_database, migrate
from tests.api.conftest import SECRET, auth
from tests.conftest import truncate_all_tables
from tests.pg.transports import Transports, both_transports, private_server

pytestmark = pytest.mark.pg

INGEST = auth("bot", "ingest")
#: (batches, readings per batch): the report's request, the biggest events, the most events.
SHAPES = ((4, 1000), (10, 1000), (1000, 10))


@pytest.fixture(scope="module")
def transports(pg_admin_url: str) -> Iterator[Transports]:
    """Admin URLs of one server over both transports: the session's server when it has
    both, else a private one that does (the embedded server has no TCP listener)."""
    found, why = both_transports(pg_admin_url)
    if found is not None:
        yield found
        return
    with private_server() as admin:
        found, why_private = both_transports(admin)
        if found is None:
            pytest.fail(f"no PostgreSQL server with both a Unix socket and TCP: the test "
                        f"server: {why}; a private embedded server: {why_private}")
        yield found


@pytest.fixture(scope="module")
def database(transports: Transports) -> Iterator[Transports]:
    """A migrated database on that server, named over both transports."""
    name = f"cxgov_bulk_{secrets.token_hex(4)}"
    create_database(transports.unix, name)
    try:
        urls = Transports(
            unix=parse_database_url(transports.unix).with_dbname(name).to_url(),
            tcp=parse_database_url(transports.tcp).with_dbname(name).to_url())
        migrate(urls.unix)
        yield urls
    finally:
        drop_database(transports.unix, name)


def bulk(shape: tuple[int, int], tag: str) -> dict[str, Any]:
    """A request of `batches` batches of `size` readings (distinct, in the past)."""
    batches, size = shape
    return {"batches": [
        {"metric": "M1", "batch_key": f"{tag}-{b}", "source": "crm", "readings": [
            {"value": f"{50 + r % 7}.25", "sample_size": 100 + r,
             "observed_at": f"2026-0{1 + r // 672}-{1 + r // 24 % 28:02d}T{r % 24:02d}:00:00Z"}
            for r in range(size)]}
        for b in range(batches)]}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_the_largest_bulk_requests_are_recorded_over_each_transport(
        database: Transports, transport: str) -> None:
    url = database.url(transport)
    truncate_all_tables(url)
    settings = Settings(store="postgres", database_url=SecretStr(url),
                        jwt_secret=SecretStr(SECRET))
    runtime = bootstrap(settings)
    try:
        with runtime.app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            server_address = conn.execute("SELECT inet_server_addr() AS a").fetchone()["a"]
        assert (server_address is None) == (transport == "unix")  # NULL: a Unix socket
        import_company(runtime.app, bundled_company())
        with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
            for shape in SHAPES:
                before = runtime.app.position()
                tag = f"{shape[0]}x{shape[1]}"
                response = client.post("/v1/observations", json=bulk(shape, tag),
                                       headers=INGEST)
                assert response.status_code == 201, response.text[:2000]
                assert response.json()["count"] == shape[0]
                assert runtime.app.position() == before + shape[0]  # one event a batch
                last: ObservationBatch = runtime.app.repository.get(
                    ObservationBatch.create_id("M1", f"{tag}-{shape[0] - 1}"))
                assert len(last.readings) == shape[1]
            # Writes still work afterwards (the lock was not left held).
            assert client.post("/v1/observations", json=bulk((1, 1), "after"),
                               headers=INGEST).status_code == 201
        # The projectors write these readings over the same transport (views.py: no
        # executemany, which pipelines too).
        runtime.in_process().refresh()
        end = runtime.app.position()
    finally:
        runtime.close()
    with connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM cxgov_events), (SELECT count(*) FROM cxgov_chain), "
            "(SELECT max(notification_id) FROM portfolio_tracking), "
            "(SELECT max(notification_id) FROM auditlog_tracking)").fetchone()
    assert row is not None and row[0] == row[1] > sum(b for b, _ in SHAPES)
    assert (row[2], row[3]) == (end, end)
