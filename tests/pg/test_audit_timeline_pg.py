"""The auditor's timeline on PostgreSQL (issue 17, decision 250): the view's one statement
(filters in WHERE, the position cursor, LIMIT) answers the same page as the in-memory view for
every filter and cursor, and the page pages over HTTP on the PostgreSQL views."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.web.pages import DECISION_TOPICS
from api.web.session import COOKIE
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.settings import Settings
from governance.stores.readside import in_process_postgres
from governance.stores.sessions import Claims, sessions_of
from projections.views import MemoryAuditLogView
from tests.api.conftest import SECRET
from tests.builders import CX_CHIEF

pytestmark = pytest.mark.pg
PERIOD = "FY2027"


@pytest.fixture
def runtime(pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """Harborview on the emptied test database, and one approval."""
    rt = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                            jwt_secret=SecretStr(SECRET), db_pool_size=1, db_max_overflow=4,
                            data_dir=tmp_path / "data"))
    views = in_process_postgres(rt.app, rt.env)
    rt.extras["views"] = views
    import_company(rt.app, bundled_company())
    top = rt.app.assess(PERIOD).entries[0].code
    rt.app.decide(CX_CHIEF, initiative_id=rt.app.initiative_id(PERIOD, top), outcome="approve",
                  rationale="Top of the ranking.")
    yield rt
    rt.close()


def test_the_query_answers_what_the_memory_view_answers(runtime: Runtime) -> None:
    models = runtime.extras["views"].read_models()
    models.wait(models.log.max_position())
    pg = models.audit
    rows = pg.rows(limit=1_000_000)
    newest = rows[-1]["position"]
    memory = MemoryAuditLogView()
    memory.append(Tracking("cxgov", newest), rows)
    some_id = next(r["aggregate_id"] for r in rows if r["topic"].endswith("Initiative.Approved"))
    cases: list[dict[str, Any]] = [
        {}, {"topics": DECISION_TOPICS}, {"family": "Initiative"}, {"family": "PnL"},
        {"actor": "rb.owner"}, {"actor": "cxgov|rb.owner"}, {"actor": "nobody"},
        {"aggregate_ids": [some_id]}, {"aggregate_ids": [some_id], "topics": DECISION_TOPICS},
        {"family": "Initiative", "actor": "wm.owner"}, {"topics": ("100%_sure",)},
    ]
    cursors: list[dict[str, Any]] = [
        {}, {"before": newest // 2}, {"after": newest // 3}, {"before": 1}, {"after": newest},
        {"upto": newest // 2}, {"upto": newest // 2, "after": 3}, {"before": newest, "upto": 9}]
    matched = 0
    for case in cases:
        for cursor in cursors:
            for limit in (1, 7, 500):
                want = [r["position"] for r in memory.timeline(limit=limit, **case, **cursor)]
                got = [r["position"] for r in pg.timeline(limit=limit, **case, **cursor)]
                assert got == want, (case, cursor, limit)
                matched += bool(got)
    assert matched > 50  # most of the pairs found rows: the comparison is not of empties


def test_the_page_pages_on_postgres(runtime: Runtime) -> None:
    session = sessions_of(runtime).start(Claims("audit.one", "audit.one", ("auditor",), (),
                                                "cxgov"), idle=timedelta(minutes=5),
                                         lifetime=timedelta(minutes=5))
    app = create_app(runtime, read_models=runtime.extras["views"].read_models())
    with TestClient(app, raise_server_exceptions=False, cookies={COOKIE: session}) as client:
        first = client.get("/dashboard/audit?show=all").text
        positions = [int(p) for p in re.findall(r'<li data-position="(\d+)"', first)]
        assert len(positions) == 50 and positions == sorted(positions, reverse=True)
        older = re.search(r'href="([^"]+)"[^>]*data-page="older"', first)
        assert older is not None
        second = client.get(older.group(1).replace("&amp;", "&")).text
        rest = [int(p) for p in re.findall(r'<li data-position="(\d+)"', second)]
        assert rest and max(rest) == positions[-1] - 1
        decisions = client.get("/dashboard/audit?family=Initiative").text
        assert "<strong>Initiative.Approved</strong> of <a" in decisions
        at = datetime.now(UTC).replace(tzinfo=None).isoformat()
        assert client.get(f"/dashboard/audit?as_of={at}").status_code == 200
