"""Scoring maths (DOMAIN.md §4.2), checked against the published hand calculations."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from domain.policy import PolicyTerms
from domain.scoring import Candidate, MetricTarget, display, gap_closed, rank, score_candidate
from domain.values import ImpactClaim

D = Decimal
METRICS = {
    "M4": MetricTarget("M4", D(18), D(7)),
    "M5": MetricTarget("M5", D(31), D(10)),
    "M9": MetricTarget("M9", D(68), D(85)),
}
TERMS = PolicyTerms(weights={"M4": 13, "M5": 10, "M9": 77})


def a_candidate(code: str = "I01", *, cost_m: str = "2.0", confidence: str = "1.0",
                impacts: tuple[tuple[str, str, str], ...] = (("M5", "14", "0.9"),),
                seq: int = 1) -> Candidate:
    return Candidate(id=uuid4(), code=code, title=code, cost=D(cost_m) * 1_000_000,
                     confidence=D(confidence),
                     impacts=tuple(ImpactClaim(m, D(v), D(r)) for m, v, r in impacts), seq=seq)


def test_i11_scores_as_in_the_hand_check() -> None:
    scored = score_candidate(a_candidate(), METRICS, TERMS)
    assert (display(scored.cip), display(scored.score)) == (D("7.29"), D("3.64"))
    assert display(scored.lines[0].gap_closed * 10000) == D("8095.24")


def test_i25_sums_two_metrics_as_in_the_hand_check() -> None:
    i25 = a_candidate("I25", cost_m="8.5", confidence="0.8",
                      impacts=(("M4", "8", "0.9"), ("M5", "15", "0.5")))
    scored = score_candidate(i25, METRICS, TERMS)
    assert (display(scored.cip), display(scored.score)) == (D("11.56"), D("1.36"))


def test_gap_closed_is_direction_agnostic_and_capped_at_one() -> None:
    increase = MetricTarget("M9", D(68), D(85))
    assert gap_closed(increase, D(78))[0] == D(10) / D(17)
    assert gap_closed(increase, D(99))[0] == 1
    assert gap_closed(METRICS["M4"], D(1))[0] == 1


def test_a_metric_already_at_target_closes_no_gap_and_warns() -> None:
    g, warning = gap_closed(MetricTarget("MX", D(5), D(5)), D(3))
    assert g == 0 and warning is not None and "already at target" in warning


def test_disbenefits_count_zero_unless_the_policy_includes_them() -> None:
    worse = MetricTarget("M4", D(18), D(7))
    assert gap_closed(worse, D(20))[0] == 0
    assert gap_closed(worse, D(20), include_disbenefits=True)[0] < 0


def test_an_initiative_without_declared_impact_scores_zero() -> None:
    assert score_candidate(a_candidate(impacts=()), METRICS, TERMS).score == 0


def test_ties_break_by_lower_cost_then_earlier_submission() -> None:
    same = (("M5", "14", "0.9"),)
    late_cheap = a_candidate("B", cost_m="2.0", impacts=same, seq=3)
    early_cheap = a_candidate("A", cost_m="2.0", impacts=same, seq=2)
    dear = a_candidate("C", cost_m="4.0", impacts=(("M5", "10", "0.9"),), seq=1)
    assert score_candidate(dear, METRICS, TERMS).score < score_candidate(
        early_cheap, METRICS, TERMS).score
    ranked = rank([late_cheap, early_cheap], METRICS, TERMS)
    assert [s.candidate.code for s in ranked] == ["A", "B"]
    equal_score_dearer = a_candidate("D", cost_m="4.0", impacts=(("M5", "10", "0.9"),), seq=0)
    twice = a_candidate("E", cost_m="2.0", impacts=(("M5", "10", "0.45"),), seq=9)
    ranked = rank([equal_score_dearer, twice], METRICS, TERMS)
    assert [s.candidate.code for s in ranked] == ["E", "D"]


def test_a_claim_on_an_unweighted_metric_adds_nothing_and_warns() -> None:
    terms = PolicyTerms(weights={"M4": 100})
    scored = score_candidate(a_candidate(), METRICS, terms)
    assert scored.cip == 0 and scored.warnings
