"""`cxgov drivers` on one in-memory Harborview runtime (the command's own `runtime()` is
pointed at it): the table names which drivers move the outcome with their intervals, the
lagged employee-satisfaction question, --json, --as-of and an unknown metric."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from governance.bootstrap import Runtime
from tests.api.conftest import cli_harborview, cxgov
from tests.api.test_drivers_http import CX, item, record, world


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)



def test_drivers_from_the_command_line(rt: Runtime) -> None:
    with TestClient(create_app(rt)) as client:
        series = world(client)
        assert client.post("/v1/metrics/DC/operational-metrics", headers=CX, json={
            "operational_metrics": [item("First-contact resolution", "metric:DF"),
                                    item("Minutes waiting", "metric:DW"),
                                    item("Brochures sent", "metric:DN")]}).status_code == 201
        before = rt.app.position()
        record(client, series)
    code, out = cxgov("drivers", "DC")
    assert code == 0, out
    assert "DC: drivers DF, DW, DN over 54 observation(s) (every cohort)" in out
    assert "DF First-contact resolution (Contact Centre): " in out
    assert out.count("moves it") == 2 and "not distinguishable from noise" in out
    assert "proposed weights: DF " in out
    code, out = cxgov("drivers", "DC", "--drivers", "DE", "--lag", "1", "--json")
    assert code == 0, out
    found = json.loads(out)
    assert found["lag_months"] == 1 and found["terms"][1]["metric"] == "DE"
    code, out = cxgov("drivers", "DC", "--as-of", str(before))
    assert code == 0 and "over 0 observation(s)" in out and "no fit:" in out
    code, out = cxgov("drivers", "NOPE")
    assert code != 0 and "metric.not_found" in out
