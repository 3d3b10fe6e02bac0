"""Schemathesis against the ASGI app for each role: every default check, stateful phase too."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from api.app import create_app
from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER
from tests.api.conftest import auth, harborview_runtime

MAX_EXAMPLES = 5
# Schema-valid requests may still break a rule judged on the server's state (comply or
# explain, weights summing to 100, a revision that changes nothing ...): those answer 422
# with a domain code. Requests the *schema* allows are never refused by request validation:
# `schema_valid_requests_pass_request_validation` below enforces that on top.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]
MERKLE_LOG_ROUTES = r"^/v1/audit/(checkpoint|proofs/|cosignatures|key-rotations)"
ROLES = {
    FINANCE: auth("st.finance", FINANCE),
    CX_EXEC: auth("st.cx", CX_EXEC),
    PNL_OWNER: auth("st.owner", PNL_OWNER, pnls=("RB",)),
    INGEST: auth("st.ingest", INGEST),
    AUDITOR: auth("st.auditor", AUDITOR),
}


@schemathesis.check
def schema_valid_requests_pass_request_validation(ctx: Any, response: Any,
                                                  case: Any) -> bool | None:
    """A positive (schema-valid) case must never be refused as `validation.request`."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        code = json.loads(response.content).get("code")
    except ValueError:
        code = None
    if code == "validation.request":
        raise AssertionError(f"schema-valid request refused by validation: {response.text}")
    return None


def run(role: str) -> list[str]:
    """Run every phase for one role; return one line per failed check."""
    runtime = harborview_runtime()
    app = create_app(runtime)
    config = SchemathesisConfig.from_dict({
        "seed": 20270101,
        "headers": ROLES[role],
        "generation": {"max-examples": MAX_EXAMPLES},
        "phases": {"stateful": {"max-steps": 10}},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    })
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    # The Merkle log lives beside the PostgreSQL store's hash chain: on this in-memory world
    # those routes answer 503 audit.unavailable by design; tests/pg/test_schemathesis_audit_log.py
    # fuzzes them on PostgreSQL with a chain and a signing key.
    schema = schema.exclude(path_regex=MERKLE_LOG_ROUTES)
    failures: list[str] = []
    phases: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished):
            phases.add(f"{event.phase.name}:{event.status}")
        if isinstance(event, events.ScenarioFinished) and event.status in {
                Status.FAILURE, Status.ERROR}:
            for nodes in event.recorder.checks.values():
                failures.extend(f"{event.label} {n.name}: {n.failure_info}"
                                for n in nodes if n.status == Status.FAILURE)
            if event.status == Status.ERROR:
                failures.append(f"{event.label}: error")
        if isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"engine error: {event}")
    runtime.close()
    ran = {p.split(":")[0] for p in phases}
    missing = {"examples", "coverage", "fuzzing", "stateful"} - ran
    return failures + [f"phase {name} did not run" for name in sorted(missing)]


def test_schemathesis_finds_no_failure_for_any_role() -> None:
    # One worker process per core; each builds its own Harborview world and app in memory.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        found = dict(zip(ROLES, pool.map(run, ROLES), strict=True))
    assert found == {role: [] for role in ROLES}
