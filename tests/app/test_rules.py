"""Every governance rule, one sentence each; a refused command writes no event."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import (
    AlreadyExists,
    CapOutOfRange,
    DependencyNotMet,
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    JustificationRequired,
    MetricNotFound,
    PeriodClosed,
    PolicyRuleViolation,
    RestatementBelowCommitted,
    SecondApproverRequired,
    SelfApproval,
)
from domain.policy import PolicyTerms
from domain.values import Reading
from governance.app import Governance
from governance.errors import Forbidden, StaleVersion
from tests.builders import (
    AUDITOR_ONE,
    CX_CHIEF,
    CX_DEPUTY,
    FINANCE_LEAD,
    INGESTER,
    INS_OWNER,
    RB_OWNER,
    M,
    World,
    proposal,
    rejected_without_writing,
)

# --- periods and the pool ------------------------------------------------------------------


def test_opening_a_period_needs_the_finance_role(gov: Governance) -> None:
    error = rejected_without_writing(gov, Forbidden, lambda: gov.open_period(
        CX_CHIEF, code="FY2027", currency="USD", opex_total=1000 * M))
    assert error.code == "auth.forbidden"


@pytest.mark.parametrize("cap", ["0", "-1", "10.01", "11", "NaN"])
def test_a_cap_percent_outside_zero_to_ten_is_refused(gov: Governance, cap: str) -> None:
    error = rejected_without_writing(gov, CapOutOfRange, lambda: gov.open_period(
        FINANCE_LEAD, code="FY2027", currency="USD", opex_total=1000 * M,
        cap_percent=Decimal(cap)))
    assert error.code == "pool.cap_out_of_range"


def test_a_cap_of_exactly_ten_percent_is_accepted(gov: Governance) -> None:
    gov.open_period(FINANCE_LEAD, code="FY2027", currency="USD", opex_total=1000 * M,
                    cap_percent=Decimal(10))
    assert gov.pool("FY2027").amount == 100 * M


def test_the_same_period_cannot_be_opened_twice(world: World) -> None:
    rejected_without_writing(world.gov, AlreadyExists, lambda: world.gov.open_period(
        FINANCE_LEAD, code="FY2027", currency="USD", opex_total=5 * M))


def test_an_opex_restatement_below_committed_funds_is_refused(world: World) -> None:
    i = world.submit("I01", cost_m="8")
    world.gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    error = rejected_without_writing(world.gov, RestatementBelowCommitted, lambda: (
        world.gov.restate_opex(FINANCE_LEAD, period="FY2027", opex_total=70 * M,
                               reason="divestment")))
    assert error.code == "pool.restatement_below_committed"


def test_an_opex_restatement_that_keeps_commitments_covered_is_accepted(world: World) -> None:
    i = world.submit("I01", cost_m="8")
    world.gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    world.gov.restate_opex(FINANCE_LEAD, period="FY2027", opex_total=80 * M, reason="divestment")
    assert world.gov.pool("FY2027").available == 0


def test_a_closed_period_refuses_submissions(world: World) -> None:
    world.gov.close_period(FINANCE_LEAD, period="FY2027", reason="year end")
    rejected_without_writing(world.gov, PeriodClosed, lambda: world.submit("I01"))


# --- submissions ---------------------------------------------------------------------------


def test_a_pnl_owner_cannot_submit_for_another_pnl(world: World) -> None:
    rejected_without_writing(world.gov, Forbidden, lambda: world.submit("I01", by=INS_OWNER))


def test_a_pnl_owner_cannot_sponsor_cross_pnl_work(world: World) -> None:
    rejected_without_writing(world.gov, Forbidden, lambda: world.submit(
        "I01", by=RB_OWNER, pnl=None, kind="cx_infrastructure"))


def test_a_cx_executive_sponsors_cross_pnl_work(world: World) -> None:
    i = world.submit("I01", by=CX_CHIEF, pnl=None, kind="cx_process")
    assert world.gov.initiative(i).kind == "cx_process"


def test_an_ingest_service_cannot_submit(world: World) -> None:
    rejected_without_writing(world.gov, Forbidden, lambda: world.submit("I01", by=INGESTER))


def test_an_impact_on_an_unknown_metric_is_refused(world: World) -> None:
    rejected_without_writing(world.gov, MetricNotFound, lambda: world.submit(
        "I01", impacts=(("M9", "1", "0.5"),)))


def test_a_confidence_outside_the_policy_tiers_is_refused(world: World) -> None:
    error = rejected_without_writing(world.gov, InvalidInput, lambda: world.submit(
        "I01", confidence="0.7"))
    assert getattr(error, "field", None) == "confidence"


def test_a_zero_cost_is_refused(world: World) -> None:
    rejected_without_writing(world.gov, InvalidInput, lambda: world.submit("I01", cost_m="0"))


def test_a_reach_above_one_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput):
        proposal(impacts=(("M1", "48", "1.5"),))


def test_a_dependency_on_an_unknown_initiative_is_refused(world: World) -> None:
    rejected_without_writing(world.gov, InvalidInput, lambda: world.submit(
        "I01", dependencies=("I99",)))


def test_a_mandatory_initiative_needs_a_mandate_reason(world: World) -> None:
    rejected_without_writing(world.gov, InvalidInput, lambda: world.submit(
        "I01", mandatory=True))


def test_the_same_initiative_code_cannot_be_submitted_twice(world: World) -> None:
    world.submit("I01")
    rejected_without_writing(world.gov, AlreadyExists, lambda: world.submit("I01"))


def test_an_initiative_without_a_code_gets_the_next_free_one(world: World) -> None:
    world.submit("I01")
    written = world.gov.submit_initiative(RB_OWNER, period="FY2027", kind="pnl", pnl="RB",
                                          proposal=proposal())
    assert world.gov.initiative(written.id).code == "I02"


def test_a_revision_against_a_stale_version_is_refused(world: World) -> None:
    i = world.submit("I01")
    version = world.gov.initiative(i).version
    world.gov.revise_initiative(RB_OWNER, initiative_id=i, changes={"title": "Sharper title"},
                                expected_version=version)
    rejected_without_writing(world.gov, StaleVersion, lambda: world.gov.revise_initiative(
        RB_OWNER, initiative_id=i, changes={"title": "Another"}, expected_version=version))


def test_only_the_owning_pnl_revises_an_initiative(world: World) -> None:
    i = world.submit("I01")
    rejected_without_writing(world.gov, Forbidden, lambda: world.gov.revise_initiative(
        INS_OWNER, initiative_id=i, changes={"title": "Hijacked"}))


def test_a_revision_that_changes_nothing_is_refused(world: World) -> None:
    i = world.submit("I01", title="Same")
    rejected_without_writing(world.gov, InvalidInput, lambda: world.gov.revise_initiative(
        RB_OWNER, initiative_id=i, changes={"title": "Same"}))


# --- decisions -----------------------------------------------------------------------------


def test_only_a_cx_executive_decides(world: World) -> None:
    i = world.submit("I01")
    for who in (RB_OWNER, FINANCE_LEAD, AUDITOR_ONE, INGESTER):
        rejected_without_writing(world.gov, Forbidden, lambda who=who: world.gov.decide(
            who, initiative_id=i, outcome="approve"))


def test_nobody_approves_their_own_submission(world: World) -> None:
    i = world.submit("I01", by=CX_CHIEF, pnl=None, kind="cx_infrastructure")
    error = rejected_without_writing(world.gov, SelfApproval, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=i, outcome="approve"))
    assert error.code == "decision.self_approval"


def test_another_cx_executive_may_approve_sponsored_work(world: World) -> None:
    i = world.submit("I01", by=CX_CHIEF, pnl=None, kind="cx_infrastructure")
    world.gov.decide(CX_DEPUTY, initiative_id=i, outcome="approve")
    assert world.status(i) == "approved"


def test_nobody_approves_an_initiative_they_revised(world: World) -> None:
    i = world.submit("I01", by=CX_CHIEF, pnl=None, kind="cx_process")
    world.gov.revise_initiative(CX_DEPUTY, initiative_id=i, changes={"title": "Co-authored"})
    rejected_without_writing(world.gov, SelfApproval, lambda: world.gov.decide(
        CX_DEPUTY, initiative_id=i, outcome="approve"))


def test_approving_below_the_cut_line_requires_a_justification(world: World) -> None:
    world.submit("I01", cost_m="60", impacts=(("M1", "24", "1.0"),))
    weak = world.submit("I02", cost_m="50", impacts=(("M1", "110", "0.2"),))
    error = rejected_without_writing(world.gov, JustificationRequired, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=weak, outcome="approve"))
    assert error.code == "decision.justification_required"
    assert error.details["recommended"] is False


def test_rejecting_above_the_cut_line_requires_a_justification(world: World) -> None:
    strong = world.submit("I01", cost_m="5")
    rejected_without_writing(world.gov, JustificationRequired, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=strong, outcome="reject"))


def test_deferring_above_the_cut_line_requires_a_justification(world: World) -> None:
    strong = world.submit("I01", cost_m="5")
    rejected_without_writing(world.gov, JustificationRequired, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=strong, outcome="defer"))


def test_a_justified_departure_is_recorded_as_a_departure(world: World) -> None:
    world.submit("I01", cost_m="60", impacts=(("M1", "24", "1.0"),))
    weak = world.submit("I02", cost_m="50", impacts=(("M1", "110", "0.2"),))
    outcome = world.gov.decide(CX_CHIEF, initiative_id=weak, outcome="approve",
                               rationale="Regulator expects it this year")
    assert outcome.decision.departure is True
    assert outcome.decision.recommended is False
    assert outcome.decision.rationale == "Regulator expects it this year"


def test_complying_with_the_recommendation_needs_no_justification(world: World) -> None:
    strong = world.submit("I01", cost_m="5")
    outcome = world.gov.decide(CX_CHIEF, initiative_id=strong, outcome="approve")
    assert outcome.decision.departure is False
    assert outcome.status == "approved"


def test_an_approval_above_the_four_eyes_threshold_waits_for_a_second_approver(
        world: World) -> None:
    big = world.submit("I01", cost_m="12")
    first = world.gov.decide(CX_CHIEF, initiative_id=big, outcome="approve")
    assert first.status == "pending_second_approval"
    assert world.gov.pool("FY2027").net_committed == 0


def test_the_same_executive_cannot_give_both_approvals(world: World) -> None:
    big = world.submit("I01", cost_m="12")
    world.gov.decide(CX_CHIEF, initiative_id=big, outcome="approve")
    error = rejected_without_writing(world.gov, SecondApproverRequired, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=big, outcome="approve"))
    assert error.code == "decision.second_approver_required"


def test_a_second_distinct_approval_commits_the_funds(world: World) -> None:
    big = world.submit("I01", cost_m="12")
    world.gov.decide(CX_CHIEF, initiative_id=big, outcome="approve")
    second = world.gov.decide(CX_DEPUTY, initiative_id=big, outcome="approve")
    assert second.status == "approved"
    assert second.decision.approvals == ("test|chris", "test|dana")
    assert world.gov.pool("FY2027").net_committed == 12 * M


def test_an_approval_beyond_the_available_funds_is_refused(world: World) -> None:
    first = world.submit("I01", cost_m="9")
    second = world.submit("I02", cost_m="9")
    world.gov.restate_opex(FINANCE_LEAD, period="FY2027", opex_total=150 * M, reason="smaller")
    world.gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
    error = rejected_without_writing(world.gov, InsufficientFunds, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=second, outcome="approve", rationale="try anyway"))
    assert error.code == "pool.insufficient_funds"


def test_a_dependency_must_be_funded_first(world: World) -> None:
    world.submit("I01", cost_m="5")
    child = world.submit("I02", cost_m="5", dependencies=("I01",))
    rejected_without_writing(world.gov, DependencyNotMet, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=child, outcome="approve", rationale="urgent"))


def test_a_decided_initiative_cannot_be_decided_again(world: World) -> None:
    i = world.submit("I01", cost_m="5")
    world.gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    rejected_without_writing(world.gov, InvalidTransition, lambda: world.gov.decide(
        CX_DEPUTY, initiative_id=i, outcome="approve"))


def test_an_unknown_outcome_is_refused(world: World) -> None:
    i = world.submit("I01", cost_m="5")
    rejected_without_writing(world.gov, InvalidInput, lambda: world.gov.decide(
        CX_CHIEF, initiative_id=i, outcome="maybe"))


def test_a_decision_records_who_why_rank_score_policy_and_pool_before_and_after(
        world: World) -> None:
    i = world.submit("I01", cost_m="5")
    outcome = world.gov.decide(CX_CHIEF, initiative_id=i, outcome="approve",
                               rationale="clear winner")
    d = outcome.decision
    assert (d.rank, d.policy_version, d.recommended) == (1, 1, True)
    assert d.available_before == 100 * M
    assert d.available_after == 95 * M
    assert d.score > 0 and d.cip > 0
    assert 0 < d.ranking_position <= outcome.position
    assert d.approvals == ("test|chris",)


# --- after approval ------------------------------------------------------------------------


def test_cancelling_funded_work_releases_its_funds(world: World) -> None:
    i = world.submit("I01", cost_m="5")
    world.gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    world.gov.cancel_initiative(CX_CHIEF, initiative_id=i, reason="vendor collapsed")
    assert world.gov.pool("FY2027").available == 100 * M
    assert world.status(i) == "cancelled"


def test_only_approved_work_can_be_delivered(world: World) -> None:
    from datetime import date

    i = world.submit("I01", cost_m="5")
    rejected_without_writing(world.gov, InvalidTransition, lambda: world.gov.report_delivery(
        RB_OWNER, initiative_id=i, delivered_on=date(2027, 3, 1)))


def test_a_withdrawn_initiative_leaves_the_ranking(world: World) -> None:
    i = world.submit("I01", cost_m="5")
    world.submit("I02", cost_m="5")
    world.gov.withdraw_initiative(RB_OWNER, initiative_id=i, reason="merged into I02")
    assert [e.code for e in world.gov.assess("FY2027").entries] == ["I02"]


# --- register, policy, observations --------------------------------------------------------


def test_policy_weights_must_sum_to_one_hundred(world: World) -> None:
    rejected_without_writing(world.gov, PolicyRuleViolation, lambda: world.gov.adopt_policy(
        CX_CHIEF, terms=PolicyTerms(weights={"M1": 60, "M2": 30}), rationale="typo"))


def test_a_policy_cannot_weight_an_unknown_metric(world: World) -> None:
    rejected_without_writing(world.gov, MetricNotFound, lambda: world.gov.adopt_policy(
        CX_CHIEF, terms=PolicyTerms(weights={"M1": 60, "MX": 40}), rationale="typo"))


def test_each_adopted_policy_gets_the_next_version(world: World) -> None:
    world.gov.adopt_policy(CX_CHIEF, terms=PolicyTerms(weights={"M1": 50, "M2": 50}),
                           rationale="rebalance")
    version, terms = world.gov.policy_terms()
    assert (version, terms.weights) == (2, {"M1": 50, "M2": 50})


def test_a_metric_target_on_the_wrong_side_of_the_baseline_is_refused(world: World) -> None:
    rejected_without_writing(world.gov, InvalidInput, lambda: world.gov.define_metric(
        CX_CHIEF, code="M3", customer_phrasing="Fast", operational_metric="Days", unit="days",
        direction="decrease", baseline=Decimal(5), target=Decimal(9)))


def test_a_retried_observation_batch_is_never_applied_twice(world: World) -> None:
    from datetime import UTC, datetime

    readings = [Reading(Decimal(100), datetime(2026, 1, 31, tzinfo=UTC), 400)]
    world.gov.record_observations(INGESTER, metric="M1", batch_key="2027-01", readings=readings,
                                  source="core banking")
    rejected_without_writing(world.gov, AlreadyExists, lambda: world.gov.record_observations(
        INGESTER, metric="M1", batch_key="2027-01", readings=readings, source="core banking"))


def test_a_pnl_owner_cannot_record_observations(world: World) -> None:
    from datetime import UTC, datetime

    readings = [Reading(Decimal(100), datetime(2026, 1, 31, tzinfo=UTC), 400)]
    rejected_without_writing(world.gov, Forbidden, lambda: world.gov.record_observations(
        RB_OWNER, metric="M1", batch_key="2027-01", readings=readings, source="x"))
