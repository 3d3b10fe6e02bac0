"""Jobs to be done through the application, the API and the CLI (issue 15, part 5): define
and rate (CX executives; refusals write nothing), the job map by opportunity with proposed
weights, live and as of a position; the dashboard page; the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from domain.errors import AlreadyExists, InvalidInput, JobNotFound, MetricNotFound
from governance.bootstrap import Runtime
from governance.entrypoints.cli import app
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from tests.api.conftest import auth, cli_harborview
from tests.builders import CX_CHIEF, RB_OWNER, World, rejected_without_writing

D = Decimal


def test_define_rate_and_map_jobs(world: World) -> None:
    gov = world.gov
    models = in_memory(gov).read_models()
    gov.define_job(CX_CHIEF, code="J1", statement="Use my account the day I open it",
                   importance=D("8.6"), satisfaction=D("3.9"), scenario="S1", metrics=["M1"])
    gov.define_job(CX_CHIEF, code="J2", statement="Have my problem fixed in one contact",
                   importance=D(7), satisfaction=D(6), metrics=["M2"])
    before = gov.position()
    gov.rate_job(CX_CHIEF, code="J2", importance=D(9), satisfaction=D(2), source="Q3 survey")
    _, found = models.jobs()
    assert [(j.code, j.opportunity, j.rank, j.underserved) for j in found.jobs] == [
        ("J2", "16", 1, True), ("J1", "13.3", 2, True)]
    assert found.proposed_weights == {"M1": 45, "M2": 55}
    _, then = models.jobs(as_of=before)
    assert [(j.code, j.opportunity) for j in then.jobs] == [("J1", "13.3"), ("J2", "8")]
    row = models.audit_events(after=gov.position() - 1, limit=1)[0]
    assert row.summary == "Job.Rated: code=J2 importance=9 satisfaction=2 source=Q3 survey"


def test_refused_job_commands_write_nothing(world: World) -> None:
    gov = world.gov
    gov.define_job(CX_CHIEF, code="J1", statement="Get going", importance=D(5),
                   satisfaction=D(5))
    rejected_without_writing(gov, AlreadyExists, lambda: gov.define_job(
        CX_CHIEF, code="J1", statement="Again", importance=D(5), satisfaction=D(5)))
    rejected_without_writing(gov, MetricNotFound, lambda: gov.define_job(
        CX_CHIEF, code="J3", statement="x", importance=D(5), satisfaction=D(5),
        metrics=["M9"]))
    rejected_without_writing(gov, Forbidden, lambda: gov.define_job(
        RB_OWNER, code="J4", statement="x", importance=D(5), satisfaction=D(5)))
    rejected_without_writing(gov, JobNotFound, lambda: gov.rate_job(
        CX_CHIEF, code="J9", importance=D(5), satisfaction=D(4), source="s"))
    rejected_without_writing(gov, InvalidInput, lambda: gov.rate_job(
        CX_CHIEF, code="J1", importance=D(11), satisfaction=D(4), source="s"))


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)


def test_jobs_over_http_the_dashboard_and_the_cli(rt: Runtime) -> None:
    cx = {**auth("chris", "cx_exec"), "Idempotency-Key": "job-1"}
    body = {"code": "J1", "statement": "Get my claim paid <b>fast</b>", "importance": "9",
            "satisfaction": "3", "scenario": "S4", "metrics": ["M4", "M5"]}
    with TestClient(create_app(rt), raise_server_exceptions=False) as client:
        none = client.post("/v1/jobs/preview", json={"period": "FY2027"},
                           headers=auth("chris", "cx_exec"))
        assert none.status_code == 422 and "no job names a metric" in none.text
        first = client.post("/v1/jobs", json=body, headers=cx)
        assert first.status_code == 201, first.text
        again = client.post("/v1/jobs", json=body, headers=cx)
        assert again.headers.get("Idempotent-Replayed") == "true"
        before = rt.app.position()
        bad = client.post("/v1/jobs", json={**body, "code": "J2", "importance": "12"},
                          headers=auth("chris", "cx_exec"))
        assert bad.status_code == 422 and bad.json()["code"] == "validation.invalid"
        assert client.post("/v1/jobs", json={**body, "code": "J3"},
                           headers=auth("rob", "pnl_owner", pnls=("RB",))).status_code == 403
        missing = client.post("/v1/jobs/J9/ratings", headers=auth("chris", "cx_exec"),
                              json={"importance": "5", "satisfaction": "5", "source": "s"})
        assert missing.status_code == 404 and missing.json()["code"] == "job.not_found"
        assert rt.app.position() == before
        rated = client.post("/v1/jobs/J1/ratings", headers=auth("chris", "cx_exec"),
                            json={"importance": "9", "satisfaction": "8", "source": "Q4"})
        assert rated.status_code == 201, rated.text
        now = client.get("/v1/jobs", headers=auth("bot", "ingest")).json()
        assert now["item"]["jobs"][0]["opportunity"] == "10"
        assert now["item"]["proposed_weights"] == {"M4": 50, "M5": 50}
        written_before = rt.app.position()
        preview = client.post("/v1/jobs/preview", json={"period": "FY2027"},
                              headers=auth("chris", "cx_exec"))
        assert preview.status_code == 200, preview.text
        ranked = preview.json()["items"]
        claims_m4_or_m5 = {r["code"] for r in ranked if r["score"] != "0"
                           and all(line["metric"] in {"M4", "M5"} for line in r["lines"])}
        assert ranked[0]["code"] in claims_m4_or_m5  # only M4 and M5 carry weight now
        assert rt.app.position() == written_before  # nothing adopted, nothing written
        assert client.post("/v1/jobs/preview", json={"period": "FY2027"},
                           headers=auth("rob", "pnl_owner", pnls=("RB",))).status_code == 403
        then = client.get(f"/v1/jobs?as_of={before}", headers=auth("bot", "ingest")).json()
        assert then["item"]["jobs"][0]["opportunity"] == "15" and then["position"] == before
    from tests.api.test_re_decisions_dashboard import signed_in
    with signed_in(rt, "rob", "pnl_owner") as client:
        page = client.get("/dashboard/jobs")
        assert page.status_code == 200 and 'id="job-map"' in page.text
        assert "&lt;b&gt;fast&lt;/b&gt;" in page.text and 'id="proposed-weights"' in page.text
    runner = CliRunner()
    out = runner.invoke(app, ["jobs", "define", "J2", "--statement", "Send documents once",
                              "--importance", "8", "--satisfaction", "4", "--metric", "M5"])
    assert out.exit_code == 0 and out.output.startswith("written:"), out.output
    out = runner.invoke(app, ["jobs", "map"])
    assert out.exit_code == 0 and "J2" in out.output and "proposed weights" in out.output
    out = runner.invoke(app, ["jobs", "rate", "J2", "--importance", "x", "--satisfaction",
                              "1", "--source", "s"])
    assert out.exit_code != 0 and "--importance must be a number" in out.output
