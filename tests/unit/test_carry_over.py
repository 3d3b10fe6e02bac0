"""Carrying an initiative into a later period (issue 14, re-decisions): which statuses qualify,
what the original records, what the successor carries, and v1 submissions still loading."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eventsourcing.persistence import StoredEvent

from domain.errors import InvalidInput, InvalidTransition
from domain.initiative import Initiative
from domain.lifecycle import IN_CONTENTION, UNDECIDED, Outcome, Status
from governance.app import Governance
from tests.unit.aggregates import CHIEF, DEPUTY, OWNER, M, a_record
from tests.unit.test_initiative import in_status


def carry(initiative: Initiative, *, closed: bool = False, **fields: object) -> Initiative:
    values: dict[str, object] = {"to_period": "FY2028", "period_closed": closed, "code": "I07",
                                 "reason": "no room this year; still worth doing",
                                 "actor": DEPUTY, **fields}
    return initiative.carry_over(**values)  # type: ignore[arg-type]


def test_a_deferred_initiative_is_carried_over_while_its_period_is_open() -> None:
    original = in_status(Status.DEFERRED)
    original.collect_events()
    successor = carry(original)
    (event,) = original.collect_events()
    assert isinstance(event, Initiative.CarriedOver)
    assert (event.to_period, event.to_code, event.to_id) == ("FY2028", "I07", successor.id)
    assert (event.previous_status, event.cost, event.reason) == (
        "deferred", 12 * M, "no room this year; still worth doing")
    assert original.status == Status.CARRIED_OVER and original.carried_to == "FY2028/I07"
    assert successor.id == Initiative.create_id("FY2028", "I07")
    assert (successor.period, successor.code, successor.status) == ("FY2028", "I07",
                                                                    Status.SUBMITTED)
    assert successor.carried_from == "FY2027/I01" and successor.carried_to is None
    assert successor.proposal == original.proposal  # nothing revised, no dependencies
    assert (successor.kind, successor.pnl) == (original.kind, original.pnl)
    (submitted,) = successor.collect_events()
    assert isinstance(submitted, Initiative.Submitted)
    assert submitted.carried_from == "FY2027/I01" and submitted.actor == DEPUTY


@pytest.mark.parametrize("status", sorted(UNDECIDED))
def test_undecided_work_is_carried_once_its_period_is_closed(status: Status) -> None:
    original = in_status(status)
    carry(original, closed=True)
    assert original.status == Status.CARRIED_OVER


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.PENDING_SECOND_APPROVAL])
def test_undecided_work_stays_in_its_open_period(status: Status) -> None:
    with pytest.raises(InvalidTransition) as caught:
        carry(in_status(status))
    assert "FY2027 is open (only deferred work is carried before its period closes)" in str(
        caught.value)
    assert caught.value.details == {"status": status}


@pytest.mark.parametrize("status", sorted(set(Status) - UNDECIDED))
@pytest.mark.parametrize("closed", [False, True])
def test_decided_work_is_never_carried_over(status: Status, closed: bool) -> None:
    original = in_status(status)
    original.collect_events()
    with pytest.raises(InvalidTransition) as caught:
        carry(original, closed=closed)
    assert str(caught.value) == f"cannot carry over initiative I01 while it is {status}"
    assert original.collect_events() == [] and original.status == status


def test_a_carried_initiative_can_no_longer_be_decided_revised_or_withdrawn() -> None:
    original = in_status(Status.DEFERRED)
    carry(original)
    for command in ("approve", "reject", "defer", "record_first_approval"):
        with pytest.raises(InvalidTransition):
            getattr(original, command)(decision=a_record(outcome=Outcome.REJECT), actor=CHIEF)
    with pytest.raises(InvalidTransition):
        original.revise(changes={"title": "Again"}, reason="", actor=OWNER)
    with pytest.raises(InvalidTransition):
        original.withdraw(reason="", actor=OWNER)
    with pytest.raises(InvalidTransition):
        carry(original, code="I08")
    assert Status.CARRIED_OVER not in IN_CONTENTION


def test_the_successor_may_revise_the_cost_and_name_dependencies_of_its_own_period() -> None:
    original = in_status(Status.DEFERRED)
    successor = carry(original, cost=Decimal(9) * M, dependencies=("I02",))
    assert successor.cost == 9 * M and successor.proposal.dependencies == ("I02",)
    assert original.collect_events()[-1].cost == 9 * M  # type: ignore[attr-defined]


@pytest.mark.parametrize(("fields", "field"), [
    ({"reason": "  "}, "reason"),
    ({"to_period": "FY2027"}, "to_period"),
    ({"cost": Decimal(-1)}, "cost"),
    ({"code": "bad code"}, "code"),
    ({"dependencies": ("I07",)}, "dependencies"),
])
def test_a_refused_carry_over_writes_nothing(fields: dict[str, object], field: str) -> None:
    original = in_status(Status.DEFERRED)
    original.collect_events()
    with pytest.raises(InvalidInput) as caught:
        carry(original, **fields)
    assert caught.value.field == field
    assert original.collect_events() == [] and original.status == Status.DEFERRED


def test_a_v1_submission_is_upcast_with_no_link_when_loaded() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    written = Initiative.submit(period="FY2027", code="I01", kind="pnl", pnl="RB",
                                proposal=in_status(Status.SUBMITTED).proposal, actor=OWNER)
    stored = app.mapper.to_stored_event(written.collect_events()[0])
    v1_state = json.loads(stored.state)
    del v1_state["carried_from"], v1_state["class_version"]  # as the first release wrote it
    app.recorder.insert_events([StoredEvent(
        originator_id=written.id, originator_version=1, topic=stored.topic,
        state=json.dumps(v1_state).encode())])

    loaded = app.repository.get(written.id)

    assert isinstance(loaded, Initiative)
    assert loaded.carried_from is None and loaded.carried_to is None
    assert loaded.cost == 12 * M and loaded.period == "FY2027"
    app.close()


def test_new_submissions_are_stored_as_version_two() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    successor = carry(in_status(Status.DEFERRED))
    app.save(successor)
    stored = json.loads(app.recorder.select_events(successor.id)[0].state)
    assert stored["class_version"] == 2 and stored["carried_from"] == "FY2027/I01"
    app.close()
