"""The audit timeline's filtered download on PostgreSQL (issue 17, decision 260): the view's
own statement, walked a part at a time, holds exactly the filtered rows through the position
shown, as on the in-memory store."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web import audit_timeline
from api.web.session import COOKIE
from governance.bootstrap import Runtime
from governance.stores.sessions import Claims, sessions_of
from tests.pg.test_audit_timeline_pg import runtime  # noqa: F401  (the fixture)

pytestmark = pytest.mark.pg


def test_a_filtered_download_holds_the_view_on_postgres(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    models = runtime.extras["views"].read_models()
    models.wait(models.log.max_position())
    events = models.audit_events(limit=1_000_000)
    mine = [e.position for e in events if ".Initiative." in e.topic]
    assert 7 < len(mine) < len(events)
    monkeypatch.setattr(audit_timeline, "DOWNLOAD_READ", 7)  # several parts
    session = sessions_of(runtime).start(Claims("audit.one", "audit.one", ("auditor",), (),
                                                "cxgov"), idle=timedelta(minutes=5),
                                         lifetime=timedelta(minutes=5))
    app = create_app(runtime, read_models=models)
    with TestClient(app, raise_server_exceptions=False, cookies={COOKIE: session}) as client:
        got = client.get("/dashboard/export/audit.csv?show=all&family=Initiative")
        assert got.status_code == 200
        assert [int(r["position"]) for r in csv.DictReader(io.StringIO(got.text))] == mine
        point = mine[-2]
        then = client.get(f"/dashboard/export/audit.json?show=all&family=Initiative"
                          f"&as_of={point}").json()
        assert [e["position"] for e in then["events"]] == [p for p in mine if p <= point]
        assert client.get("/dashboard/export/audit.json?actor=%3Cx%3E").status_code == 422
