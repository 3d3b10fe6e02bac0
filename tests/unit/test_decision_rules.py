"""Every decision rule, one sentence each, decided on aggregates in memory (no store at all)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.decisions import Decision, check_affordable, check_decidable, decide
from domain.errors import (
    CxgovError,
    DependencyNotMet,
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    JustificationRequired,
    PeriodClosed,
    SecondApproverRequired,
    SelfApproval,
)
from domain.initiative import Initiative
from domain.lifecycle import Outcome, Status
from domain.pool import FundingPool
from domain.portfolio import Assessment
from tests.unit.aggregates import (
    CHIEF,
    DEPUTY,
    OWNER,
    TERMS,
    M,
    a_pool,
    a_record,
    assessment_of,
    submitted,
)

DECISION_ID = UUID(int=7)


@dataclass
class Period:
    """FY2027's pool and its initiatives in submission order; decisions rank them all."""

    pool: FundingPool
    initiatives: list[Initiative]

    def decide(self, initiative: Initiative, *, by: str = CHIEF,
               outcome: Outcome | str = Outcome.APPROVE, rationale: str = "",
               assessment: Assessment | None = None) -> Decision:
        ranked = assessment or assessment_of(self.pool, *self.initiatives)
        return decide(initiative, self.pool, actor=by, outcome=Outcome(outcome),
                      rationale=rationale, assessment=ranked, terms=TERMS, policy_version=3,
                      ranking_position=41, decision_id=DECISION_ID)

    def refuse(self, error: type[CxgovError], initiative: Initiative, *, by: str = CHIEF,
               outcome: Outcome | str = Outcome.APPROVE, rationale: str = "",
               assessment: Assessment | None = None) -> CxgovError:
        """Decide, expecting `error`; neither the initiative nor the pool may change."""
        versions = (initiative.version, self.pool.version)
        with pytest.raises(error) as caught:
            self.decide(initiative, by=by, outcome=outcome, rationale=rationale,
                        assessment=assessment)
        assert (initiative.version, self.pool.version) == versions, "a refusal changed state"
        return caught.value


def a_period(*initiatives: tuple[str, dict[str, Any]], opex_m: str = "1000") -> Period:
    """A pool and its initiatives, submitted in order as (code, builder fields)."""
    pool = a_pool(opex_m=opex_m)
    return Period(pool, [submitted(pool, code, **fields) for code, fields in initiatives])


def strong_and_weak() -> tuple[Period, Initiative, Initiative]:
    """I01 fills most of the pool and ranks first; I02 no longer fits: below the cut line."""
    period = a_period(("I01", {"cost_m": "60", "impacts": (("M1", "24", "1.0"),)}),
                      ("I02", {"cost_m": "50", "impacts": (("M1", "110", "0.2"),)}))
    return period, *period.initiatives  # type: ignore[return-value]


# --- happy paths -------------------------------------------------------------------------


def test_a_recommended_approval_commits_the_funds_and_records_why() -> None:
    period = a_period(("I01", {"cost_m": "5"}))
    i, pool = period.initiatives[0], period.pool

    decision = period.decide(i, rationale="clear winner")

    assert decision.changed == (pool, i)
    assert i.status == Status.APPROVED and i.committed_amount == 5 * M
    assert pool.available == 95 * M and pool.commitments == {i.id: 5 * M}
    r = decision.record
    assert i.decisions == [r]
    assert (r.decision_id, r.outcome, r.rationale, r.departure) == (
        DECISION_ID, Outcome.APPROVE, "clear winner", False)
    assert (r.rank, r.recommended, r.cut_line_rank, r.policy_version) == (1, True, 1, 3)
    assert (r.available_before, r.available_after, r.ranking_position) == (100 * M, 95 * M, 41)
    assert r.approvals == (CHIEF,) and r.score > 0 and r.cip > 0


def test_rejecting_below_the_cut_line_complies_and_needs_no_justification() -> None:
    period, _, weak = strong_and_weak()
    decision = period.decide(weak, outcome="reject")
    assert decision.changed == (weak,)
    assert weak.status == Status.REJECTED and decision.record.departure is False
    assert decision.record.available_after == decision.record.available_before == 100 * M
    assert period.pool.available == 100 * M


def test_deferring_below_the_cut_line_complies_and_commits_nothing() -> None:
    period, _, weak = strong_and_weak()
    decision = period.decide(weak, outcome=Outcome.DEFER)
    assert weak.status == Status.DEFERRED and decision.record.outcome == "defer"
    assert decision.changed == (weak,) and period.pool.available == 100 * M


def test_a_deferred_initiative_can_be_decided_again() -> None:
    period = a_period(("I01", {"cost_m": "5"}))
    i = period.initiatives[0]
    period.decide(i, outcome="defer", rationale="next quarter")
    period.decide(i, by=DEPUTY)
    assert i.status == Status.APPROVED


# --- 1: undecided, and never by an author -------------------------------------------------


def test_nobody_decides_on_an_initiative_they_submitted() -> None:
    period = a_period(("I01", {"by": CHIEF}))
    i = period.initiatives[0]
    error = period.refuse(SelfApproval, i, by=CHIEF)
    assert error.code == "decision.self_approval"
    assert str(error) == "nobody decides on an initiative they submitted or revised"
    period.decide(i, by=DEPUTY)


def test_nobody_decides_on_an_initiative_they_revised() -> None:
    period = a_period(("I01", {}))
    i = period.initiatives[0]
    i.revise(changes={"title": "Co-authored"}, reason="", actor=DEPUTY)
    for outcome in Outcome:
        period.refuse(SelfApproval, i, by=DEPUTY, outcome=outcome, rationale="why")


def test_a_decided_initiative_cannot_be_decided_again() -> None:
    period = a_period(("I01", {"cost_m": "5"}))
    i = period.initiatives[0]
    period.decide(i)
    error = period.refuse(InvalidTransition, i, by=DEPUTY)
    assert str(error) == "initiative I01 is approved; it can no longer be decided"
    assert error.details == {"status": "approved"}


def test_the_status_is_checked_before_the_author() -> None:
    period = a_period(("I01", {}))
    i = period.initiatives[0]
    i.withdraw(reason="merged", actor=OWNER)
    period.refuse(InvalidTransition, i, by=OWNER)


def test_check_decidable_applies_rule_one_alone() -> None:
    period = a_period(("I01", {}))
    i = period.initiatives[0]
    assert check_decidable(i, actor=CHIEF) is i
    with pytest.raises(SelfApproval):
        check_decidable(i, actor=OWNER)


# --- 2: an approval fits the pool ---------------------------------------------------------


def two_nines_in_a_fifteen_million_pool() -> tuple[Period, Initiative]:
    """I01 (9 M) approved from a 15 M pool; I02 (9 M) no longer fits."""
    period = a_period(("I01", {"cost_m": "9"}), ("I02", {"cost_m": "9"}), opex_m="150")
    period.decide(period.initiatives[0])
    return period, period.initiatives[1]


def test_an_approval_beyond_the_available_funds_is_refused() -> None:
    period, second = two_nines_in_a_fifteen_million_pool()
    error = period.refuse(InsufficientFunds, second, rationale="try anyway")
    assert error.code == "pool.insufficient_funds"
    assert str(error) == "9000000 requested but only 6000000 of 15000000 is available"
    assert error.details == {"requested": "9000000", "available": "6000000", "pool": "15000000"}


def test_insufficient_funds_is_reported_before_a_missing_justification() -> None:
    period, second = two_nines_in_a_fifteen_million_pool()
    period.refuse(InsufficientFunds, second)  # below the cut line, and no rationale


def test_rejecting_what_the_pool_cannot_afford_is_allowed() -> None:
    period, second = two_nines_in_a_fifteen_million_pool()
    assert period.decide(second, outcome="reject").record.outcome == Outcome.REJECT


def test_a_decision_and_a_commitment_word_insufficient_funds_the_same_way() -> None:
    period = a_period(("I01", {"cost_m": "20"}), opex_m="150")
    i, pool = period.initiatives[0], period.pool
    with pytest.raises(InsufficientFunds) as by_decision:
        check_affordable(i, pool, Outcome.APPROVE)
    with pytest.raises(InsufficientFunds) as by_commitment:
        pool.commit(initiative_id=i.id, amount=i.cost, decision_id=uuid4(), actor=CHIEF)
    assert str(by_decision.value) == str(by_commitment.value)
    assert by_decision.value.details == by_commitment.value.details
    check_affordable(i, pool, Outcome.REJECT)  # only an approval spends


# --- 3: in contention ---------------------------------------------------------------------


def test_an_initiative_missing_from_the_assessment_is_not_decided() -> None:
    period = a_period(("I01", {}), ("I02", {}))
    i, other = period.initiatives
    error = period.refuse(InvalidTransition, i, assessment=assessment_of(period.pool, other))
    assert str(error) == "I01 is not in contention"


# --- 4: comply or explain -----------------------------------------------------------------


def test_approving_below_the_cut_line_requires_a_justification() -> None:
    period, _, weak = strong_and_weak()
    error = period.refuse(JustificationRequired, weak)
    assert error.code == "decision.justification_required"
    assert str(error) == ("I02 is below the recommendation's cut line; to approve it, "
                          "write a justification")
    assert error.details == {
        "field": "rationale", "rank": 2, "recommended": False, "cut_line_rank": 1}


@pytest.mark.parametrize("outcome", [Outcome.REJECT, Outcome.DEFER])
def test_rejecting_or_deferring_above_the_cut_line_requires_a_justification(
        outcome: Outcome) -> None:
    period, strong, _ = strong_and_weak()
    error = period.refuse(JustificationRequired, strong, outcome=outcome)
    assert str(error) == (f"I01 is above the recommendation's cut line; to {outcome.value} it, "
                          "write a justification")
    assert error.details["recommended"] is True


def test_a_justified_departure_is_recorded_as_a_departure() -> None:
    period, _, weak = strong_and_weak()
    record = period.decide(weak, rationale="Regulator expects it this year").record
    assert (record.departure, record.recommended) == (True, False)
    assert record.rationale == "Regulator expects it this year"
    assert weak.status == Status.PENDING_SECOND_APPROVAL  # 50 M: four eyes


# --- 5: four eyes, then dependencies ------------------------------------------------------


def test_an_approval_above_the_four_eyes_threshold_waits_for_a_second_approver() -> None:
    period = a_period(("I01", {"cost_m": "12"}))
    big = period.initiatives[0]
    decision = period.decide(big)
    assert big.status == Status.PENDING_SECOND_APPROVAL and big.approvals == [CHIEF]
    assert decision.changed == (big,) and period.pool.net_committed == 0
    assert decision.record.available_after == decision.record.available_before == 100 * M
    assert decision.record.approvals == (CHIEF,)


def test_the_same_executive_cannot_give_both_approvals() -> None:
    period = a_period(("I01", {"cost_m": "12"}))
    big = period.initiatives[0]
    period.decide(big)
    error = period.refuse(SecondApproverRequired, big)
    assert error.code == "decision.second_approver_required"
    assert str(error) == ("I01 costs more than the four-eyes threshold 10000000: "
                          "a different CX executive must approve it")


def test_a_second_distinct_approval_commits_the_funds() -> None:
    period = a_period(("I01", {"cost_m": "12"}))
    big = period.initiatives[0]
    period.decide(big)
    second = period.decide(big, by=DEPUTY)
    assert second.changed == (period.pool, big) and big.status == Status.APPROVED
    assert second.record.approvals == (CHIEF, DEPUTY) == tuple(big.approvals)
    assert (second.record.available_before, second.record.available_after) == (100 * M, 88 * M)
    assert period.pool.net_committed == 12 * M


def test_deferring_a_pending_initiative_clears_its_first_approval() -> None:
    period = a_period(("I01", {"cost_m": "12"}))
    big = period.initiatives[0]
    period.decide(big)
    period.decide(big, by=DEPUTY, outcome="defer", rationale="budget review first")
    assert big.status == Status.DEFERRED and big.approvals == []
    assert period.decide(big).record.approvals == (CHIEF,)  # four eyes start afresh


def test_a_dependency_must_be_funded_first() -> None:
    period = a_period(("I01", {"cost_m": "5"}),
                      ("I02", {"cost_m": "5", "dependencies": ("I01",)}))
    parent, child = period.initiatives
    error = period.refuse(DependencyNotMet, child, rationale="urgent")
    assert error.code == "decision.dependency_not_funded"
    assert str(error) == "I02 needs I01 funded first"
    assert error.details == {"missing": ["I01"]}
    period.decide(parent)
    period.decide(child)
    assert child.status == Status.APPROVED


def test_a_dependency_binds_only_an_approval() -> None:
    period = a_period(("I01", {"cost_m": "5"}),
                      ("I02", {"cost_m": "5", "dependencies": ("I01",)}))
    child = period.initiatives[1]
    period.decide(child, outcome="reject", rationale="not without I01")
    assert child.status == Status.REJECTED


def test_the_second_approver_is_checked_before_the_dependencies() -> None:
    period = a_period(("I01", {"cost_m": "5"}),
                      ("I02", {"cost_m": "12", "dependencies": ("I01",)}))
    child = period.initiatives[1]
    child.record_first_approval(decision=a_record(), actor=CHIEF)
    period.refuse(SecondApproverRequired, child, rationale="urgent")


# --- 6: the lifecycle takes the transition ------------------------------------------------


def test_deferring_an_already_deferred_initiative_is_an_invalid_transition() -> None:
    period, _, weak = strong_and_weak()
    period.decide(weak, outcome="defer")
    error = period.refuse(InvalidTransition, weak, outcome="defer")
    assert str(error) == "cannot defer initiative I02 while it is deferred"
    assert error.details == {"status": "deferred"}


def test_an_approval_in_a_closed_period_commits_nothing() -> None:
    period = a_period(("I01", {"cost_m": "5"}))
    period.pool.close(reason="year end", actor="test|fiona")
    period.refuse(PeriodClosed, period.initiatives[0])
    assert period.pool.net_committed == Decimal(0)


def test_an_unknown_outcome_is_invalid_input_on_the_outcome_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        Outcome.parse("maybe")
    assert str(caught.value) == "outcome must be one of approve, reject, defer"
    assert caught.value.field == "outcome"
    assert Outcome.parse("approve") is Outcome.APPROVE
