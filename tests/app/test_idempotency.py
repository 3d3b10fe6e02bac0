"""A retried command never applies twice: keys are saved with the command's own events."""

from __future__ import annotations

from domain.idempotency import IdempotencyKeyReused
from domain.initiative import Proposal
from governance.app import CommandResult, Governance
from tests.builders import CX_CHIEF, CX_DEPUTY, RB_OWNER, World, proposal, rejected_without_writing


def submit_keyed(gov: Governance, key: str, fingerprint: str, p: Proposal) -> CommandResult:
    with gov.idempotent(RB_OWNER, key, fingerprint) as keyed:
        return keyed.submit_initiative(RB_OWNER, period="FY2027", kind="pnl", pnl="RB", proposal=p)


def test_a_retried_submission_returns_the_first_result_and_writes_nothing(world: World) -> None:
    first = submit_keyed(world.gov, "k-1", "fp-a", proposal())
    position = world.gov.position()
    again = submit_keyed(world.gov, "k-1", "fp-a", proposal())
    assert world.gov.position() == position
    assert (again.id, again.version, again.position) == (first.id, first.version, first.position)
    assert again.replayed and not first.replayed
    assert len(world.gov.pool("FY2027").initiatives) == 1


def test_a_key_reused_with_another_request_is_refused(world: World) -> None:
    submit_keyed(world.gov, "k-1", "fp-a", proposal())
    error = rejected_without_writing(world.gov, IdempotencyKeyReused, lambda: submit_keyed(
        world.gov, "k-1", "fp-b", proposal(title="Different")))
    assert error.code == "idempotency.key_reused"


def test_a_retried_decision_replays_instead_of_failing_as_already_decided(world: World) -> None:
    i = world.submit("I01", cost_m="5")
    with world.gov.idempotent(CX_CHIEF, "approve-I01", "fp") as keyed:
        first = keyed.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    with world.gov.idempotent(CX_CHIEF, "approve-I01", "fp") as keyed:
        again = keyed.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    assert again.decision == first.decision and again.status == first.status == "approved"
    assert again.position == first.position


def test_keys_are_scoped_to_the_principal(world: World) -> None:
    a = world.submit("I01", by=CX_CHIEF, pnl=None, kind="cx_process", cost_m="5")
    b = world.submit("I02", by=CX_DEPUTY, pnl=None, kind="cx_process", cost_m="5")
    with world.gov.idempotent(CX_CHIEF, "same-key", "fp-1") as keyed:
        keyed.decide(CX_CHIEF, initiative_id=b, outcome="approve")
    with world.gov.idempotent(CX_DEPUTY, "same-key", "fp-2") as keyed:
        second = keyed.decide(CX_DEPUTY, initiative_id=a, outcome="approve")
    assert not second.replayed and second.status == "approved"
