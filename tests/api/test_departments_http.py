"""Operational metrics with owners and the department view over HTTP (issue 15, part 3), on
the Harborview world (its company file maps every metric): the mapping command with its
idempotency key and problem+json refusals, the department list and one department, live and
as of a position."""

from __future__ import annotations

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth
from tests.builders import CX_CHIEF

CX = auth("chris", "cx_exec")
OWNER = auth("rob", "pnl_owner", pnls=("RB",))
INGEST = auth("bot", "ingest")


def item(name: str, department: str) -> dict[str, str]:
    return {"name": name, "source": "contact centre CRM", "aggregation": "share per month",
            "department": department}


def test_harborview_departments_and_one_department(client: TestClient) -> None:
    listed = client.get("/v1/departments", headers=INGEST)
    assert listed.status_code == 200, listed.text
    names = [d["department"] for d in listed.json()["items"]]
    assert "Onboarding Operations" in names and "Contact Centre" in names
    onboarding = next(d for d in listed.json()["items"]
                      if d["department"] == "Onboarding Operations")
    assert onboarding["metrics"] == ["M1", "M6"] and onboarding["operational_metrics"] == 3
    assert sum(onboarding["statuses"].values()) == 2
    one = client.get("/v1/departments/onboarding%20operations", headers=OWNER)
    assert one.status_code == 200, one.text
    body = one.json()["item"]
    assert body["department"] == "Onboarding Operations"
    assert [o["metric"] for o in body["outcomes"]] == ["M1", "M6"]
    assert body["outcomes"][0]["customer_phrasing"] == "Usable account within a day"
    assert {o["status"] for o in body["outcomes"]} <= {"green", "amber", "red", "grey"}
    assert [m["name"] for m in body["operational_metrics"]][:2] == [
        "Hours from application to KYC decision",
        "Hours from KYC approval to account activation"]
    missing = client.get("/v1/departments/Legal", headers=CX)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "department.not_found"


def test_mapping_a_metric_is_keyed_refused_cleanly_and_read_as_of(
        client: TestClient, runtime: Runtime) -> None:
    before = runtime.app.position()
    body = {"operational_metrics": [item("Repeat contacts within 7 days", "Service Quality")]}
    headers = {**CX, "Idempotency-Key": "map-m9-1"}
    first = client.post("/v1/metrics/M9/operational-metrics", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/v1/metrics/M9/operational-metrics", json=body, headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert runtime.app.position() == first.json()["position"]
    after = runtime.app.position()

    refused = client.post("/v1/metrics/M9/operational-metrics", headers=CX, json={
        "operational_metrics": [item("A", "Ops"), item("a", "Ops")]})
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation.invalid"
    assert "operational_metrics.1.name" in refused.text
    hostile = client.post("/v1/metrics/M9/operational-metrics", headers=CX, json={
        "operational_metrics": [item("A", "Ops\u202e")]})
    assert hostile.status_code == 422
    assert client.post("/v1/metrics/M9/operational-metrics", headers=OWNER,
                       json=body).status_code == 403
    assert client.post("/v1/metrics/M99/operational-metrics", headers=CX,
                       json=body).json()["code"] == "metric.not_found"
    assert runtime.app.position() == after  # the refusals wrote nothing

    now = client.get("/v1/departments/service%20quality", headers=CX)
    assert now.status_code == 200 and now.json()["item"]["outcomes"][0]["metric"] == "M9"
    then = client.get(f"/v1/departments/Service%20Quality?as_of={before}", headers=CX)
    assert then.status_code == 404
    contact = client.get(f"/v1/departments?as_of={before}", headers=CX).json()
    assert contact["position"] == before
    centre = next(d for d in contact["items"] if d["department"] == "Contact Centre")
    assert "M9" in centre["metrics"]
    metric = client.get("/v1/metrics/M9", headers=CX).json()["item"]
    assert metric["operational_metrics"] == body["operational_metrics"]
    assert metric["operational_mapped"]["actor"] == "cxgov|chris"


def test_the_departments_page_live_and_as_of(runtime: Runtime) -> None:
    from tests.api.test_re_decisions_dashboard import signed_in

    before = runtime.app.position()
    runtime.app.map_operational_metrics(CX_CHIEF, code="M9", operational_metrics=[
        item("Repeat contacts <script>", "Service Quality")])
    with signed_in(runtime, "rob", "pnl_owner") as client:
        page = client.get("/dashboard/departments")
        assert page.status_code == 200, page.text
        assert 'id="departments"' in page.text and "Onboarding Operations" in page.text
        one = client.get("/dashboard/departments?name=service+quality").text
        assert "Repeat contacts &lt;script&gt;" in one and "<script>" not in one
        assert 'id="outcomes"' in one and "One contact fixes it" in one
        then = client.get(f"/dashboard/departments?name=Service+Quality&as_of={before}")
        assert then.status_code == 404 and 'id="missing-department"' in then.text
