"""Tranches on aggregates in memory: an approval funds a first tranche and names gates; a
gate's release is a decision with the approval's rules (not by an author, within the pool,
comply or explain against the ranking as if asking for the tranche, four eyes judged on the
tranche); old approvals fold with no gates."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.decisions import decide, release_tranche
from domain.errors import (
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    JustificationRequired,
    SecondApproverRequired,
    SelfApproval,
    TranchesDoNotAddUp,
)
from domain.initiative import Gate, Initiative, Tranches
from domain.lifecycle import Outcome, Status
from domain.pool import FundingPool
from domain.portfolio import Assessment, assess
from domain.scoring import candidate_of
from tests.unit.aggregates import (
    CHIEF,
    DEPUTY,
    METRICS,
    OWNER,
    TERMS,
    M,
    a_pool,
    assessment_of,
    submitted,
)


def plan(first_m: str, *gates: tuple[str, str]) -> Tranches:
    return Tranches.plan(Decimal(8) * M, Decimal(first_m) * M,
                         [Gate(name, Decimal(amount_m) * M) for name, amount_m in gates])


def approved_in_tranches(pool: FundingPool, *gates: tuple[str, str],
                         first_m: str = "2") -> Initiative:
    """I01 (8 M) approved with a first tranche and gates; the pool commits the first."""
    initiative = submitted(pool, "I01", cost_m="8")
    decide(initiative, pool, actor=CHIEF, outcome=Outcome.APPROVE, rationale="go",
           assessment=assessment_of(pool, initiative), terms=TERMS, policy_version=1,
           ranking_position=1, decision_id=uuid4(), tranches=plan(first_m, *gates))
    return initiative


def asking(pool: FundingPool, initiative: Initiative, amount: Decimal,
           *others: Initiative) -> Assessment:
    """The ranking as the use case builds it for a release: the initiative as if undecided
    and asking for the tranche."""
    candidates = [candidate_of(id=i.id, code=i.code, proposal=i.proposal, seq=n,
                               status=i.status, pnl=i.pnl, kind=i.kind)
                  for n, i in enumerate([initiative, *others], start=1)]
    candidates[0] = dataclasses.replace(candidates[0], status=Status.SUBMITTED, cost=amount)
    return assess(candidates, METRICS, TERMS, available=pool.available)


def release(initiative: Initiative, pool: FundingPool, gate: str, *, by: str = CHIEF,
            rationale: str = "", assessment: Assessment | None = None) -> tuple[object, ...]:
    amount = next(g["amount"] for g in initiative.gates if g["name"] == gate)
    ranked = assessment or asking(pool, initiative, amount)
    return release_tranche(initiative, pool, gate=gate, actor=by, rationale=rationale,
                           assessment=ranked, terms=TERMS, policy_version=1,
                           ranking_position=2, decision_id=UUID(int=9)).changed


# --- the plan ---------------------------------------------------------------------------------


def test_a_plan_adds_up_to_the_cost() -> None:
    assert plan("2", ("pilot", "3"), ("rollout", "3")).gates == (
        Gate("pilot", 3 * M), Gate("rollout", 3 * M))
    assert Tranches.plan(8 * M, None, []) == Tranches(8 * M)
    with pytest.raises(TranchesDoNotAddUp) as short:
        plan("2", ("pilot", "3"))
    assert short.value.code == "validation.tranches_do_not_add_up"
    assert short.value.field == "gates"


@pytest.mark.parametrize(("first_m", "gates", "field"), [
    ("0", (("pilot", "8"),), "first_tranche"),
    ("2", (("pilot", "0"), ("x", "6")), "gates.0.amount"),
    ("2", (("pilot", "3"), ("pilot", "3")), "gates.1.name"),
    ("2", ((" ", "6"),), "gates.0.name"),
])
def test_a_bad_plan_names_its_field(first_m: str, gates: tuple[tuple[str, str], ...],
                                    field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        plan(first_m, *gates)
    assert refused.value.field == field


def test_an_approval_in_tranches_commits_only_the_first() -> None:
    pool = a_pool()
    initiative = approved_in_tranches(pool, ("pilot", "3"), ("rollout", "3"))
    assert initiative.status == Status.APPROVED
    assert initiative.committed_amount == pool.commitments[initiative.id] == 2 * M
    assert [(g["name"], g["amount"], g["released"]) for g in initiative.gates] == [
        ("pilot", 3 * M, False), ("rollout", 3 * M, False)]
    approved = next(e for e in initiative.collect_events()
                    if isinstance(e, Initiative.Approved))
    assert approved.amount == 2 * M and approved.decision.available_after == 98 * M


def test_an_old_approval_upcasts_to_no_gates() -> None:
    state = {"decision": None, "amount": 5 * M, "actor": CHIEF}
    Initiative.Approved.upcast_v1_v2(state)
    assert state["gates"] == []


# --- releasing a gate ---------------------------------------------------------------------


def test_a_release_commits_the_tranche_on_the_pool() -> None:
    pool = a_pool()
    initiative = approved_in_tranches(pool, ("pilot", "3"), ("rollout", "3"))
    changed = release(initiative, pool, "pilot", by=DEPUTY)
    assert changed == (pool, initiative)
    assert pool.commitments[initiative.id] == initiative.committed_amount == 5 * M
    assert pool.net_committed == 5 * M
    released = initiative.collect_events()[-1]
    assert isinstance(released, Initiative.TrancheReleased)
    assert (released.gate, released.amount) == ("pilot", 3 * M)
    assert released.decision.available_before - released.decision.available_after == 3 * M
    with pytest.raises(InvalidTransition):  # released already
        release(initiative, pool, "pilot", by=DEPUTY)


def test_an_unknown_gate_or_unfunded_work_is_refused() -> None:
    pool = a_pool()
    initiative = approved_in_tranches(pool, ("pilot", "6"))
    with pytest.raises(InvalidInput) as unknown:
        initiative.check_tranche("rollout")
    assert unknown.value.field == "gate"
    waiting = submitted(pool, "I02")
    with pytest.raises(InvalidTransition):
        waiting.check_tranche("pilot")


def test_an_author_never_releases_a_tranche() -> None:
    pool = a_pool()
    initiative = approved_in_tranches(pool, ("pilot", "6"))
    version = initiative.version
    with pytest.raises(SelfApproval):
        release(initiative, pool, "pilot", by=OWNER)
    assert initiative.version == version


def test_a_release_beyond_the_pool_is_refused() -> None:
    pool = a_pool(opex_m="60")  # 6 M: 2 committed, 4 left, the gate asks 6
    initiative = approved_in_tranches(pool, ("pilot", "6"))
    with pytest.raises(InsufficientFunds):
        release(initiative, pool, "pilot", by=DEPUTY, rationale="needed")
    assert pool.net_committed == 2 * M


def test_a_release_the_ranking_would_not_fund_needs_a_justification() -> None:
    pool = a_pool(opex_m="200")  # 20 M: 2 committed, 18 left; better work asks for 13 of it
    initiative = approved_in_tranches(pool, ("pilot", "6"))
    rival = submitted(pool, "I02", cost_m="13", impacts=(("M1", "24", "1"), ("M2", "85", "1")))
    ranked = asking(pool, initiative, 6 * M, rival)
    assert not ranked.entry("I01").recommended  # type: ignore[union-attr]
    with pytest.raises(JustificationRequired) as refused:
        release(initiative, pool, "pilot", by=DEPUTY, assessment=ranked)
    assert refused.value.details["field"] == "rationale"
    release(initiative, pool, "pilot", by=DEPUTY, rationale="the pilot worked",
            assessment=ranked)
    record = initiative.decisions[-1]
    assert record.departure and not record.recommended
    assert record.rationale == "the pilot worked"


def test_a_tranche_above_the_threshold_needs_two_executives() -> None:
    pool = a_pool()
    initiative = submitted(pool, "I01", cost_m="30")
    tranches = Tranches.plan(30 * M, 10 * M, [Gate("scale-up", 20 * M)])
    for by in (CHIEF, DEPUTY):  # 30 M: the approval itself needs four eyes
        decide(initiative, pool, actor=by, outcome=Outcome.APPROVE, rationale="go",
               assessment=assessment_of(pool, initiative), terms=TERMS, policy_version=1,
               ranking_position=1, decision_id=uuid4(), tranches=tranches)
    assert pool.net_committed == 10 * M
    assert release(initiative, pool, "scale-up", by=CHIEF, rationale="ok") == (initiative,)
    assert pool.net_committed == 10 * M and initiative.gate_approvals("scale-up") == [CHIEF]
    with pytest.raises(SecondApproverRequired):
        release(initiative, pool, "scale-up", by=CHIEF, rationale="ok")
    release(initiative, pool, "scale-up", by=DEPUTY, rationale="ok")
    assert pool.net_committed == initiative.committed_amount == 30 * M
    assert initiative.decisions[-1].approvals == (CHIEF, DEPUTY)


def test_a_tranche_commit_needs_an_existing_commitment() -> None:
    pool = a_pool()
    with pytest.raises(InvalidTransition):
        pool.commit(initiative_id=uuid4(), amount=M, decision_id=uuid4(), actor=CHIEF,
                    tranche=True)
