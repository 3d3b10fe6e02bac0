"""Voice of the customer over HTTP and the CLI (issue 15, part 6), on the Harborview world:
a feedback batch (idempotent; problem+json refusals naming the field; nothing written),
citing items behind an initiative, the ranking card's evidence count with an unchanged score,
the feedback read live and as of a position; `cxgov feedback import|list|cite` with a CSV
file whose bad row is named by its line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from governance.bootstrap import Runtime
from governance.entrypoints.cli import app
from tests.api.conftest import auth, cli_harborview

CX = auth("chris", "cx_exec")
INGEST = auth("bot", "ingest")
RB = auth("rob", "pnl_owner", pnls=("RB",))


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)


def test_feedback_over_http(rt: Runtime) -> None:
    body = {"batch_key": "appstore-oct", "source": "app store", "items": [
        {"verbatim": "A week before I could use my account.\n<script>x</script>",
         "channel": "app review", "received_on": "2026-10-03", "scenario": "S1",
         "metric": "M1"},
        {"verbatim": "Claim paid in two days", "channel": "survey",
         "received_on": "2026-10-05", "metric": "M4", "pnl": "INS", "cohort": "motor"}]}
    with TestClient(create_app(rt), raise_server_exceptions=False) as client:
        keyed = {**INGEST, "Idempotency-Key": "fb-1"}
        first = client.post("/v1/feedback", json=body, headers=keyed)
        assert first.status_code == 201, first.text
        assert client.post("/v1/feedback", json=body,
                           headers=keyed).headers.get("Idempotent-Replayed") == "true"
        before = rt.app.position()
        again = client.post("/v1/feedback", json=body, headers=INGEST)
        assert again.status_code == 409 and again.json()["code"] == "resource.already_exists"
        hostile = client.post("/v1/feedback", headers=INGEST, json={
            **body, "batch_key": "b2", "items": [{**body["items"][0], "verbatim": "a\u202eb"}]})
        assert hostile.status_code == 422
        assert "verbatim" in hostile.text
        unknown = client.post("/v1/feedback", headers=INGEST, json={
            **body, "batch_key": "b3", "items": [{**body["items"][0], "job": "J9"}]})
        assert unknown.status_code == 404
        assert client.post("/v1/feedback", json={**body, "batch_key": "b4"},
                           headers=RB).status_code == 403
        assert rt.app.position() == before

        ranking = client.get("/v1/periods/FY2027/ranking", headers=CX).json()["items"]
        i01 = next(r for r in ranking if r["code"] == "I01")
        assert i01["evidence"] == 0
        cite = client.post(f"/v1/initiatives/{i01['id']}/evidence", headers=RB,
                           json={"refs": ["appstore-oct/1"], "note": "the delay"})
        assert cite.status_code == 201, cite.text
        missing = client.post(f"/v1/initiatives/{i01['id']}/evidence", headers=RB,
                              json={"refs": ["appstore-oct/3"]})
        assert missing.status_code == 404
        after = next(r for r in client.get("/v1/periods/FY2027/ranking", headers=CX)
                     .json()["items"] if r["code"] == "I01")
        assert after["evidence"] == 1 and after["score"] == i01["score"]
        listed = client.get("/v1/feedback?metric=M1", headers=INGEST).json()
        assert [(f["ref"], f["cited_by"]) for f in listed["item"]["items"]] == [
            ("appstore-oct/1", ["FY2027/I01"])]
        then = client.get(f"/v1/feedback?as_of={before}", headers=INGEST).json()
        assert then["item"]["total"] == 2
        assert all(f["cited_by"] == [] for f in then["item"]["items"])


def test_feedback_from_the_command_line(rt: Runtime, tmp_path: Path) -> None:
    good = tmp_path / "feedback.csv"
    good.write_text("verbatim,channel,received_on,metric\n"
                    "\"Too many steps, honestly\",survey,2026-09-30,M7\n"
                    "Fixed in one call,phone,2026-10-01,M9\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(app, ["feedback", "import", str(good), "--batch-key", "csv-1",
                              "--source", "NPS survey"])
    assert out.exit_code == 0 and out.output.startswith("written:"), out.output
    bad = tmp_path / "bad.csv"
    bad.write_text("verbatim,channel,received_on\nok,survey,2026-09-30\n"
                   "ok,survey,not a day\n", encoding="utf-8")
    out = runner.invoke(app, ["feedback", "import", str(bad), "--batch-key", "csv-2",
                              "--source", "s"])
    assert out.exit_code != 0 and "bad.csv:3: received_on" in out.output
    out = runner.invoke(app, ["feedback", "cite", "FY2027", "I01", "csv-1/1",
                              "--note", "steps"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["feedback", "list", "--metric", "M7"])
    assert out.exit_code == 0
    assert "csv-1/1 2026-09-30 survey metric=M7 cited by FY2027/I01: Too many steps" in out.output


def test_the_dashboards_ranking_shows_the_evidence_behind_each_initiative(rt: Runtime) -> None:
    """The ranking card on the dashboard says how many feedback items an initiative cites;
    one citing none says nothing, and as of before the citation neither does I01."""
    import re

    from tests.api.test_re_decisions_dashboard import signed_in

    body = {"batch_key": "calls-oct", "source": "call notes", "items": [
        {"verbatim": f"Call {n}", "channel": "phone", "received_on": f"2026-10-0{n}",
         "metric": "M1"} for n in range(1, 4)]}
    with TestClient(create_app(rt), raise_server_exceptions=False) as client:
        assert client.post("/v1/feedback", json=body, headers=INGEST).status_code == 201
        ranking = client.get("/v1/periods/FY2027/ranking", headers=CX).json()["items"]
        i01 = next(r for r in ranking if r["code"] == "I01")
        before = rt.app.position()
        cited = client.post(f"/v1/initiatives/{i01['id']}/evidence", headers=RB,
                            json={"refs": ["calls-oct/1", "calls-oct/3"]})
        assert cited.status_code == 201, cited.text
    with signed_in(rt, "chris", "cx_exec") as browser:
        page = browser.get("/dashboard", params={"min_position": rt.app.position()})
        assert page.status_code == 200, page.text
        rows = dict(re.findall(r'<tr data-code="(\w+)"(.*?)</tr>', page.text, re.S))
        assert "Customer evidence: 2 feedback items cited" in rows["I01"]
        assert sum("Customer evidence" in row for row in rows.values()) == 1
        then = browser.get("/dashboard", params={"as_of": before})
        assert then.status_code == 200 and "Customer evidence" not in then.text
