"""A retried command never applies twice: keys are saved with the command's own events."""

from __future__ import annotations

import pytest
from eventsourcing.domain import Aggregate

from domain.errors import AlreadyExists
from domain.idempotency import IdempotencyKeyReused
from domain.initiative import Proposal
from governance.app import CommandResult, Governance
from governance.unit_of_work import Idempotency, run
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


class _Twin:
    """A build that lets a keyed twin commit after this attempt read the key (absent), then
    finds the twin's effect and refuses, as a use case racing its own retry does."""

    def __init__(self, world: World, key: str, fingerprint: str) -> None:
        self.world, self.key, self.fingerprint = world, key, fingerprint
        self.result: CommandResult | None = None
        self.after = 0  # the log's position once the twin committed

    def __call__(self, unit: object) -> list[Aggregate]:
        if self.result is None:
            self.result = submit_keyed(self.world.gov, self.key, self.fingerprint, proposal())
            self.after = self.world.gov.position()
        raise AlreadyExists("I01 of FY2027 was submitted already", field="code")


def test_a_twin_that_commits_while_the_request_builds_is_replayed_not_refused(
        world: World) -> None:
    """Seen in CI: eight identical keyed bulk requests at once, one answered 409
    `resource.already_exists` because its twin committed between its key check and its own
    duplicate check. The refusal under a key that has since been recorded is the twin's
    result, replayed."""
    twin = _Twin(world, "k-race", "fp-a")
    position = world.gov.position()
    result = run(world.gov, world.gov.store, twin,
                 idempotency=Idempotency(RB_OWNER.actor, "k-race", "fp-a"))
    assert twin.result is not None and result.replayed
    assert (result.id, result.version, result.position) == (
        twin.result.id, twin.result.version, twin.result.position)
    assert position < twin.after == world.gov.position()  # the twin wrote; the replay did not


def test_a_twin_with_another_request_under_the_key_is_a_reused_key(world: World) -> None:
    twin = _Twin(world, "k-race", "fp-other")
    with pytest.raises(IdempotencyKeyReused):
        run(world.gov, world.gov.store, twin,
            idempotency=Idempotency(RB_OWNER.actor, "k-race", "fp-a"))
    assert twin.after and world.gov.position() == twin.after  # the twin's write, nothing more


def test_a_refusal_with_no_twin_is_the_refusal(world: World) -> None:
    def refuse(unit: object) -> list[Aggregate]:
        raise AlreadyExists("recorded already", field="code")

    position = world.gov.position()
    with pytest.raises(AlreadyExists):
        run(world.gov, world.gov.store, refuse,
            idempotency=Idempotency(RB_OWNER.actor, "k-none", "fp-a"))
    assert world.gov.position() == position
