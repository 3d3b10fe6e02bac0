"""The write side's memo of scores never serves a score the current register would not give."""

from __future__ import annotations

from decimal import Decimal

from domain.policy import PolicyTerms
from domain.scoring import MetricTarget, score_candidate
from governance.app import Governance
from governance.usecases.base import candidate
from tests.builders import CX_CHIEF, World


def scores(gov: Governance, period: str) -> dict[str, Decimal]:
    """Each initiative's score in the write side's own assessment."""
    return {e.code: e.scored.score for e in gov.assess(period).entries}


def test_a_decision_ranks_with_fresh_scores_after_a_retarget_and_a_new_policy(
        any_gov: Governance) -> None:
    gov, world = any_gov, World(any_gov)
    world.submit("I01")
    world.submit("I02", impacts=(("M2", "80", "0.5"),))
    first = scores(gov, world.period)
    gov.retarget_metric(CX_CHIEF, code="M1", baseline=Decimal(120), target=Decimal(60),
                        target_date=None, reason="nearer target")
    retargeted = scores(gov, world.period)
    assert retargeted["I01"] != first["I01"] and retargeted["I02"] == first["I02"]
    gov.adopt_policy(CX_CHIEF, terms=PolicyTerms(weights={"M1": 10, "M2": 90}),
                     rationale="weigh resolution")
    reweighed = scores(gov, world.period)
    _, terms = gov.policy_terms()
    metrics = {c: gov.metric(c) for c in ("M1", "M2")}
    targets = {c: MetricTarget(c, m.baseline, m.target) for c, m in metrics.items()}
    by_hand = {i.code: score_candidate(candidate(i, n), targets, terms).score
               for n, i in enumerate(gov.initiatives(world.period), start=1)}
    assert reweighed == by_hand != retargeted
