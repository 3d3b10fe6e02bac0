"""Funding rounds over HTTP (issue 16, part 4), with the service's clock set by the test:
open a round (idempotent), submissions outside the intake window and decisions before the
decision phase refused as problem+json writing nothing, feasibility marks, and the round
read live and as of a position, by role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.conftest import auth
from tests.api.test_money_over_time_http import refused
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import CX_CHIEF, FINANCE_LEAD

CX = auth("cx.chief", "cx_exec")
FINANCE = auth("fiona", "finance")
OWNER = auth("rob", "pnl_owner", pnls=("RB",))
OTHER_OWNER = auth("walt", "pnl_owner", pnls=("WM",))
ROUND = "/v1/periods/FY2027/round"
OPENS = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
SCHEDULE = {"intake_opens": "2027-01-10T09:00:00Z", "intake_closes": "2027-01-24T09:00:00Z",
            "review_deadline": "2027-01-31T09:00:00Z",
            "decision_deadline": "2027-02-07T09:00:00Z"}
SUBMISSION = {"period": "FY2027", "kind": "pnl", "pnl": "RB", "title": "Round probe",
              "scenario": "S1", "cost": "100000", "confidence": "0.8",
              "expected_impacts": [{"metric": "M1", "expected_value": "100", "reach": "0.1"}]}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def read(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(ROUND, headers=headers, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_round_over_http(client: TestClient, runtime: Runtime) -> None:
    clock = Clock(OPENS - timedelta(days=1))
    runtime.app.clock = clock
    decide = f"/v1/initiatives/{runtime.app.initiative_id('FY2027', 'I01')}/decisions"
    # today's behaviour without a round: item null, submissions taken
    assert read(client, CX)["item"] is None
    owner = refused(client, runtime, ("POST", ROUND), SCHEDULE, OWNER)
    assert owner["status"] == 403
    backwards = refused(client, runtime, ("POST", ROUND),
                        {**SCHEDULE, "intake_closes": "2027-01-01T00:00:00Z"}, FINANCE)
    assert (backwards["status"], backwards["code"]) == (422, "validation.invalid")
    assert "intake_closes" in str(backwards)
    before = runtime.app.position()
    first = client.post(ROUND, headers={**FINANCE, "Idempotency-Key": "round-1"}, json=SCHEDULE)
    assert first.status_code == 201, first.text
    again = client.post(ROUND, headers={**FINANCE, "Idempotency-Key": "round-1"}, json=SCHEDULE)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    twice = refused(client, runtime, ("POST", ROUND), SCHEDULE, CX)
    assert (twice["status"], twice["code"]) == (409, "resource.already_exists")
    opened_at = runtime.app.position()

    early = refused(client, runtime, ("POST", "/v1/initiatives"), SUBMISSION, OWNER)
    assert (early["status"], early["code"]) == (409, "round.outside_intake")
    assert early["details"]["phase"] == "scheduled"
    clock.now = OPENS
    submitted = client.post("/v1/initiatives", headers=OWNER, json=SUBMISSION)
    assert submitted.status_code == 201, submitted.text
    not_yet = refused(client, runtime, ("POST", decide),
                      {"outcome": "defer", "rationale": "next quarter"}, CX)
    assert (not_yet["status"], not_yet["code"]) == (409, "round.not_in_decision")

    clock.now = OPENS + timedelta(days=15)  # review
    late = refused(client, runtime, ("POST", "/v1/initiatives"), SUBMISSION, OWNER)
    assert (late["status"], late["code"]) == (409, "round.outside_intake")
    bare = refused(client, runtime, ("POST", f"{ROUND}/feasibility"),
                   {"code": "I01", "verdict": "needs_information"}, FINANCE)
    assert (bare["status"], bare["code"]) == (422, "validation.invalid")
    marked = client.post(f"{ROUND}/feasibility", headers={**CX, "Idempotency-Key": "mark-1"},
                         json={"code": "I01", "verdict": "needs_information",
                               "note": "Which vendor, at what cost?"})
    assert marked.status_code == 201, marked.text
    seen = read(client, CX)["item"]
    assert (seen["phase"], seen["next_deadline"]) == ("review", "2027-01-31T09:00:00+00:00")
    assert [(m["code"], m["verdict"]) for m in seen["feasibility"]] == [
        ("I01", "needs_information")]
    assert [m["code"] for m in read(client, OWNER)["item"]["feasibility"]] == ["I01"]
    assert read(client, OTHER_OWNER)["item"]["feasibility"] == []

    clock.now = OPENS + timedelta(days=21)  # the review deadline: decisions from here
    closed = refused(client, runtime, ("POST", f"{ROUND}/feasibility"),
                     {"code": "I01", "verdict": "feasible"}, FINANCE)
    assert (closed["status"], closed["code"]) == (409, "round.review_closed")
    decided = client.post(decide, headers=CX, json={"outcome": "defer",
                                                    "rationale": "next quarter"})
    assert decided.status_code in (200, 201), decided.text
    assert read(client, CX)["item"]["phase"] == "decision"
    then = read(client, CX, as_of=str(opened_at))
    assert then["position"] == opened_at and then["item"]["feasibility"] == []
    assert read(client, CX, as_of=str(before))["item"] is None
    assert client.get("/v1/periods/FY2099/round", headers=CX).status_code == 404


def test_the_round_page(runtime: Runtime) -> None:
    gov = runtime.app
    gov.clock = Clock(OPENS + timedelta(days=15))  # review
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        none = client.get("/dashboard/round?period=FY2027")
        assert none.status_code == 200 and 'id="round-none"' in none.text
    before = gov.position()
    gov.open_round(FINANCE_LEAD, period="FY2027", intake_opens=OPENS,
                   intake_closes=OPENS + timedelta(days=14),
                   review_deadline=OPENS + timedelta(days=21),
                   decision_deadline=OPENS + timedelta(days=28))
    gov.mark_feasibility(CX_CHIEF, period="FY2027", code="I01", verdict="needs_information",
                         note="Which vendor?")
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get("/dashboard/round?period=FY2027")
        assert page.status_code == 200, page.text
        assert "Phase: <strong>review</strong>" in page.text
        assert "2027-01-31T09:00:00+00:00" in page.text and "Which vendor?" in page.text
        then = client.get(f"/dashboard/round?period=FY2027&as_of={before}")
        assert 'id="round-none"' in then.text
    with signed_in(runtime, "walt", "pnl_owner") as client:
        assert "Which vendor?" not in client.get("/dashboard/round?period=FY2027").text


def test_phase_changes_over_http_the_page_and_the_audit_timeline(
        client: TestClient, runtime: Runtime) -> None:
    """Decision 200 over HTTP: close intake early, move the review deadline, open decisions
    early; finance refused (403), nonsense refused as problem+json writing nothing; the
    changes on GET .../round (typed), as of a position, on /dashboard/round and on the
    auditor's decision timeline."""
    clock = Clock(OPENS + timedelta(days=2))  # intake
    runtime.app.clock = clock
    assert client.post(ROUND, headers=FINANCE, json=SCHEDULE).status_code == 201
    close = ("POST", f"{ROUND}/close-intake")
    by_finance = refused(client, runtime, close, {"reason": "done"}, FINANCE)
    assert (by_finance["status"], by_finance["code"]) == (403, "auth.forbidden")
    bare = refused(client, runtime, close, {"reason": ""}, CX)
    assert (bare["status"], bare["code"]) == (422, "validation.request")
    early = refused(client, runtime, ("POST", f"{ROUND}/open-decisions"),
                    {"reason": "skip"}, CX)
    assert (early["status"], early["code"]) == (409, "round.change_refused")
    assert early["details"]["phase"] == "intake"
    closed = client.post(f"{ROUND}/close-intake",
                         headers={**CX, "Idempotency-Key": "close-1"},
                         json={"reason": "Every P&L has submitted"})
    assert closed.status_code == 201, closed.text
    again = client.post(f"{ROUND}/close-intake", headers={**CX, "Idempotency-Key": "close-1"},
                        json={"reason": "Every P&L has submitted"})
    assert again.json()["id"] == closed.json()["id"]
    closed_at = runtime.app.position()
    late = refused(client, runtime, ("POST", "/v1/initiatives"), SUBMISSION, OWNER)
    assert (late["status"], late["code"]) == (409, "round.outside_intake")

    clock.now = OPENS + timedelta(days=3)  # review
    past = refused(client, runtime, ("POST", f"{ROUND}/schedule"),
                   {"review_deadline": "2027-01-12T12:00:00Z", "reason": "r"}, CX)
    assert (past["status"], past["code"]) == (409, "round.change_refused")
    assert past["details"]["field"] == "review_deadline"
    same = refused(client, runtime, ("POST", f"{ROUND}/schedule"),
                   {"review_deadline": SCHEDULE["review_deadline"], "reason": "r"}, CX)
    assert (same["status"], same["code"]) == (422, "validation.invalid")
    moved = client.post(f"{ROUND}/schedule", headers=CX, json={
        "review_deadline": "2027-02-04T09:00:00Z", "decision_deadline": "2027-02-11T09:00:00Z",
        "reason": "Finance needs four more days for vendor quotes"})
    assert moved.status_code == 201, moved.text
    clock.now = OPENS + timedelta(days=5)
    opened = client.post(f"{ROUND}/open-decisions", headers=CX,
                         json={"reason": "The board meets early"})
    assert opened.status_code == 201, opened.text
    reopen = refused(client, runtime, ("POST", f"{ROUND}/schedule"), {
        "intake_closes": "2027-02-20T09:00:00Z", "review_deadline": "2027-02-20T09:00:00Z",
        "decision_deadline": "2027-02-20T09:00:00Z", "reason": "one more"}, CX)
    assert (reopen["status"], reopen["code"]) == (409, "round.change_refused")

    item = read(client, OWNER)["item"]  # every reader sees the schedule and its changes
    assert item["phase"] == "decision" and item["accepts_decisions"] is True
    assert item["decision_deadline"] == "2027-02-11T09:00:00+00:00"
    assert [(c["change"], c["phase_before"], c["changed_by"], c["moved"])
            for c in item["changes"]] == [
        ("close_intake", "intake", "cxgov|cx.chief", ["intake_closes"]),
        ("reschedule", "review", "cxgov|cx.chief", ["review_deadline", "decision_deadline"]),
        ("open_decisions", "review", "cxgov|cx.chief", ["review_deadline"])]
    assert item["changes"][1]["reason"] == "Finance needs four more days for vendor quotes"
    then = read(client, CX, as_of=str(closed_at))["item"]
    assert [c["change"] for c in then["changes"]] == ["close_intake"]
    assert then["intake_closes"] == (OPENS + timedelta(days=2)).isoformat()

    with signed_in(runtime, "cx.deputy", "cx_exec") as browser:
        page = browser.get("/dashboard/round?period=FY2027")
        assert page.status_code == 200, page.text
        assert 'id="round-changes"' in page.text
        assert "The board meets early" in page.text and "open decisions" in page.text
        assert "Finance needs four more days for vendor quotes" in page.text
        old = browser.get(f"/dashboard/round?period=FY2027&as_of={closed_at}")
        assert "Every P&amp;L has submitted" in old.text
        assert "The board meets early" not in old.text
    with signed_in(runtime, "alex", "auditor") as browser:
        timeline = browser.get("/dashboard/audit").text
        assert timeline.count("FundingRound.Rescheduled</strong>") == 3
        assert "change=open_decisions" in timeline
