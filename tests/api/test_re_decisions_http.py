"""Re-decisions over HTTP (issue 14, item 5): carrying an initiative into the next period and
retargeting or re-baselining a metric. Refusals are problem+json with stable codes and write
nothing; idempotency keys replay; the reads show the links and the history as of any
position."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth

CHIEF = auth("cx.chief", "cx_exec")
DEPUTY = auth("cx.deputy", "cx_exec")
FINANCE = auth("fiona", "finance")
OWNER = auth("rb.lead", "pnl_owner", pnls=("RB",))
AUDITOR = auth("alex", "auditor")


def refused(client: TestClient, runtime: Runtime, path: str, body: dict[str, Any],
            headers: dict[str, str]) -> dict[str, Any]:
    """POST a request that must be refused; the log must not move. Its problem."""
    before = runtime.app.position()
    response = client.post(path, json=body, headers=headers)
    assert response.status_code >= 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert runtime.app.position() == before, "a refused request wrote an event"
    problem: dict[str, Any] = response.json()
    problem["status"] = response.status_code
    return problem


def ranking(client: TestClient, period: str = "FY2027") -> list[dict[str, Any]]:
    response = client.get(f"/v1/periods/{period}/ranking", headers=CHIEF)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def open_fy2028(client: TestClient) -> None:
    response = client.post("/v1/periods", headers=FINANCE, json={
        "code": "FY2028", "currency": "USD", "opex_total": "1200000000"})
    assert response.status_code == 201, response.text


@pytest.fixture
def deferred(client: TestClient) -> dict[str, Any]:
    """A Harborview initiative above the cut line, deferred (a departure, so explained)."""
    row = next(r for r in ranking(client) if r["recommended"] and r["kind"] == "pnl")
    response = client.post(f"/v1/initiatives/{row['id']}/decisions", headers=CHIEF,
                           json={"outcome": "defer", "rationale": "waits for the platform"})
    assert response.status_code == 201, response.text
    return row


# --- carry-over ----------------------------------------------------------------------------


def test_carry_over_links_both_ways_replays_under_its_key_and_reads_as_of(
        client: TestClient, runtime: Runtime, deferred: dict[str, Any]) -> None:
    open_fy2028(client)
    before = runtime.app.position()
    url = f"/v1/initiatives/{deferred['id']}/carry-over"
    body = {"to_period": "FY2028", "reason": "deferred for the platform; still needed",
            "cost": "4500000"}
    headers = {**DEPUTY, "Idempotency-Key": "carry-1"}

    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    new_id = first.json()["id"]
    assert first.headers["Location"] == f"/v1/initiatives/{new_id}"
    assert first.json()["status"] == "submitted"
    new = client.get(f"/v1/initiatives/{new_id}", headers=CHIEF).json()["item"]
    old = client.get(f"/v1/initiatives/{deferred['id']}", headers=CHIEF).json()["item"]
    assert (new["period"], new["carried_from"], new["proposal"]["cost"]) == (
        "FY2028", f"FY2027/{deferred['code']}", "4500000")
    assert (old["status"], old["carried_to"], old["carry_reason"]) == (
        "carried_over", f"FY2028/{new['code']}", body["reason"])
    assert [r["code"] for r in ranking(client, "FY2028")] == [new["code"]]
    assert deferred["code"] not in {r["code"] for r in ranking(client)}
    listed = client.get("/v1/initiatives", headers=CHIEF,
                        params={"status": "carried_over"}).json()["items"]
    assert [i["id"] for i in listed] == [deferred["id"]]
    then = client.get(f"/v1/initiatives/{deferred['id']}", headers=CHIEF,
                      params={"as_of": str(before)}).json()["item"]
    assert (then["status"], then["carried_to"]) == ("deferred", None)
    events = client.get("/v1/audit/events", headers=AUDITOR,
                        params={"after": str(before)}).json()["items"]
    carried = next(e for e in events if e["topic"] == "cxgov.Initiative.CarriedOver")
    assert carried["actor"] == "cxgov|cx.deputy"
    assert carried["details"]["reason"] == body["reason"]
    assert "to_period=FY2028" in carried["summary"]


def test_the_original_is_no_longer_decided_once_carried(
        client: TestClient, runtime: Runtime, deferred: dict[str, Any]) -> None:
    open_fy2028(client)
    response = client.post(f"/v1/initiatives/{deferred['id']}/carry-over", headers=DEPUTY,
                           json={"to_period": "FY2028", "reason": "carry"})
    assert response.status_code == 201, response.text
    problem = refused(client, runtime, f"/v1/initiatives/{deferred['id']}/decisions",
                      {"outcome": "approve"}, DEPUTY)
    assert (problem["status"], problem["code"]) == (409, "state.invalid_transition")


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    ({"to_period": "FY2030", "reason": "carry"}, CHIEF, 404, "period.not_found"),
    ({"to_period": "FY2027", "reason": "carry"}, CHIEF, 422, "validation.invalid"),
    ({"to_period": "FY2028"}, CHIEF, 422, "validation.request"),
    ({"to_period": "FY2028", "reason": " "}, CHIEF, 422, "validation.request"),
    ({"to_period": "FY2028", "reason": "carry", "cost": "-1"}, CHIEF, 422,
     "validation.request"),
    ({"to_period": "FY2028", "reason": "carry", "dependencies": ["I02"]}, CHIEF, 422,
     "validation.invalid"),
    ({"to_period": "FY2028", "reason": "carry"}, OWNER, 403, "auth.forbidden"),
    ({"to_period": "FY2028", "reason": "carry"}, FINANCE, 403, "auth.forbidden"),
])
def test_a_refused_carry_over_is_a_problem_and_writes_nothing(
        client: TestClient, runtime: Runtime, deferred: dict[str, Any], body: dict[str, Any],
        headers: dict[str, str], status: int, code: str) -> None:
    open_fy2028(client)
    problem = refused(client, runtime, f"/v1/initiatives/{deferred['id']}/carry-over", body,
                      headers)
    assert (problem["status"], problem["code"]) == (status, code)


def test_undecided_work_waits_for_its_period_to_close_and_closed_targets_refuse(
        client: TestClient, runtime: Runtime) -> None:
    open_fy2028(client)
    undecided = next(r for r in ranking(client) if r["status"] == "submitted")
    url = f"/v1/initiatives/{undecided['id']}/carry-over"
    problem = refused(client, runtime, url, {"to_period": "FY2028", "reason": "carry"}, CHIEF)
    assert (problem["status"], problem["code"]) == (409, "state.invalid_transition")
    assert "only deferred work is carried before its period closes" in problem["detail"]
    closed = client.post("/v1/periods/FY2027/close", headers=FINANCE, json={"reason": "end"})
    assert closed.status_code == 200, closed.text
    done = client.post(url, headers=CHIEF, json={"to_period": "FY2028",
                                                 "reason": "left unfunded at year end"})
    assert done.status_code == 201, done.text
    client.post("/v1/periods/FY2028/close", headers=FINANCE, json={"reason": "frozen"})
    other = next(r for r in ranking(client) if r["status"] == "submitted")
    problem = refused(client, runtime, f"/v1/initiatives/{other['id']}/carry-over",
                      {"to_period": "FY2028", "reason": "carry"}, CHIEF)
    assert (problem["status"], problem["code"]) == (409, "period.closed")


# --- retarget and re-baseline --------------------------------------------------------------


def metric(client: TestClient, code: str = "M1", **query: str) -> dict[str, Any]:
    response = client.get(f"/v1/metrics/{code}", headers=OWNER, params=query)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["item"]
    return item


def card(client: TestClient, code: str = "M1", **query: str) -> dict[str, Any]:
    response = client.get("/v1/scorecard", headers=OWNER, params={"period": "FY2027", **query})
    assert response.status_code == 200, response.text
    return next(c for c in response.json()["items"] if c["metric"] == code)


def test_retarget_and_rebaseline_keep_the_history_and_the_scorecard_reads_as_of(
        client: TestClient, runtime: Runtime) -> None:
    top = next(r for r in ranking(client)
               if r["recommended"] and any(line["metric"] == "M1" for line in r["lines"]))
    decided = client.post(f"/v1/initiatives/{top['id']}/decisions", headers=CHIEF,
                          json={"outcome": "approve"})
    assert decided.status_code == 201, decided.text
    before = runtime.app.position()
    headers = {**CHIEF, "Idempotency-Key": "retarget-1"}
    body = {"target": "36", "target_date": "2028-06-30", "reason": "24 h needs core banking"}
    first = client.post("/v1/metrics/M1/targets", headers=headers, json=body)
    again = client.post("/v1/metrics/M1/targets", headers=headers, json=body)
    assert first.status_code == 201, first.text
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert first.headers["Location"] == "/v1/metrics/M1"
    rebased = client.post("/v1/metrics/M1/targets", headers=DEPUTY, json={
        "baseline": "110", "target_date": None, "reason": "weekends were counted twice"})
    assert rebased.status_code == 201, rebased.text

    item = metric(client)
    assert (item["baseline"], item["target"], item["target_date"]) == ("110", "36", None)
    assert [(t["kind"], t["baseline"], t["target"], t["target_date"]) for t in item["targets"]
            ] == [("definition", "120", "24", None), ("retarget", "120", "36", "2028-06-30"),
                  ("rebaseline+retarget", "110", "36", None)]
    now = card(client)
    assert [t["version"] for t in now["targets"]] == [1, 2, 3]
    assert [(d["code"], d["outcome"]) for d in now["targets"][0]["decisions"]] == [
        (top["code"], "approve")]
    assert now["targets"][1]["decisions"] == now["targets"][2]["decisions"] == []
    assert now["targets"][0]["in_force_until"] == now["targets"][1]["in_force_from"]

    then = card(client, as_of=str(before))
    assert (then["baseline"], then["target"]) == ("120", "24")
    assert [t["target"] for t in then["targets"]] == ["24"]
    assert then["targets"][0]["in_force_until"] is None
    assert [t["target"] for t in metric(client, as_of=str(before))["targets"]] == ["24"]
    events = client.get("/v1/audit/events", headers=AUDITOR,
                        params={"after": str(before)}).json()["items"]
    events = [e for e in events if e["topic"] != "cxgov.IdempotencyKey.Recorded"]
    assert [e["topic"] for e in events] == ["cxgov.CustomerSuccessMetric.Retargeted"] * 2
    assert "previous_target=24" in events[0]["summary"] and "target=36" in events[0]["summary"]


@pytest.mark.parametrize(("path", "body", "headers", "status", "code"), [
    ("/v1/metrics/M1/targets", {"reason": "nothing"}, CHIEF, 422, "validation.invalid"),
    ("/v1/metrics/M1/targets", {"target": "24", "reason": "same"}, CHIEF, 422,
     "validation.invalid"),
    ("/v1/metrics/M1/targets", {"target": "130", "reason": "wrong way"}, CHIEF, 422,
     "validation.invalid"),
    ("/v1/metrics/M1/targets", {"target": "30"}, CHIEF, 422, "validation.request"),
    ("/v1/metrics/M1/targets", {"target": "thirty", "reason": "x"}, CHIEF, 422,
     "validation.request"),
    ("/v1/metrics/M1/targets", {"target_date": 0, "reason": "x"}, CHIEF, 422,
     "validation.request"),  # a number is not read as a Unix time
    ("/v1/metrics/M99/targets", {"target": "30", "reason": "x"}, CHIEF, 404,
     "metric.not_found"),
    ("/v1/metrics/M1/targets", {"target": "30", "reason": "x"}, OWNER, 403, "auth.forbidden"),
    ("/v1/metrics/M1/targets", {"target": "30", "reason": "x"}, AUDITOR, 403,
     "auth.forbidden"),
])
def test_a_refused_retarget_is_a_problem_and_writes_nothing(
        client: TestClient, runtime: Runtime, path: str, body: dict[str, Any],
        headers: dict[str, str], status: int, code: str) -> None:
    problem = refused(client, runtime, path, body, headers)
    assert (problem["status"], problem["code"]) == (status, code)
    assert Decimal(metric(client)["target"]) == 24


# --- who reads what ------------------------------------------------------------------------

INGEST = auth("bot", "ingest")


def owners(pnl: str) -> tuple[dict[str, str], dict[str, str]]:
    """Headers of an owner of `pnl` and of an owner of another P&L."""
    other = "SBS" if pnl != "SBS" else "WM"
    return (auth(f"{pnl.lower()}.lead", "pnl_owner", pnls=(pnl,)),
            auth(f"{other.lower()}.lead", "pnl_owner", pnls=(other,)))


def test_a_carried_over_initiative_is_read_as_undecided_work_is(
        client: TestClient, deferred: dict[str, Any]) -> None:
    """Its proposal is its undecided successor's: the owner of another P&L reads neither
    (404, as for an initiative that does not exist); its own P&L's owner reads both."""
    open_fy2028(client)
    new_id = client.post(f"/v1/initiatives/{deferred['id']}/carry-over", headers=DEPUTY,
                         json={"to_period": "FY2028", "reason": "carry"}).json()["id"]
    own, other = owners(deferred["pnl"])
    for initiative_id in (deferred["id"], new_id):
        assert client.get(f"/v1/initiatives/{initiative_id}", headers=own).status_code == 200
        hidden = client.get(f"/v1/initiatives/{initiative_id}", headers=other)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "initiative.not_found")
    listed = client.get("/v1/initiatives", headers=other,
                        params={"status": "carried_over"}).json()["items"]
    assert listed == []


def test_the_target_history_names_only_decisions_the_caller_reads(
        client: TestClient, deferred: dict[str, Any]) -> None:
    code = sorted(line["metric"] for line in deferred["lines"])[0]
    before = metric(client, code)
    step = 1 if before["direction"] == "increase" else -1
    body = {"target": str(Decimal(before["target"]) + step), "reason": "moved"}
    assert client.post(f"/v1/metrics/{code}/targets", headers=CHIEF, json=body).status_code == 201

    def decided(headers: dict[str, str]) -> list[str]:
        response = client.get("/v1/scorecard", headers=headers, params={"period": "FY2027"})
        assert response.status_code == 200, response.text
        found = next(c for c in response.json()["items"] if c["metric"] == code)
        assert len(found["targets"]) == 2  # every reader sees the versions
        return [d["code"] for t in found["targets"] for d in t["decisions"]]

    own, other = owners(deferred["pnl"])
    assert deferred["code"] in decided(CHIEF) and deferred["code"] in decided(own)
    assert deferred["code"] not in decided(other)  # deferred: undecided, another P&L
    assert decided(INGEST) == []
