"""Builders for domain tests: aggregates and an assessment in memory, no application, no store.

The world mirrors tests.builders.World: FY2027 with a 100 M pool (10 % of 1,000 M OpEx),
metric M1 (120 -> 24 hours) and M2 (68 -> 85 %), weights 60/40, four eyes above 10 M.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.initiative import DecisionRecord, Initiative, Proposal
from domain.lifecycle import Outcome
from domain.policy import PolicyTerms
from domain.pool import FundingPool
from domain.portfolio import Assessment, assess
from domain.scoring import MetricTarget, candidate_of
from domain.values import ImpactClaim

M = Decimal(1_000_000)
OWNER = "test|rob"
CHIEF = "test|chris"
DEPUTY = "test|dana"
TERMS = PolicyTerms(weights={"M1": 60, "M2": 40}, four_eyes_threshold=10 * M).check()
METRICS = {"M1": MetricTarget("M1", Decimal(120), Decimal(24)),
           "M2": MetricTarget("M2", Decimal(68), Decimal(85))}


def a_proposal(
    *,
    title: str = "Faster account opening",
    cost_m: str = "5",
    confidence: str = "0.8",
    impacts: tuple[tuple[str, str, str], ...] = (("M1", "48", "0.7"),),
    **fields: Any,
) -> Proposal:
    """A valid proposal (cost in millions); other Proposal fields by keyword."""
    values: dict[str, Any] = {
        "problem": "Customers wait days.", "scenario": "S1", "touchpoints": ("Mobile", "Web"),
        "functional_areas": ("Onboarding ops", "IT"), **fields}
    return Proposal(
        title=title, cost=Decimal(cost_m) * M, confidence=Decimal(confidence),
        expected_impacts=tuple(ImpactClaim(m, Decimal(v), Decimal(r)) for m, v, r in impacts),
        **values,
    )


def a_pool(*, opex_m: str = "1000") -> FundingPool:
    """FY2027's pool: 10 % of OpEx."""
    return FundingPool.open(period="FY2027", currency="USD", opex_total=Decimal(opex_m) * M,
                            cap_percent=Decimal(10), actor="test|fiona")


def submitted(pool: FundingPool, code: str, *, by: str = OWNER, **proposal: Any) -> Initiative:
    """An RB initiative submitted by `by` and enlisted in `pool`."""
    initiative = Initiative.submit(period=pool.period, code=code, kind="pnl", pnl="RB",
                                   proposal=a_proposal(**proposal), actor=by)
    pool.enlist(initiative_id=initiative.id, code=code, actor=by)
    return initiative


def assessment_of(pool: FundingPool, *initiatives: Initiative,
                  terms: PolicyTerms = TERMS) -> Assessment:
    """The period's ranking and recommendation, as the application computes it."""
    candidates = [candidate_of(id=i.id, code=i.code, proposal=i.proposal, seq=seq,
                               status=i.status, pnl=i.pnl, kind=i.kind)
                  for seq, i in enumerate(initiatives, start=1)]
    return assess(candidates, METRICS, terms, available=pool.available)


def a_record(*, outcome: Outcome = Outcome.APPROVE, approvals: tuple[str, ...] = (CHIEF,),
             **fields: Any) -> DecisionRecord:
    """A decision record as `domain.decisions.decide` writes one (values arbitrary)."""
    values: dict[str, Any] = {
        "decision_id": UUID(int=1), "outcome": outcome, "rationale": "", "departure": False,
        "recommended": True, "rank": 1, "score": Decimal(1), "cip": Decimal(1),
        "policy_version": 1, "available_before": 100 * M, "available_after": 100 * M,
        "ranking_position": 1, "cut_line_rank": 1, "approvals": approvals, **fields}
    return DecisionRecord(**values)
