"""Fair shares over HTTP, on the dashboard and on the command line (issue 16, part 3)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from governance.bootstrap import Runtime
from governance.entrypoints.cli import app
from governance.principal import CX_EXEC, INGEST, PNL_OWNER
from tests.api.conftest import auth, serve_cli_from
from tests.api.test_loop_http import cookie
from tests.builders import CX_CHIEF

EXEC = auth("chief", CX_EXEC)
PATH = "/v1/periods/FY2027/fair-shares"


def test_fair_shares_now_and_as_of_before_a_decision(client: TestClient,
                                                     runtime: Runtime) -> None:
    before = client.get(PATH, headers=EXEC)
    assert before.status_code == 200
    body = before.json()
    fair = body["item"]
    assert [p["rule"] for p in fair["plans"]] == ["greedy", "optimal", "equal_shares",
                                                 "equal_shares_completed"]
    assert fair["basis"] == "opex" and fair["voters"] == ["INS", "RB", "SBS", "WM"]
    assert Decimal(fair["value_given_up"]) >= 0
    first = fair["plans"][-1]["keys"][0]
    runtime.app.decide(CX_CHIEF, initiative_id=runtime.app.initiative_id("FY2027", first),
                       outcome="approve", rationale="fair and first")
    now = client.get(PATH, headers=EXEC).json()
    assert first not in now["item"]["plans"][-1]["keys"]  # decided: no longer a project
    assert Decimal(now["item"]["available"]) < Decimal(fair["available"])
    then = client.get(PATH, params={"as_of": body["position"]}, headers=EXEC).json()
    assert then["item"] == fair and then["position"] == body["position"]


def test_fair_shares_refusals(client: TestClient) -> None:
    missing = client.get("/v1/periods/FY1999/fair-shares", headers=EXEC)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert client.get(PATH, headers=auth("feed", INGEST)).status_code == 403
    owner = client.get(PATH, headers=auth("wm", PNL_OWNER, pnls=("WM",))).json()["item"]
    full = client.get(PATH, headers=EXEC).json()["item"]
    assert owner["value_given_up"] == full["value_given_up"]
    assert None in owner["plans"][-1]["keys"]  # another P&L's undecided work is blanked


def test_fair_shares_page(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/dashboard/fair-shares", headers=cookie(runtime, CX_EXEC))
    assert page.status_code == 200
    assert "Method of Equal Shares" in page.text and 'id="fair-equal_shares_completed"' in page.text
    assert 'data-figure="given-up"' in page.text
    then = client.get("/dashboard/fair-shares?as_of=1", headers=cookie(runtime, CX_EXEC))
    assert then.status_code == 200 and 'id="history-banner"' in then.text


@pytest.fixture
def cli_runtime(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    serve_cli_from(runtime, monkeypatch)
    yield runtime


def test_fair_shares_command(cli_runtime: Runtime) -> None:
    result = CliRunner().invoke(app, ["fair-shares", "FY2027"])
    assert result.exit_code == 0, result.output
    assert "Method of Equal Shares" in result.output
    assert "gives up" in result.output
    as_json = CliRunner().invoke(app, ["fair-shares", "FY2027", "--json", "--as-of", "1"])
    assert as_json.exit_code == 0, as_json.output
    assert '"plans"' in as_json.output
    missing = CliRunner().invoke(app, ["fair-shares", "FY1999"])
    assert missing.exit_code != 0
