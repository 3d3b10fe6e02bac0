"""The loop's acts on the dashboard (issue 14): acknowledge and resolve a signal in the inbox
(optionally in an open review), open a review, close one with minutes. Each form posts with the
session's CSRF token; a refusal shows the page again with the message by its field and the
input kept, and writes nothing."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from governance.bootstrap import Runtime, bootstrap
from governance.principal import CX_EXEC, PNL_OWNER
from tests.api.conftest import auth, memory_settings
from tests.api.test_loop_http import KEY, READING, cookie
from tests.api.test_re_decisions_dashboard import csrf_of
from tests.builders import CX_CHIEF, World

CX = auth("cx.chief", CX_EXEC)


@pytest.fixture
def world() -> Iterator[tuple[TestClient, Runtime]]:
    """One approved initiative claiming M2, and a reading of M2 that puts it off track (a
    CX executive's signal)."""
    runtime = bootstrap(memory_settings())
    funded = World(runtime.app).submit("I01", cost_m="8", impacts=(("M2", "80", "0.5"),))
    runtime.app.decide(CX_CHIEF, initiative_id=funded, outcome="approve")
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        assert client.post("/v1/metrics/M2/observations", headers=CX,
                           json=READING).status_code == 201
        yield client, runtime
    runtime.close()


def signal_state(client: TestClient) -> str:
    found = client.get("/v1/signals?period=FY2027", headers=CX).json()["items"]
    return str(next(s["state"] for s in found if s["key"] == KEY))


def post(client: TestClient, url: str, headers: dict[str, str],
         data: dict[str, str]) -> tuple[int, str]:
    """Post a form; a redirect (303) is followed with the same session (httpx drops a
    Cookie header on redirects). The final status and page."""
    answer = client.post(url, headers=headers, data=data, follow_redirects=False)
    if answer.status_code != 303:
        return answer.status_code, answer.text
    shown = client.get(answer.headers["location"], headers=headers)
    return shown.status_code, shown.text


def test_a_signal_is_acknowledged_in_a_review_and_resolved_from_the_inbox(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    review = client.post("/v1/reviews", headers=CX, json={"period": "FY2027",
                                                          "title": "November"}).json()["id"]
    owner = cookie(runtime, PNL_OWNER, ("RB",))
    owners = client.get("/dashboard/signals?period=FY2027", headers=owner).text
    assert f'id="answer-{KEY}"' not in owners  # a CX executive's signal: no form for them
    before = runtime.app.position()
    refused = client.post(f"/dashboard/signals/{KEY}/acknowledge", headers=owner,
                          data={"csrf": csrf_of(owners), "note": "mine?", "period": "FY2027"})
    assert refused.status_code == 403
    assert f'id="answer-error-{KEY}" role="alert">answering a metric_off_track signal needs' \
        in refused.text and "mine?</textarea>" in refused.text
    assert runtime.app.position() == before and signal_state(client) == "open"

    exec_cookie = cookie(runtime, CX_EXEC)
    page = client.get("/dashboard/signals?period=FY2027", headers=exec_cookie).text
    assert f'id="answer-{KEY}"' in page and '<label for="note-' in page
    assert f'<option value="{review}">November' in page
    done = client.post(f"/dashboard/signals/{KEY}/acknowledge", headers=exec_cookie,
                       data={"csrf": csrf_of(page), "note": "stop I01 next",
                             "review": review, "period": "FY2027"}, follow_redirects=False)
    assert done.status_code == 303 and "min_position=" in done.headers["location"]
    shown = client.get(done.headers["location"], headers=exec_cookie).text
    assert f"Recorded — acknowledged {KEY}." in shown
    assert signal_state(client) == "acknowledged"
    items = client.get(f"/v1/reviews/{review}", headers=CX).json()["item"]["items"]
    assert [(i["item"], i["signal"], i["note"]) for i in items] == [
        ("acknowledge", KEY, "stop I01 next")]
    assert ">Acknowledge</button>" not in shown  # acknowledged: only Resolve is left

    # acknowledging again is refused by the note field, the note kept, nothing written
    before = runtime.app.position()
    again = client.post(f"/dashboard/signals/{KEY}/acknowledge", headers=exec_cookie,
                        data={"csrf": csrf_of(shown), "note": "once more <b>",
                              "period": "FY2027"})
    assert again.status_code == 409
    assert f'aria-describedby="answer-error-{KEY}" autofocus>once more &lt;b&gt;</textarea>' \
        in again.text and f'id="answer-error-{KEY}" role="alert">' in again.text
    assert runtime.app.position() == before

    status, resolved = post(client, f"/dashboard/signals/{KEY}/resolve", exec_cookie,
                            {"csrf": csrf_of(shown), "note": "I01 stopped", "period": "FY2027"})
    assert status == 200 and f"Recorded — resolved {KEY}." in resolved
    assert signal_state(client) == "resolved"
    # answering a signal that is no longer open: the refusal at the top of the inbox
    gone = client.post(f"/dashboard/signals/{KEY}/resolve", headers=exec_cookie,
                       data={"csrf": csrf_of(resolved), "note": "again", "period": "FY2027"})
    assert gone.status_code == 404
    assert f'id="answer-error" role="alert">{KEY}: no open signal' in gone.text


def test_a_review_is_opened_and_closed_with_minutes_on_the_dashboard(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    owner = cookie(runtime, PNL_OWNER, ("RB",))
    assert 'id="open-review-form"' not in client.get("/dashboard/reviews?period=FY2027",
                                                     headers=owner).text
    exec_cookie = cookie(runtime, CX_EXEC)
    page = client.get("/dashboard/reviews?period=FY2027", headers=exec_cookie).text
    assert '<label for="review-period">Period</label>' in page

    before = runtime.app.position()
    unknown = client.post("/dashboard/reviews", headers=exec_cookie, data={
        "csrf": csrf_of(page), "period": "FY2099", "title": "Nope", "at": "FY2027"})
    assert unknown.status_code == 404
    assert 'value="FY2099"' in unknown.text and 'value="Nope"' in unknown.text
    assert 'aria-invalid="true" aria-describedby="open-review-error" autofocus' in unknown.text
    assert runtime.app.position() == before

    status, opened = post(client, "/dashboard/reviews", exec_cookie, {
        "csrf": csrf_of(page), "period": "FY2027", "title": "December", "at": "FY2027"})
    assert status == 200 and "Recorded — review opened." in opened
    assert "<h1>December · FY2027</h1>" in opened
    (review,) = client.get("/v1/reviews?period=FY2027", headers=CX).json()["items"]
    assert [s["key"] for s in review["signals"]] == [KEY]

    before = runtime.app.position()
    blank = client.post(f"/dashboard/reviews/{review['id']}/close", headers=exec_cookie,
                        data={"csrf": csrf_of(opened), "minutes": "   "})
    assert blank.status_code == 422 and 'id="close-review-error" role="alert">minutes' \
        in html.unescape(blank.text).replace("&#34;", '"')
    assert runtime.app.position() == before
    status, closed = post(client, f"/dashboard/reviews/{review['id']}/close", exec_cookie,
                          {"csrf": csrf_of(blank.text), "minutes": "Agreed to stop I01."})
    assert status == 200 and "Recorded — review closed." in closed
    assert 'id="close-review-form"' not in closed
    assert '<p id="minutes">Agreed to stop I01.</p>' in closed
    assert client.get(f"/v1/reviews/{review['id']}", headers=CX).json()["item"]["closed"]


def test_a_benefit_plan_is_recorded_on_the_initiative_page(
        world: tuple[TestClient, Runtime]) -> None:
    client, runtime = world
    i01 = runtime.app.initiative_id("FY2027", "I01")
    page_url = f"/dashboard/initiatives/{i01}"
    other = cookie(runtime, PNL_OWNER, ("CC",))
    assert 'id="benefit-plan-form"' not in client.get(page_url, headers=other).text

    owner = cookie(runtime, PNL_OWNER, ("RB",))
    page = client.get(page_url, headers=owner).text
    assert '<label for="plan-owner">Benefit owner</label>' in page
    assert '<option value="M2">M2</option>' in page and 'for="plan-3-expected"' in page
    before = runtime.app.position()
    refused = client.post(f"{page_url}/benefit-plan", headers=owner, follow_redirects=False,
                          data={"csrf": csrf_of(page), "owner": "Ops",
                                "metric": ["M2", "M2", "M2", "M2"],
                                "by": ["2027-06-30", "", "2027-03-31", ""],
                                "expected": ["74", "", "70", ""]})
    assert refused.status_code == 303 and runtime.app.position() == before
    shown = client.get(refused.headers["location"], headers=owner).text
    # the second point (form row 3) goes back in time: refused at row 3's date, input kept
    assert 'id="plan-2-by" name="by" value="2027-03-31" aria-invalid="true"' in shown
    assert 'id="benefit-plan-error" role="alert">the dates of M2 must ascend' in shown
    assert 'id="plan-owner" name="owner" maxlength="200" required value="Ops"' in shown

    status, done = post(client, f"{page_url}/benefit-plan", owner, {
        "csrf": csrf_of(shown), "owner": "Ops", "metric": ["M2", "M2", "M2", "M2"],
        "by": ["2027-06-30", "", "2027-12-31", ""], "expected": ["74", "", "70", ""]})
    assert status == 200 and "Recorded — benefit plan recorded." in done
    assert 'id="benefit-plan-form"' not in done  # planned: revising is the CLI's or API's
    plans = client.get("/v1/benefit-plans", headers=CX).json()["items"]
    assert [(p["code"], p["owner"], [(q["by"], q["expected"]) for q in p["points"]])
            for p in plans] == [("I01", "Ops", [("2027-06-30", "74"), ("2027-12-31", "70")])]
