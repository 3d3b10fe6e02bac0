"""Every route x every role x own/other P&L, generated from one declarative table.

The table holds every route under /v1 and every read (GET) of the dashboard: a route added
without a row fails `test_the_table_covers_every_route`. The read rule it checks
(`governance.read_access`, docs/api-guide.md "Who reads what"): ingest reads no initiative; a
P&L owner never sees the content of another P&L's undecided initiative, whatever the route.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.session import COOKIE
from domain.lifecycle import UNDECIDED
from governance.bootstrap import Runtime
from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER, ROLES, Principal
from governance.stores.sessions import Claims, sessions_of
from tests.api.conftest import auth, harborview_runtime

ALL, OWN, OTHER = "all", "own", "other"
DENY, HIDDEN = 403, 404
PERIOD, WRITE_ON, READ_ON = "FY2027", "I01", "I03"  # both initiatives belong to P&L RB
DECIDED = "I02"  # approved in the leak world: an RB initiative every portfolio reader sees
EVERYONE = {role: ALL for role in ROLES}
INITIATIVE_READERS = {FINANCE: ALL, CX_EXEC: ALL, AUDITOR: ALL, PNL_OWNER: ALL}
GOVERNANCE = {FINANCE: ALL, CX_EXEC: ALL, AUDITOR: ALL, PNL_OWNER: OWN}
WEBHOOK_READERS = {CX_EXEC: ALL, AUDITOR: ALL}
HOOK = "00000000-0000-4000-8000-0000000000aa"  # no such subscription: allowed means 404
REVIEW = "00000000-0000-4000-8000-0000000000cc"  # no such review: allowed means 404
SIGNAL = "metric_off_track:FY2027:M2"  # not open in Harborview: allowed means 404
SIGNAL_ANSWERERS = {CX_EXEC: ALL, PNL_OWNER: ALL, FINANCE: ALL}
PLAN_READERS = {FINANCE: ALL, CX_EXEC: ALL, AUDITOR: ALL}  # funding plans (issue 16)
PLAN = "Matrix"  # a plan saved in the matrix world; adopting "Nothing" means 404
DEPARTMENT = "Onboarding%20Operations"  # owns Harborview's operational metrics (issue 15)


@dataclass(frozen=True)
class Route:
    """One row: a request, who may send it (ALL, or OWN P&L only), and how others are refused
    (`refused`, or a role's own status in `refusals`)."""

    method: str
    path: str
    allow: dict[str, str]
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    refused: int = DENY
    refusals: dict[str, int] = field(default_factory=dict)


def initiative_body(**changes: Any) -> dict[str, Any]:
    """A valid submission to P&L RB."""
    return {"period": PERIOD, "kind": "pnl", "pnl": "RB", "title": "Matrix probe",
            "scenario": "S1", "cost": "100000", "confidence": "0.8",
            "expected_impacts": [{"metric": "M1", "expected_value": "100", "reach": "0.1"}],
            **changes}


#: Reads: the dashboard pages and every GET of /v1 (with replayed as-of variants).
READS = [
    Route("GET", "/v1/periods/{period}", EVERYONE),
    Route("GET", "/v1/periods/{period}/ledger", EVERYONE),
    Route("GET", "/v1/periods/{period}/ranking", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/ranking?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/recommendation", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/recommendation?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/fair-shares", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/fair-shares?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/dashboard/fair-shares", INITIATIVE_READERS),
    Route("GET", "/dashboard/fair-shares?as_of={newest}", INITIATIVE_READERS),
    # issue 17: knock-on effects (read as the initiative), the optimum at a budget, what-if
    Route("GET", "/v1/periods/{period}/initiatives/{read}/knock-on?outcome=approve",
          GOVERNANCE, refused=HIDDEN, refusals={INGEST: DENY}),
    Route("GET", "/v1/periods/{period}/initiatives/{read}/knock-on?outcome=reject"
          "&as_of={newest}", GOVERNANCE, refused=HIDDEN, refusals={INGEST: DENY}),
    Route("GET", "/v1/periods/{period}/optimum?budget=130000000", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/optimum?budget=%24130M&as_of={newest}",
          INITIATIVE_READERS),
    Route("GET", "/dashboard/what-if", INITIATIVE_READERS),
    Route("GET", "/dashboard/what-if?as_of={newest}&budget=%24130M", INITIATIVE_READERS),
    Route("GET", "/v1/scorecard?period={period}", EVERYONE),
    Route("GET", "/v1/pnls", EVERYONE),
    Route("GET", "/v1/scenarios", EVERYONE),
    Route("GET", "/v1/metrics", EVERYONE),
    Route("GET", "/v1/metrics/M1", EVERYONE),
    Route("GET", "/v1/scoring-policy", EVERYONE),
    Route("GET", "/v1/initiatives", INITIATIVE_READERS),
    Route("GET", "/v1/initiatives?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/initiatives/{read}", GOVERNANCE, refused=HIDDEN,
          refusals={INGEST: DENY}),
    Route("GET", "/v1/initiatives/{read}?as_of={newest}", GOVERNANCE, refused=HIDDEN,
          refusals={INGEST: DENY}),
    Route("GET", "/v1/audit/events", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/decisions/00000000-0000-4000-8000-000000000000",
          {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/departures/{period}", {AUDITOR: ALL, CX_EXEC: ALL}),
    # issue 18: the Merkle log (503 audit.unavailable on the in-memory store: no chain)
    Route("GET", "/v1/audit/checkpoint", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/proofs/inclusion?position=1", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/proofs/consistency?old=1", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/cosignatures", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/v1/audit/key-rotations", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/dashboard", INITIATIVE_READERS),
    Route("GET", "/dashboard?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/ranking.csv", INITIATIVE_READERS),  # issue 17: exports
    Route("GET", "/dashboard/export/ranking.json?as_of={newest}&pnl=RB", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/decided.csv", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/decided.json?as_of={newest}&pnl=RB", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/ledger.csv", EVERYONE),
    Route("GET", "/dashboard/export/ledger.json?as_of={newest}", EVERYONE),
    Route("GET", "/dashboard/export/scorecard.csv", EVERYONE),
    Route("GET", "/dashboard/export/scorecard.json?as_of={newest}", EVERYONE),
    Route("GET", "/dashboard/export/signals.csv?show=all", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/signals.json?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/audit.csv?show=all", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/dashboard/export/audit.json?as_of={newest}", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/dashboard/export/plans.csv", PLAN_READERS),
    Route("GET", f"/dashboard/export/plans.json?as_of={{newest}}&name={PLAN}", PLAN_READERS),
    Route("GET", "/dashboard/export/fair-shares.csv", INITIATIVE_READERS),
    Route("GET", "/dashboard/export/fair-shares.json?as_of={newest}", INITIATIVE_READERS),
    # the audit bundle: auditors only; on PostgreSQL (tests/pg/test_audit_page_pg.py), the
    # in-memory store of the matrix answers an auditor 404 (it keeps no hash chain)
    Route("GET", "/dashboard/export/audit-bundle.jsonl", {AUDITOR: ALL}),
    Route("GET", "/dashboard/initiatives/{read}", GOVERNANCE, refused=HIDDEN,
          refusals={INGEST: DENY}),
    Route("GET", "/dashboard/scorecard", EVERYONE),
    Route("GET", "/dashboard/ledger", EVERYONE),
    Route("GET", "/dashboard/ledger?as_of={newest}", EVERYONE),
    Route("GET", "/dashboard/you-said-we-did", INITIATIVE_READERS),
    Route("GET", "/dashboard/you-said-we-did?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/you-said-we-did", INITIATIVE_READERS),
    Route("GET", "/v1/you-said-we-did?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/you-said-we-did/feed.json", INITIATIVE_READERS),
    Route("GET", "/v1/you-said-we-did/feed.atom", INITIATIVE_READERS),
    Route("GET", "/dashboard/audit", {AUDITOR: ALL, CX_EXEC: ALL}),
    Route("GET", "/dashboard/desk", EVERYONE),
    Route("GET", "/dashboard/desk?revise={read}", EVERYONE),
    Route("GET", "/v1/webhooks", WEBHOOK_READERS),
    Route("GET", "/v1/webhooks?as_of={newest}", WEBHOOK_READERS),
    Route("GET", "/v1/webhook-deliveries", WEBHOOK_READERS),
    Route("GET", "/v1/webhook-deliveries?state=dead", WEBHOOK_READERS),
    Route("GET", "/v1/signals", INITIATIVE_READERS),
    Route("GET", "/v1/signals?as_of={newest}&state=open", INITIATIVE_READERS),
    Route("GET", "/v1/loop-speed", INITIATIVE_READERS),
    Route("GET", "/v1/loop-speed?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/reviews", INITIATIVE_READERS),
    Route("GET", "/v1/reviews?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/reviews/{review}", INITIATIVE_READERS),
    Route("GET", "/v1/reviews/{review}?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/benefit-plans", INITIATIVE_READERS),
    Route("GET", "/v1/benefit-plans?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/dashboard/signals", INITIATIVE_READERS),
    Route("GET", "/dashboard/signals?as_of={newest}&show=all", INITIATIVE_READERS),
    Route("GET", "/dashboard/reviews", INITIATIVE_READERS),
    Route("GET", "/dashboard/reviews/{review}", INITIATIVE_READERS),
    Route("GET", "/dashboard/reviews/{review}?as_of={newest}", INITIATIVE_READERS),
    Route("GET", "/v1/periods/{period}/plans", PLAN_READERS),
    Route("GET", "/v1/periods/{period}/plans?as_of={newest}", PLAN_READERS),
    Route("GET", f"/v1/periods/{{period}}/plans/compare?names={PLAN}", PLAN_READERS),
    Route("GET", f"/v1/periods/{{period}}/plans/compare?names={PLAN}&as_of={{newest}}",
          PLAN_READERS),
    Route("GET", f"/v1/periods/{{period}}/plans/{PLAN}", PLAN_READERS),
    Route("GET", f"/v1/periods/{{period}}/plans/{PLAN}?as_of={{newest}}", PLAN_READERS),
    Route("GET", "/dashboard/plans", PLAN_READERS),
    Route("GET", f"/dashboard/plans?as_of={{newest}}&name={PLAN}", PLAN_READERS),
    Route("GET", "/v1/departments", EVERYONE),  # issue 15: departments
    Route("GET", "/v1/departments?as_of={newest}", EVERYONE),
    Route("GET", f"/v1/departments/{DEPARTMENT}", EVERYONE),
    Route("GET", f"/v1/departments/{DEPARTMENT}?as_of={{newest}}", EVERYONE),
    Route("GET", "/dashboard/departments", EVERYONE),
    Route("GET", "/v1/metrics/M1/drivers", EVERYONE),  # issue 15: key drivers
    Route("GET", "/v1/metrics/M1/drivers?as_of={newest}&lag=1", EVERYONE),
    Route("GET", "/dashboard/drivers", EVERYONE),
    Route("GET", "/dashboard/drivers?as_of={newest}&metric=M1&names=M2,M3&lag=1", EVERYONE),
    Route("GET", "/v1/jobs", EVERYONE),  # issue 15: jobs to be done
    Route("GET", "/v1/jobs?as_of={newest}", EVERYONE),
    Route("GET", "/dashboard/jobs", EVERYONE),
    Route("GET", "/v1/feedback", EVERYONE),  # issue 15: voice of the customer
    Route("GET", "/v1/feedback?as_of={newest}&metric=M1", EVERYONE),
    Route("GET", "/dashboard/jobs?as_of={newest}", EVERYONE),
    # issue 16, part 4: funding rounds (Harborview runs none: item null)
    Route("GET", "/v1/periods/{period}/round", EVERYONE),
    Route("GET", "/v1/periods/{period}/round?as_of={newest}", EVERYONE),
    Route("GET", "/dashboard/round", EVERYONE),
    Route("GET", "/dashboard/round?as_of={newest}", EVERYONE),
    # issue 16: the scoring policy's page (weights, guardrails, where the period stands)
    Route("GET", "/dashboard/policy", EVERYONE),
    Route("GET", "/dashboard/policy?as_of={newest}", EVERYONE),
    # issue 15: proposed weights previewed (as POST /v1/scoring-policy/preview: CX executives)
    Route("GET", "/dashboard/policy/proposal?source=jobs", {CX_EXEC: ALL}),
    Route("GET", "/dashboard/policy/proposal?source=drivers&metric=M1&period={period}",
          {CX_EXEC: ALL}),
    Route("GET", f"/dashboard/departments?as_of={{newest}}&name={DEPARTMENT}", EVERYONE),
    Route("GET", "/v1/metrics/M1/segments", EVERYONE),  # issue 15: a card by segment
    Route("GET", "/v1/metrics/M1/segments?as_of={newest}&by=cohort", EVERYONE),
    Route("GET", "/dashboard/scorecard/M1/segments", EVERYONE),
    Route("GET", "/dashboard/scorecard/M1/segments?as_of={newest}&by=region", EVERYONE),
]
WRITES = [
    Route("POST", "/v1/periods", {FINANCE: ALL},
          {"code": "FY2031", "currency": "USD", "opex_total": "1000000"}),
    Route("POST", "/v1/periods/{period}/restatements", {FINANCE: ALL},
          {"opex_total": "1200000000", "reason": "forecast"}),
    Route("POST", "/v1/periods/{period}/close", {FINANCE: ALL}, {"reason": "year end"}),
    Route("POST", "/v1/pnls", {FINANCE: ALL}, {"code": "CC", "name": "Cards"}),
    Route("POST", "/v1/scenarios", {CX_EXEC: ALL}, {"code": "S99", "name": "Lose a card"}),
    Route("POST", "/v1/metrics", {CX_EXEC: ALL}, {
        "code": "M99", "customer_phrasing": "Fast", "operational_metric": "Days",
        "unit": "days", "direction": "decrease", "baseline": "6", "target": "2"}),
    Route("POST", "/v1/metrics/M1/observations", {INGEST: ALL, CX_EXEC: ALL}, {
        "batch_key": "b1", "source": "crm",
        "readings": [{"value": "70", "observed_at": "2026-03-31T00:00:00Z"}]}),
    Route("POST", "/v1/observations", {INGEST: ALL, CX_EXEC: ALL}, {"batches": [
        {"metric": "M1", "batch_key": "bulk1", "source": "crm",
         "readings": [{"value": "70", "observed_at": "2026-03-31T00:00:00Z"}]}]}),
    Route("PUT", "/v1/scoring-policy", {CX_EXEC: ALL}, {"weights": "{weights}",
                                                         "rationale": "unchanged"}),
    Route("POST", "/v1/scoring-policy/preview", {CX_EXEC: ALL},
          {"period": PERIOD, "weights": "{weights}"}),
    # issue 16: guardrails are set with the policy (a quarter for cross-P&L work)
    Route("PUT", "/v1/scoring-policy", {CX_EXEC: ALL}, {
        "weights": "{weights}", "rationale": "matrix guardrails",
        "guardrails": [{"dimension": "pnl", "value": "CX", "min_share": "0.25"}]}),
    Route("POST", "/v1/scoring-policy/preview", {CX_EXEC: ALL}, {
        "period": PERIOD, "weights": "{weights}",
        "guardrails": [{"dimension": "kind", "value": "pnl", "max_share": "0.8"}]}),
    Route("POST", "/v1/audit/cosignatures", {AUDITOR: ALL, CX_EXEC: ALL},
          {"note": "a witness's cosigned checkpoint"}),  # issue 18: witnesses
    Route("POST", "/v1/initiatives", {PNL_OWNER: OWN}, initiative_body()),
    Route("POST", "/v1/initiatives", {CX_EXEC: ALL},
          initiative_body(kind="cx_process", pnl=None)),
    Route("PATCH", "/v1/initiatives/{write}", {PNL_OWNER: OWN}, {"title": "Renamed"},
          headers={"If-Match": "{version}"}),
    Route("POST", "/v1/initiatives/{write}/withdraw", {PNL_OWNER: OWN}, {"reason": "moot"}),
    Route("POST", "/v1/initiatives/{write}/decisions", {CX_EXEC: ALL},
          {"outcome": "defer", "rationale": "next quarter"}),
    Route("POST", "/v1/initiatives/{write}/delivery", {PNL_OWNER: OWN},
          {"delivered_on": "2026-06-30"}),
    Route("POST", "/v1/initiatives/{write}/outcomes", {PNL_OWNER: OWN},
          {"metric": "M1", "observed_value": "60", "observed_at": "2026-09-30T00:00:00Z"}),
    Route("POST", "/v1/initiatives/{write}/cancel", {CX_EXEC: ALL}, {"reason": "moot"}),
    # no period FY2031 in the matrix world: allowed means 404, and nothing is written
    Route("POST", "/v1/initiatives/{write}/carry-over", {CX_EXEC: ALL},
          {"to_period": "FY2031", "reason": "matrix"}),
    # a target version that changes nothing: allowed means 422, and nothing is written
    Route("POST", "/v1/metrics/M1/targets", {CX_EXEC: ALL}, {"reason": "matrix"}),
    Route("POST", "/v1/initiatives/{write}/stop", {CX_EXEC: ALL}, {"reason": "moot"}),
    Route("POST", "/v1/initiatives/{write}/descope", {CX_EXEC: ALL},
          {"new_cost": "1", "reason": "moot"}),
    Route("POST", "/v1/initiatives/{write}/tranche-releases", {CX_EXEC: ALL},
          {"gate": "pilot", "rationale": "matrix"}),
    Route("POST", "/v1/initiatives/{write}/spend", {FINANCE: ALL, INGEST: ALL},
          {"amount": "1", "spent_on": "2026-03-31"}),
    Route("POST", "/v1/spend", {FINANCE: ALL, INGEST: ALL}, {"items": [
        {"initiative_id": "00000000-0000-4000-8000-0000000000bb", "amount": "1",
         "spent_on": "2026-03-31"}]}),
    Route("POST", "/v1/webhooks", {CX_EXEC: ALL},
          {"url": "https://hooks.example.com/matrix", "kinds": ["*"]}),
    Route("POST", f"/v1/webhooks/{HOOK}/pause", {CX_EXEC: ALL}, {"reason": "quiet"}),
    Route("POST", f"/v1/webhooks/{HOOK}/resume", {CX_EXEC: ALL}, {}),
    Route("POST", f"/v1/webhooks/{HOOK}/replay", {CX_EXEC: ALL}, {"delivery_ids": []}),
    Route("DELETE", f"/v1/webhooks/{HOOK}", {CX_EXEC: ALL}),
    Route("POST", f"/v1/signals/{SIGNAL}/acknowledge", SIGNAL_ANSWERERS, {"note": "seen"}),
    Route("POST", f"/v1/signals/{SIGNAL}/resolve", SIGNAL_ANSWERERS, {"note": "done"}),
    Route("POST", "/v1/reviews", {CX_EXEC: ALL}, {"period": PERIOD, "title": "Matrix"}),
    Route("POST", f"/v1/reviews/{REVIEW}/close", {CX_EXEC: ALL}, {"minutes": "none"}),
    Route("POST", "/v1/initiatives/{write}/benefit-plan", {CX_EXEC: ALL, PNL_OWNER: OWN},
          {"owner": "Matrix", "points": [{"metric": "M1", "by": "2027-06-30",
                                           "expected": "100"}]}),
    Route("POST", "/v1/initiatives/{write}/benefit-plan/revisions",
          {CX_EXEC: ALL, PNL_OWNER: OWN},
          {"points": [{"metric": "M1", "by": "2027-06-30", "expected": "100"}],
           "reason": "matrix"}),
    Route("POST", "/v1/periods/{period}/plans", {CX_EXEC: ALL, FINANCE: ALL},
          {"name": "Matrix probe", "budget": "120000000"}),
    Route("POST", "/v1/periods/{period}/plans/Nothing/adopt", {CX_EXEC: ALL},
          {"rationale": "matrix"}),
    Route("POST", "/v1/feedback", {INGEST: ALL, CX_EXEC: ALL}, {
        "batch_key": "matrix", "source": "matrix", "items": [
            {"verbatim": "Matrix probe", "channel": "survey", "received_on": "2026-03-31"}]}),
    # no feedback batch "none": allowed means 404, and nothing is written
    Route("POST", "/v1/initiatives/{write}/evidence", {PNL_OWNER: OWN, CX_EXEC: ALL},
          {"refs": ["none/1"]}),
    # no job J98: allowed means 404 (job.not_found), and nothing is written
    Route("POST", "/v1/initiatives/{write}/jobs", {PNL_OWNER: OWN, CX_EXEC: ALL},
          {"jobs": ["J98"]}),
    # no job in the matrix world: allowed means 422 (no weights to preview)
    Route("POST", "/v1/jobs/preview", {CX_EXEC: ALL}, {"period": PERIOD}),
    Route("POST", "/v1/jobs", {CX_EXEC: ALL}, {
        "code": "J99", "statement": "Matrix probe", "importance": "8", "satisfaction": "4"}),
    # no job J98: allowed means 404, and nothing is written
    Route("POST", "/v1/jobs/J98/ratings", {CX_EXEC: ALL},
          {"importance": "8", "satisfaction": "4", "source": "matrix"}),
    # no period FY2099 (so no round): allowed means 404, and nothing is written
    Route("POST", "/v1/periods/FY2099/round", {FINANCE: ALL, CX_EXEC: ALL}, {
        "intake_opens": "2027-01-10T09:00:00Z", "intake_closes": "2027-01-24T09:00:00Z",
        "review_deadline": "2027-01-31T09:00:00Z", "decision_deadline": "2027-02-07T09:00:00Z"}),
    Route("POST", "/v1/periods/FY2099/round/feasibility", {FINANCE: ALL, CX_EXEC: ALL},
          {"code": "I01", "verdict": "feasible"}),
    # decision 200: the phase changes people make are the CX executive's alone
    Route("POST", "/v1/periods/FY2099/round/close-intake", {CX_EXEC: ALL},
          {"reason": "matrix probe"}),
    Route("POST", "/v1/periods/FY2099/round/open-decisions", {CX_EXEC: ALL},
          {"reason": "matrix probe"}),
    Route("POST", "/v1/periods/FY2099/round/schedule", {CX_EXEC: ALL},
          {"decision_deadline": "2027-02-08T09:00:00Z", "reason": "matrix probe"}),
    Route("POST", "/v1/metrics/M1/operational-metrics", {CX_EXEC: ALL}, {
        "operational_metrics": [{"name": "Matrix probe", "source": "matrix",
                                 "aggregation": "count", "department": "Matrix"}]}),
]
TABLE = READS + WRITES
CELLS = [(route, role, scope) for route in TABLE for role in ROLES for scope in (OWN, OTHER)]
#: Dashboard routes outside the matrix: the sign-in flow, open to anyone by design and read
#: nothing of the portfolio (tests/api/test_dashboard_sign_in*.py), and the forms, whose
#: commands carry the same rules as the API's (tests/app/test_rules.py).
NOT_IN_THE_MATRIX = {("GET", "/dashboard/sign-in"), ("POST", "/dashboard/sign-in"),
                     ("GET", "/dashboard/sign-in/{code}"), ("POST", "/dashboard/sign-in/{code}"),
                     ("GET", "/dashboard/oidc/start"), ("GET", "/dashboard/oidc/callback"),
                     ("POST", "/dashboard/sign-out"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/decide"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/carry-over"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/stop"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/withdraw"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/descope"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/release-tranche"),
                     ("POST", "/dashboard/metrics/{code}/retarget"),
                     ("POST", "/dashboard/signals/{key}/{act}"),
                     ("POST", "/dashboard/reviews"),
                     ("POST", "/dashboard/reviews/{review_id}/close"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/benefit-plan"),
                     ("POST", "/dashboard/initiatives/{initiative_id}/jobs"),
                     ("POST", "/dashboard/desk"),
                     ("POST", "/dashboard/policy/guardrails"),
                     ("POST", "/dashboard/policy/proposal")}


#: The Merkle log's reads need the chained PostgreSQL store: 503 on this in-memory world
#: (tests/pg/test_witness_drill.py serves them on PostgreSQL).
MERKLE_LOG = ("/v1/audit/checkpoint", "/v1/audit/proofs", "/v1/audit/cosignatures",
              "/v1/audit/key-rotations")


def expected(route: Route, role: str, scope: str) -> str:
    """'allow', or the status of a refusal, for one cell of the matrix."""
    grant = route.allow.get(role)
    if grant == ALL or (grant == OWN and scope == OWN):
        return "allow"
    return str(route.refusals.get(role, route.refused))


def new_world() -> Iterator[tuple[TestClient, Runtime]]:
    """A Harborview world served by the app."""
    runtime = harborview_runtime()
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        runtime.extras["review"] = str(runtime.app.open_review(  # one review to read
            Principal("cx.matrix", frozenset({CX_EXEC})), period=PERIOD, title="Matrix").id)
        runtime.app.save_plan(Principal("cx.matrix", frozenset({CX_EXEC})), period=PERIOD,
                              name=PLAN, budget=Decimal(120_000_000))  # one plan to read
        yield client, runtime
    runtime.close()


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[TestClient, Runtime]]:
    """One Harborview world for the whole matrix (refusals never depend on state)."""
    yield from new_world()


def credentials(runtime: Runtime, path: str, role: str,
                pnls: tuple[str, ...]) -> dict[str, str]:
    """A bearer token for the API; for the dashboard, the cookie of a session started
    server side (as a sign-in would) for the same principal."""
    sub = f"{role}.{'-'.join(pnls)}"
    if not path.startswith("/dashboard"):
        return auth(sub, role, pnls=pnls)
    session = sessions_of(runtime).start(Claims(sub, sub, (role,), pnls, "cxgov"),
                                         idle=timedelta(hours=1), lifetime=timedelta(hours=1))
    return {"Cookie": f"{COOKIE}={session}"}


def send(client: TestClient, runtime: Runtime, route: Route, role: str,
         scope: str) -> tuple[int, str]:
    """Send one cell's request; the status and the body's text."""
    gov = runtime.app
    write_id = gov.initiative_id(PERIOD, WRITE_ON)
    values = {"period": PERIOD, "write": str(write_id),
              "read": str(gov.initiative_id(PERIOD, READ_ON)),
              "version": f'"{gov.initiative(write_id).version}"',
              "review": runtime.extras.get("review", REVIEW),
              "newest": str(client.app.state.services.models.log.max_position())}  # type: ignore[attr-defined]
    path = route.path.format(**values)
    body = dict(route.body) if route.body is not None else None
    if body and body.get("weights") == "{weights}":
        body["weights"] = dict(gov.policy_terms()[1].weights)
    headers = {k: v.format(**values) for k, v in route.headers.items()}
    headers.update(credentials(runtime, path, role, ("RB",) if scope == OWN else ("WM",)))
    response = client.request(route.method, path, json=body, headers=headers,
                              follow_redirects=False)
    return response.status_code, response.text


def test_the_table_covers_every_route() -> None:
    runtime = harborview_runtime()
    app = create_app(runtime)
    served = set()
    for route in iter_route_contexts(app.routes):
        path, methods = route.path, route.methods or set()
        if path is None or not path.startswith(("/v1", "/dashboard")):
            continue
        served |= {(m, path) for m in methods - {"HEAD"}} - NOT_IN_THE_MATRIX
    placeholders = {"{period}": "{code}", "{write}": "{initiative_id}",
                    "{read}": "{initiative_id}", "M1": "{code}",
                    "00000000-0000-4000-8000-000000000000": "{decision_id}",
                    HOOK: "{subscription_id}", REVIEW: "{review_id}", SIGNAL: "{key}",
                    "{review}": "{review_id}", PLAN: "{name}", "Nothing": "{name}",
                    DEPARTMENT: "{name}", "J98": "{code}", "FY2099": "{code}"}
    table = set()
    for row in TABLE:
        path = row.path.split("?")[0]
        for mine, theirs in placeholders.items():
            path = path.replace(mine, theirs)
        table.add((row.method, path))
    runtime.close()
    assert served == table


@pytest.mark.parametrize(("route", "role", "scope"), CELLS, ids=[
    f"{r.method} {r.path} {role} {scope}" for r, role, scope in CELLS])
def test_each_cell_is_allowed_or_refused_as_the_table_says(
        world: tuple[TestClient, Runtime], route: Route, role: str, scope: str) -> None:
    status, text = send(*world, route, role, scope)
    want = expected(route, role, scope)
    if want == "allow":
        assert status not in {401, 403}, text
        assert '"validation.request"' not in text, text  # it reached the rules
        if route.method == "GET" and not route.path.startswith(
                ("/v1/audit/decisions", *MERKLE_LOG, "/dashboard/export/audit-bundle")):
            assert status == 200, text
    else:
        assert status == int(want), text  # an unexpected allow fails here


def test_no_route_answers_without_a_credential(world: tuple[TestClient, Runtime]) -> None:
    client, _ = world
    statuses = {}
    for route in TABLE:
        path = route.path.format(period=PERIOD, write="x", read="x", version="1", newest="1",
                                 review="x")
        response = client.request(route.method, path, json=route.body, follow_redirects=False)
        signs_in = response.headers.get("location", "").startswith("/dashboard/sign-in")
        statuses[(route.method, route.path)] = ("sign-in" if signs_in else response.status_code)
    assert {s for (_, path), s in statuses.items() if path.startswith("/v1")} == {401}
    assert {s for (_, path), s in statuses.items() if path.startswith("/dashboard")} == {
        "sign-in"}


# --- what a read shows: nothing of another P&L's undecided initiatives ----------------------


@pytest.fixture(scope="module")
def decided_world() -> Iterator[tuple[TestClient, Runtime]]:
    """Harborview with one RB initiative approved (decided: every portfolio reader sees it)."""
    for client, runtime in new_world():
        gov = runtime.app
        cx = auth("cx.chief", CX_EXEC)
        approved = client.post(
            f"/v1/initiatives/{gov.initiative_id(PERIOD, DECIDED)}/decisions", headers=cx,
            json={"outcome": "approve", "rationale": "approved for the matrix"})
        assert approved.status_code == 201, approved.text
        yield client, runtime


def titles(runtime: Runtime, *, hidden_from: str | None) -> list[str]:
    """Titles of the undecided initiatives that are not of P&L `hidden_from` (of every
    initiative when None), as written in JSON and in HTML."""
    found = []
    for code in (f"I{n:02d}" for n in range(1, 31)):
        card = runtime.app.initiative(runtime.app.initiative_id(PERIOD, code))
        if hidden_from is None or (card.status in UNDECIDED and card.pnl != hidden_from):
            found += [card.proposal.title, html.escape(card.proposal.title)]
    return found


VIEWERS = [(PNL_OWNER, OTHER), (INGEST, OWN)]
LEAK_CELLS = [(route, role, scope) for route in READS for role, scope in VIEWERS]


@pytest.mark.parametrize(("route", "role", "scope"), LEAK_CELLS, ids=[
    f"{r.path} {role}" for r, role, _ in LEAK_CELLS])
def test_no_read_shows_an_undecided_initiative_of_another_pnl(
        decided_world: tuple[TestClient, Runtime], route: Route, role: str,
        scope: str) -> None:
    client, runtime = decided_world
    status, text = send(client, runtime, route, role, scope)
    want = expected(route, role, scope)
    assert status == (200 if want == "allow" else int(want)), text
    secret = titles(runtime, hidden_from="WM" if role == PNL_OWNER else None)
    assert secret
    assert [title for title in secret if title in text] == []


def get(world: tuple[TestClient, Runtime], path: str, role: str,
        pnls: tuple[str, ...] = ()) -> Any:
    """A successful read as a principal with `role`; JSON, or the page's text."""
    client, runtime = world
    response = client.get(path, headers=credentials(runtime, path, role, pnls),
                          follow_redirects=False)
    assert response.status_code == 200, response.text
    return response.text if path.startswith("/dashboard") else response.json()


def test_a_pnl_owner_sees_the_whole_ranking_but_only_the_place_of_others_undecided_work(
        decided_world: tuple[TestClient, Runtime]) -> None:
    runtime = decided_world[1]
    path = f"/v1/periods/{PERIOD}/ranking"
    full = get(decided_world, path, CX_EXEC)["items"]
    seen = get(decided_world, path, PNL_OWNER, ("WM",))["items"]
    place = ("rank", "pnl", "kind", "status", "cost", "score", "above_cut_line",
             "cut_line_rank", "recommended", "funded")
    assert [{k: r[k] for k in place} for r in seen] == [{k: r[k] for k in place} for r in full]
    for mine, theirs in zip(seen, full, strict=True):
        hidden = theirs["pnl"] != "WM" and theirs["status"] in UNDECIDED
        assert mine.get("redacted", False) is hidden
        if hidden:
            assert (mine["id"], mine["code"], mine["title"], mine["lines"]) == (
                None, None, None, [])
        else:
            assert mine == theirs
    decided = runtime.app.initiative(runtime.app.initiative_id(PERIOD, DECIDED))
    assert decided.status == "approved"
    assert decided.proposal.title in {r["title"] for r in seen}

    recommended = f"/v1/periods/{PERIOD}/recommendation"
    rec_full = get(decided_world, recommended, CX_EXEC)
    rec_seen = get(decided_world, recommended, PNL_OWNER, ("WM",))
    codes = {r["code"] for r in seen} - {None}
    assert rec_seen["item"]["greedy"]["total_cost"] == rec_full["item"]["greedy"]["total_cost"]
    assert [k if k in codes else None for k in rec_full["item"]["greedy"]["keys"]] == rec_seen[
        "item"]["greedy"]["keys"]

    home = get(decided_world, "/dashboard", PNL_OWNER, ("WM",))
    assert decided.proposal.title in home
    assert decided.proposal.title in get(decided_world, "/dashboard/scorecard", PNL_OWNER,
                                         ("WM",))
    assert all(f"<td>{r['rank']}</td>" in home for r in full)


def test_an_owner_revises_their_own_initiative_on_the_desk(
        decided_world: tuple[TestClient, Runtime]) -> None:
    runtime = decided_world[1]
    read = runtime.app.initiative(runtime.app.initiative_id(PERIOD, READ_ON))
    desk = get(decided_world, f"/dashboard/desk?revise={read.id}", PNL_OWNER, ("RB",))
    assert html.escape(read.proposal.title) in desk


def test_a_hidden_initiative_answers_exactly_like_one_that_does_not_exist(
        decided_world: tuple[TestClient, Runtime]) -> None:
    client, runtime = decided_world
    hidden = runtime.app.initiative_id(PERIOD, READ_ON)
    absent = "00000000-0000-4000-8000-000000000001"
    owner = auth("wm.viewer", PNL_OWNER, pnls=("WM",))
    answers = [client.get(f"/v1/initiatives/{some}", headers=owner) for some in (hidden, absent)]
    assert [a.status_code for a in answers] == [404, 404]
    assert [{k: v for k, v in a.json().items() if k not in {"detail", "instance"}}
            for a in answers] == [
        {k: v for k, v in answers[1].json().items() if k not in {"detail", "instance"}}] * 2
    assert answers[0].json()["code"] == "initiative.not_found"
