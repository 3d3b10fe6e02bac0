"""The comply-or-explain refusal says why the recommendation leaves out an initiative ranked
above its cut line (issue 16, decision 147): the guardrail that leaves no room, by its name
and bounds; below the cut line it says so, as before."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from domain.errors import JustificationRequired
from domain.policy import Guardrail
from governance.app import Governance
from tests.builders import CX_CHIEF, CX_DEPUTY, World, rejected_without_writing


def _squeezed(gov: Governance, *guardrails: Guardrail) -> tuple[World, dict[str, object]]:
    """A 100 M pool: I1 (60 M) and I2 (30 M) by value; X1, 30 M of cross-P&L work, last."""
    world = World(gov, four_eyes_m="1000")
    ids = {
        "I1": world.submit("I1", cost_m="60", impacts=(("M1", "48", "0.9"),)),
        "I2": world.submit("I2", cost_m="30", impacts=(("M1", "72", "0.5"),)),
        "X1": world.submit(
            "X1",
            by=CX_DEPUTY,
            pnl=None,
            kind="cx_process",
            cost_m="30",
            impacts=(("M2", "70", "0.3"),),
        ),
    }
    _, terms = gov.policy_terms()
    gov.adopt_policy(CX_CHIEF, terms=replace(terms, guardrails=guardrails), rationale="g")
    return world, ids


def _approve_unexplained(
    gov: Governance, ids: dict[str, object], code: str
) -> JustificationRequired:
    return rejected_without_writing(
        gov,
        JustificationRequired,
        lambda: gov.decide(CX_CHIEF, initiative_id=ids[code], outcome="approve"),
    )  # type: ignore[arg-type]


def test_a_minimum_that_pushes_out_higher_ranked_work_is_named(gov: Governance) -> None:
    _, ids = _squeezed(gov, Guardrail("pnl", "CX", min_share=Decimal("0.25")))
    error = _approve_unexplained(gov, ids, "I2")  # rank 2, the cut line at rank 3 (X1)
    assert str(error) == (
        "I2 is not in the recommendation though ranked above its cut line: the guardrail "
        "pnl CX (at least 25%) leaves no room (does not fit the remaining $10,000,000); "
        "to approve it, write a justification"
    )
    assert error.details["guardrails"] == ["pnl CX"]  # type: ignore[attr-defined]
    assert error.details["reason"] == "does_not_fit"  # type: ignore[attr-defined]


def test_a_maximum_that_keeps_higher_ranked_work_out_is_named(gov: Governance) -> None:
    _, ids = _squeezed(
        gov,
        Guardrail("pnl", "RB", max_amount=Decimal(65_000_000)),
        Guardrail("kind", "cx_infrastructure", max_share=Decimal("0.5")),
    )
    error = _approve_unexplained(gov, ids, "I2")
    assert str(error) == (
        "I2 is not in the recommendation though ranked above its cut line: the guardrail "
        "pnl RB (at most 65,000,000) leaves no room (would take a guardrail's group above its "
        "maximum); to approve it, write a justification"
    )
    assert error.details["guardrails"] == ["pnl RB"]  # type: ignore[attr-defined]
    assert error.details["reason"] == "above_guardrail"  # type: ignore[attr-defined]


def test_below_the_cut_line_is_said_as_before(gov: Governance) -> None:
    _, ids = _squeezed(gov)  # no guardrails: X1 is last, below the line
    error = _approve_unexplained(gov, ids, "X1")
    assert str(error) == (
        "X1 is below the recommendation's cut line; to approve it, write a justification"
    )
    assert "guardrails" not in error.details  # type: ignore[attr-defined]
