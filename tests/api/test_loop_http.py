"""The loop over HTTP: signals, acknowledgement in a review (with an Idempotency-Key), loop
speed, reviews, benefit plans, problem responses, and the /metrics gauges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.observability import iter_lines
from api.web.session import COOKIE
from governance.bootstrap import Runtime, bootstrap
from governance.principal import CX_EXEC, PNL_OWNER
from governance.stores.sessions import Claims, sessions_of
from tests.api.conftest import auth, memory_settings
from tests.builders import CX_CHIEF, World

CX = auth("cx.chief", CX_EXEC)
RB = auth("rob", PNL_OWNER, pnls=("RB",))
KEY = "metric_off_track:FY2027:M2"
READING = {"batch_key": "2026-11", "source": "survey", "readings": [
    {"value": "60", "observed_at": "2026-11-30T12:00:00Z", "sample_size": 400}]}


@pytest.fixture
def world() -> Iterator[tuple[TestClient, Runtime]]:
    """A small world with one approved initiative claiming M2, served by the app."""
    runtime = bootstrap(memory_settings())
    world = World(runtime.app)
    funded = world.submit("I01", cost_m="8", impacts=(("M2", "80", "0.5"),))
    runtime.app.decide(CX_CHIEF, initiative_id=funded, outcome="approve")
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, runtime
    runtime.close()


def gauges(client: TestClient) -> dict[str, float]:
    pairs = (line.rsplit(" ", 1) for line in iter_lines(client.get("/metrics").text))
    return {name: float(value) for name, value in pairs}


def test_a_signal_is_served_answered_in_a_review_and_counted(
        world: tuple[TestClient, Runtime]) -> None:
    client, _ = world
    assert client.get("/v1/signals", headers=CX).json()["items"] == []
    assert gauges(client)['cxgov_signals_open{kind="metric_off_track"}'] == 0
    assert client.post("/v1/metrics/M2/observations", headers=CX,
                       json=READING).status_code == 201

    listed = client.get("/v1/signals?kind=metric_off_track&state=open", headers=CX).json()
    assert [(s["key"], s["role"], s["severity"]) for s in listed["items"]] == [
        (KEY, "cx_exec", "high")]
    assert listed["items"][0]["evidence"]["readings"][0]["sample_size"] == 400
    assert gauges(client)['cxgov_signals_open{kind="metric_off_track"}'] == 1

    opened = client.post("/v1/reviews", headers=CX, json={"period": "FY2027",
                                                          "title": "November"})
    assert opened.status_code == 201, opened.text
    review = opened.json()["id"]
    keyed = {**CX, "Idempotency-Key": "ack-1"}
    body = {"note": "stop I01 next", "review": review}
    first = client.post(f"/v1/signals/{KEY}/acknowledge", headers=keyed, json=body)
    again = client.post(f"/v1/signals/{KEY}/acknowledge", headers=keyed, json=body)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    # acknowledged twice without a key: refused, a problem with a stable code
    twice = client.post(f"/v1/signals/{KEY}/acknowledge", headers=CX, json={"note": "again"})
    assert (twice.status_code, twice.json()["code"]) == (409, "state.invalid_transition")
    # a P&L owner may not answer a CX executive's signal
    assert client.post(f"/v1/signals/{KEY}/resolve", headers=RB,
                       json={"note": "x"}).status_code == 403

    one = client.get(f"/v1/reviews/{review}", headers=CX).json()["item"]
    assert [s["key"] for s in one["signals"]] == [KEY]
    assert [(i["item"], i["answers"]) for i in one["items"]] == [("acknowledge", [KEY])]
    speed = client.get("/v1/loop-speed?period=FY2027", headers=CX).json()
    assert [(r["period"], r["answered"]) for r in speed["items"]] == [("FY2027", 1),
                                                                    ("all", 1)]
    assert speed["answers"][0]["answered_by"] == "acknowledged"
    assert gauges(client)['cxgov_loop_seconds{period="FY2027",quantile="0.5"}'] > 0

    closed = client.post(f"/v1/reviews/{review}/close", headers=CX,
                         json={"minutes": "Acknowledged M2; I01 to be stopped."})
    assert closed.status_code == 200, closed.text
    late = client.post(f"/v1/signals/{KEY}/resolve", headers=CX,
                       json={"note": "done", "review": review})
    assert (late.status_code, late.json()["code"]) == (409, "state.invalid_transition")
    # as of the review's opening, nothing was acknowledged yet
    then = client.get(f"/v1/signals?as_of={opened.json()['position']}", headers=CX).json()
    assert [s["state"] for s in then["items"]] == ["open"]


def test_bad_loop_input_is_a_problem_and_writes_nothing(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    before = runtime.app.position()
    unknown = client.post("/v1/signals/pool_underused:FY2027/acknowledge", headers=CX,
                          json={"note": "?"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "signal.not_found")
    bad_key = client.post("/v1/signals/no_such_kind:FY2027/acknowledge", headers=CX,
                          json={"note": "?"})
    assert bad_key.status_code == 422
    i01 = str(runtime.app.initiative_id("FY2027", "I01"))
    unclaimed = client.post(f"/v1/initiatives/{i01}/benefit-plan", headers=CX, json={
        "owner": "Ops", "points": [{"metric": "M1", "by": "2027-06-30", "expected": "48"}]})
    assert (unclaimed.status_code, unclaimed.json()["code"]) == (422, "validation.invalid")
    assert client.post("/v1/reviews", headers=CX, json={"period": "FY2099"}).status_code == 404
    assert runtime.app.position() == before
    planned = client.post(f"/v1/initiatives/{i01}/benefit-plan", headers=RB, json={
        "owner": "Ops", "points": [{"metric": "M2", "by": "2027-06-30", "expected": "74"}]})
    assert planned.status_code == 201, planned.text
    plans = client.get("/v1/benefit-plans", headers=RB).json()["items"]
    assert [(p["code"], p["owner"], p["points"][0]["expected"]) for p in plans] == [
        ("I01", "Ops", "74")]


def cookie(runtime: Runtime, role: str, pnls: tuple[str, ...] = ()) -> dict[str, str]:
    """A dashboard session for one role."""
    session = sessions_of(runtime).start(Claims(f"{role}.one", role, (role,), pnls, "cxgov"),
                                         idle=timedelta(minutes=5),
                                         lifetime=timedelta(minutes=5))
    return {"Cookie": f"{COOKIE}={session}"}


def test_the_dashboard_inbox_puts_each_roles_signals_first_and_shows_reviews(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    before = client.app.state.services.models.log.max_position()  # type: ignore[attr-defined]
    client.post("/v1/metrics/M2/observations", headers=CX, json=READING)
    review = client.post("/v1/reviews", headers=CX, json={"period": "FY2027",
                                                          "title": "November"}).json()["id"]
    client.post(f"/v1/signals/{KEY}/acknowledge", headers=CX,
                json={"note": "looking into it", "review": review})

    exec_page = client.get("/dashboard/signals", headers=cookie(runtime, CX_EXEC)).text
    mine = exec_page.split('id="mine"')[1].split("</ul>")[0]
    assert KEY in mine and "looking into it" in mine
    owner_page = client.get("/dashboard/signals",
                            headers=cookie(runtime, PNL_OWNER, ("RB",))).text
    assert KEY not in owner_page.split('id="mine"')[1].split("</ul>")[0]
    assert KEY in owner_page.split('id="others"')[1].split("</ul>")[0]
    assert 'id="loop-speed"' in exec_page and "No signal answered yet" not in exec_page
    then = client.get(f"/dashboard/signals?as_of={before}", headers=cookie(runtime, CX_EXEC))
    assert then.status_code == 200 and KEY not in then.text

    listed = client.get("/dashboard/reviews", headers=cookie(runtime, CX_EXEC)).text
    assert f"/dashboard/reviews/{review}" in listed
    one = client.get(f"/dashboard/reviews/{review}", headers=cookie(runtime, CX_EXEC)).text
    assert KEY in one.split('id="review-signals"')[1] and "looking into it" in one
    assert client.get(f"/dashboard/reviews/{review}",
                      headers=cookie(runtime, "ingest")).status_code == 403


def test_a_stop_in_a_review_answers_the_signals_naming_the_initiative(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    client.post("/v1/metrics/M2/observations", headers=CX, json=READING)
    review = client.post("/v1/reviews", headers=CX, json={"period": "FY2027"}).json()["id"]
    i01 = runtime.app.initiative_id("FY2027", "I01")
    stopped = client.post(f"/v1/initiatives/{i01}/stop", headers=CX,
                          json={"reason": "not moving M2", "review": review})
    assert stopped.status_code == 200, stopped.text
    items = client.get(f"/v1/reviews/{review}", headers=CX).json()["item"]["items"]
    assert [(i["item"], i["initiative"], i["answers"]) for i in items] == [
        ("stop", str(i01), [KEY])]
    answers = client.get("/v1/loop-speed", headers=CX).json()["answers"]
    assert [(a["key"], a["answered_by"]) for a in answers] == [(KEY, "decision")]
    # no funded work claims M2 any more: the signal's condition stopped holding
    closed = client.get("/v1/signals?kind=metric_off_track", headers=CX).json()["items"]
    assert [(s["key"], s["state"]) for s in closed] == [(KEY, "closed")]
    refused = client.post(f"/v1/initiatives/{i01}/stop", headers=CX,
                          json={"reason": "again", "review": review})
    assert refused.status_code == 409


def test_the_scorecard_page_shows_a_benefit_plan_beside_the_claim(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    i01 = str(runtime.app.initiative_id("FY2027", "I01"))
    client.post(f"/v1/initiatives/{i01}/benefit-plan", headers=CX, json={
        "owner": "Head of Service", "points": [
            {"metric": "M2", "by": "2026-11-30", "expected": "74"}]})
    client.post("/v1/metrics/M2/observations", headers=CX, json=READING)
    page = client.get("/dashboard/scorecard", headers=cookie(runtime, CX_EXEC)).text
    assert "Benefit owner Head of Service; promised 74.0 by 2026-11-30 (read 60.0, " \
           "-133% realised)" in page
