"""The jobs to be done an initiative serves (issue 15, part 5): linked over the API, the
command line and the initiative page by its P&L's owners or a CX executive; each job must be
defined; the job map lists the initiatives serving each job to those who read them whole;
the audit log says what changed. A refusal writes nothing; a retried key applies once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, PNL_OWNER
from tests.api.conftest import auth, cli_harborview, cxgov
from tests.api.test_loop_dashboard_forms import post as post_form
from tests.api.test_loop_http import cookie
from tests.api.test_re_decisions_dashboard import csrf_of

CX = auth("cx.chief", CX_EXEC)
RB = auth("rb.owner", PNL_OWNER, pnls=("RB",))
CC = auth("cc.owner", PNL_OWNER, pnls=("CC",))
INGEST = auth("bot", "ingest")
JOBS = [("J1", "Get my card working again today", "9", "4"),
        ("J2", "Know what I will pay before I sign", "7", "6")]


def define_jobs(client: TestClient) -> None:
    for code, statement, importance, satisfaction in JOBS:
        made = client.post("/v1/jobs", headers=CX, json={
            "code": code, "statement": statement, "importance": importance,
            "satisfaction": satisfaction})
        assert made.status_code == 201, made.text


def serving(client: TestClient, headers: dict[str, str], job: str) -> list[str]:
    found = client.get("/v1/jobs", headers=headers).json()["item"]["jobs"]
    return [f"{i['period']}/{i['code']}" for j in found if j["code"] == job
            for i in j["initiatives"]]


def test_an_owner_links_jobs_and_the_job_map_shows_them_to_readers(
        client: TestClient, runtime: Runtime) -> None:
    define_jobs(client)
    i01 = runtime.app.initiative_id("FY2027", "I01")
    url = f"/v1/initiatives/{i01}/jobs"
    before = runtime.app.position()
    for headers, body, status, code in (
            (CC, {"jobs": ["J1"]}, 403, "auth.forbidden"),  # another P&L's owner
            (INGEST, {"jobs": ["J1"]}, 403, "auth.forbidden"),
            (RB, {"jobs": ["J1", "J99"]}, 404, "job.not_found"),
            (RB, {"jobs": ["J1", "J1"]}, 422, "validation.invalid"),
            (RB, {"jobs": []}, 422, "validation.invalid")):  # serves none already
        refused = client.post(url, headers=headers, json=body)
        assert refused.status_code == status, refused.text
        assert refused.json()["code"] == code
        assert refused.headers["content-type"].startswith("application/problem+json")
    missing = client.post(url, headers=RB, json={"jobs": ["J1", "J99"]}).json()
    assert [e["field"] for e in missing.get("errors", [])] in ([], ["jobs.1"])
    assert client.post(url, headers=RB, json={"jobs": ["bad code!"]}).status_code == 422
    assert runtime.app.position() == before

    linked = client.post(url, headers={**RB, "Idempotency-Key": "serve-1"},
                         json={"jobs": ["J2", "J1"], "reason": "card outages"})
    assert linked.status_code == 201, linked.text
    again = client.post(url, headers={**RB, "Idempotency-Key": "serve-1"},
                        json={"jobs": ["J2", "J1"], "reason": "card outages"})
    assert again.json()["position"] == linked.json()["position"]
    assert runtime.app.position() == linked.json()["position"]
    assert serving(client, CX, "J1") == serving(client, RB, "J2") == ["FY2027/I01"]
    assert serving(client, INGEST, "J1") == []  # reads no initiative
    # the ranking row lists the codes; another P&L's owner sees the row's place only
    where = {"min_position": linked.json()["position"]}
    mine = client.get("/v1/periods/FY2027/ranking", headers=RB, params=where).json()["items"]
    assert next(r["jobs"] for r in mine if r["code"] == "I01") == ["J1", "J2"]
    theirs = client.get("/v1/periods/FY2027/ranking", headers=CC, params=where).json()["items"]
    blank = [r for r in theirs if r["redacted"] and r["id"] is None]
    assert blank and all(r["jobs"] == [] for r in blank)
    assert not any(r["jobs"] for r in theirs)
    # the audit log: who linked what, and what it served before
    got = client.get("/v1/audit/events", headers=CX,
                     params={"after": before, "min_position": linked.json()["position"]})
    assert got.status_code == 200, got.text
    events = got.json()["items"]
    summaries = [e["summary"] for e in events if e["topic"] == "cxgov.ServedJobs.Linked"]
    assert summaries == ["ServedJobs.Linked: period=FY2027 code=I01 reason=card outages "
                         "jobs=J1, J2 (was none)"]
    # a CX executive narrows it; as of the first link the map still shows both
    narrowed = client.post(url, headers=CX, json={"jobs": ["J1"]})
    assert narrowed.status_code == 201, narrowed.text
    assert serving(client, CX, "J2") == []
    then = client.get("/v1/jobs", headers=CX,
                      params={"as_of": linked.json()["position"]}).json()["item"]["jobs"]
    assert {j["code"]: len(j["initiatives"]) for j in then} == {"J1": 1, "J2": 1}


def test_the_initiative_page_shows_the_jobs_and_offers_the_form_to_its_owners(
        client: TestClient, runtime: Runtime) -> None:
    define_jobs(client)
    i01 = runtime.app.initiative_id("FY2027", "I01")
    page_url = f"/dashboard/initiatives/{i01}"
    other = cookie(runtime, PNL_OWNER, ("CC",))
    assert 'id="jobs-form"' not in client.get(page_url, headers=other).text
    owner = cookie(runtime, PNL_OWNER, ("RB",))
    page = client.get(page_url, headers=owner).text
    assert 'I01 names no job to be done' in page
    assert '<label for="job-J1">J1 Get my card working again today' in page
    before = runtime.app.position()
    refused = client.post(f"{page_url}/jobs", headers=owner, follow_redirects=False,
                          data={"csrf": csrf_of(page), "jobs": ["J1", "J7"]})
    assert refused.status_code == 303 and runtime.app.position() == before
    shown = client.get(refused.headers["location"], headers=owner).text
    assert 'id="jobs-error" role="alert">no job J7' in shown
    status, done = post_form(client, f"{page_url}/jobs", owner,
                             {"csrf": csrf_of(shown), "jobs": ["J2"], "reason": "pricing"})
    assert status == 200 and "Recorded — jobs served saved." in done
    assert '<ul id="served-jobs"><li><strong>J2</strong>' in done
    assert 'value="J2" id="job-J2" checked' in done
    jobs_page = client.get("/dashboard/jobs", headers=owner).text
    assert ">FY2027/I01</a>" in jobs_page


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)


def test_the_command_line_links_jobs_and_the_map_lists_them(shared: Runtime) -> None:
    with TestClient(create_app(shared)) as client:
        define_jobs(client)
    code, out = cxgov("jobs", "serve", "FY2027", "I03", "--job", "J1", "--reason", "outages")
    assert code == 0 and out.startswith("written:"), out
    code, out = cxgov("jobs", "serve", "FY2027", "I03", "--job", "J1")
    assert code != 0 and "nothing changes" in out
    code, out = cxgov("jobs", "serve", "FY2027", "I03", "--job", "J404")
    assert code != 0 and "[job.not_found] no job J404" in out
    code, out = cxgov("jobs", "map")
    line: Any = next(x for x in out.splitlines() if " J1 " in x)
    assert line.endswith("; served by FY2027/I03"), out
