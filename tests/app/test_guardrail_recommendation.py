"""The recommendation under the policy's guardrails (issue 16) on Harborview, in memory."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.policy import Guardrail
from governance.app import Governance
from governance.entrypoints.company import import_company, load_company_file
from governance.stores.readside import in_memory
from tests.builders import CX_CHIEF, harborview_path


@pytest.fixture
def harborview(gov: Governance) -> Governance:
    import_company(gov, load_company_file(harborview_path()))
    return gov


def _adopt(gov: Governance, *guardrails: Guardrail) -> None:
    _, terms = gov.policy_terms()
    gov.adopt_policy(CX_CHIEF, terms=replace(terms, guardrails=guardrails),
                     rationale="guardrails")


def test_guardrails_shape_the_greedy_and_optimal_plans_and_are_reported(
        harborview: Governance) -> None:
    before = in_memory(harborview).read_models().recommendation("FY2027")
    assert before["guardrails"] == [] and before["infeasible_guardrails"] == []
    kinds = {r["kind"] for r in in_memory(harborview).read_models().ranking("FY2027")}
    kind = sorted(kinds)[0]
    _adopt(harborview, Guardrail("kind", kind, min_share=Decimal("0.30")))
    rec = in_memory(harborview).read_models().recommendation("FY2027")
    (status,) = rec["guardrails"]
    assert status["name"] == f"kind {kind}" and status["dimension"] == "kind"
    assert rec["optimal"] is not None
    assert Decimal(status["optimal_share"]) >= Decimal("0.30")
    assert status["greedy_met"] == (Decimal(status["greedy_share"]) >= Decimal("0.30"))
    assert Decimal(rec["optimal"]["total_value"]) <= Decimal(before["optimal"]["total_value"])
    if not status["binds"]:  # the optimum without it already met it: the same optimum
        assert rec["optimal"]["keys"] == before["optimal"]["keys"]


def test_guardrails_no_period_can_meet_give_a_typed_infeasible_result(
        harborview: Governance) -> None:
    # no initiative has this touchpoint (a P&L must be in the register: decision 149)
    _adopt(harborview, Guardrail("touchpoint", "Nowhere", min_share=Decimal("0.10")))
    rec = in_memory(harborview).read_models().recommendation("FY2027")
    assert rec["optimal"] is None and rec["frontier"] == []
    assert rec["infeasible_guardrails"] == ["touchpoint Nowhere"]
    assert "cannot be reached" in rec["problem"]
    assert rec["guardrails"][0]["greedy_met"] is False
