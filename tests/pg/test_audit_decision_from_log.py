"""GET /v1/audit/decisions/{id} serves the log's decision record and names where the read
model disagrees with it (issue 18, item 5): a database administrator who edits the read model
(`rm_documents`) no longer gets a forged rationale served; the edit is listed in `log_check`."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from api.routes.audit_decisions import DecisionFromLogPublic, explain_from_log
from governance.app import Governance
from governance.stores.database import connect
from governance.stores.readside import in_process_postgres
from projections.query import ReadModels
from tests.builders import AUDITOR_ONE, CX_CHIEF, World

pytestmark = pytest.mark.pg


@pytest.fixture
def gov(pg_env: dict[str, str]) -> Iterator[Governance]:
    """The service on the emptied test database."""
    service = Governance(env=pg_env)
    try:
        yield service
    finally:
        service.close()


def explain(gov: Governance, models: ReadModels, decision_id: UUID) -> DecisionFromLogPublic:
    """What the route answers for the decision."""
    explained = models.explain_decision(str(decision_id))
    assert explained is not None
    found = explain_from_log(gov, models, AUDITOR_ONE, decision_id, explained)
    assert found is not None
    return found


def test_a_decision_is_served_from_the_log_and_a_tampered_read_model_is_named(
    gov: Governance,
    pg_env: dict[str, str],
    pg_url: str,
) -> None:
    world = World(gov)
    chosen = world.submit("I01", cost_m="4", impacts=(("M1", "40", "0.7"),))
    world.submit("I02", cost_m="6", impacts=(("M1", "60", "0.7"),))
    result = gov.decide(
        CX_CHIEF, initiative_id=chosen, outcome="approve", rationale="strategic fit"
    )
    assert result.decision is not None
    decision_id = result.decision.decision_id
    models = in_process_postgres(gov, pg_env).read_models()

    clean = explain(gov, models, decision_id)
    check = clean.log_check
    assert (check.source, check.agrees, check.ranking_checked, check.disagreements) == (
        "log",
        True,
        True,
        [],
    )
    assert check.position == gov.position()  # the approval is the newest event
    entry = clean.item.explanation.entry_then
    assert entry is not None and (entry.rank, entry.recommended) == (
        clean.item.rank,
        clean.item.recommended,
    )

    with connect(pg_url) as conn:  # a superuser edits the read model, not the log
        edited = conn.execute(
            "UPDATE rm_documents SET payload = replace(payload::text, 'strategic fit', "
            "'forged by the DBA')::jsonb WHERE payload::text LIKE '%strategic fit%'"
        ).rowcount
    assert edited >= 1
    assert models.initiative(str(chosen)).decisions[0].rationale == "forged by the DBA"

    tampered = explain(gov, models, decision_id)
    assert tampered.item.rationale == "strategic fit"  # the log's, not the read model's
    assert tampered.item.explanation.justification == "strategic fit"
    assert not tampered.log_check.agrees
    assert [(d.field, d.read_model, d.log) for d in tampered.log_check.disagreements] == [
        ("rationale", "forged by the DBA", "strategic fit")
    ]
