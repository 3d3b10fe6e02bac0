"""The Initiative aggregate on its own: its commands, its refusals, its lifecycle and events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import natural_id
from domain.initiative import DecisionRecord, Initiative
from domain.lifecycle import FUNDED, IN_CONTENTION, UNDECIDED, Outcome, Status
from governance.stores.transcoding import transcodings
from tests.unit.aggregates import CHIEF, DEPUTY, OWNER, M, a_proposal, a_record

NOW = datetime(2027, 6, 30, 12, tzinfo=UTC)


def an_initiative(*, code: str = "I01", kind: str = "pnl", pnl: str | None = "RB",
                  by: str = OWNER, **proposal: Any) -> Initiative:
    return Initiative.submit(period="FY2027", code=code, kind=kind, pnl=pnl,
                             proposal=a_proposal(**proposal), actor=by)


def approved(**proposal: Any) -> Initiative:
    initiative = an_initiative(**proposal)
    initiative.approve(decision=a_record(), actor=CHIEF)
    return initiative


def delivered(**proposal: Any) -> Initiative:
    initiative = approved(**proposal)
    initiative.deliver(delivered_on=date(2027, 3, 1), note="live", actor=OWNER)
    return initiative


def in_status(status: Status) -> Initiative:
    """An initiative brought to `status` through its own commands."""
    initiative = an_initiative(cost_m="12")
    record = a_record()
    steps: dict[Status, list[Any]] = {
        Status.SUBMITTED: [],
        Status.PENDING_SECOND_APPROVAL: [lambda: initiative.record_first_approval(
            decision=record, actor=CHIEF)],
        Status.DEFERRED: [lambda: initiative.defer(decision=a_record(outcome=Outcome.DEFER),
                                                   actor=CHIEF)],
        Status.APPROVED: [lambda: initiative.approve(decision=record, actor=CHIEF)],
        Status.REJECTED: [lambda: initiative.reject(decision=a_record(outcome=Outcome.REJECT),
                                                    actor=CHIEF)],
        Status.WITHDRAWN: [lambda: initiative.withdraw(reason="", actor=OWNER)],
        Status.DELIVERED: [lambda: initiative.approve(decision=record, actor=CHIEF),
                           lambda: initiative.deliver(delivered_on=date(2027, 3, 1), note="",
                                                      actor=OWNER)],
        Status.CANCELLED: [lambda: initiative.approve(decision=record, actor=CHIEF),
                           lambda: initiative.cancel(reason="vendor collapsed",
                                                     amount_released=12 * M, actor=CHIEF)],
        Status.CARRIED_OVER: [
            lambda: initiative.defer(decision=a_record(outcome=Outcome.DEFER), actor=CHIEF),
            lambda: initiative.carry_over(to_period="FY2028", period_closed=False, code="I01",
                                          reason="next year's budget", actor=CHIEF)],
    }
    for step in steps[status]:
        step()
    assert initiative.status == status
    return initiative


def topics(initiative: Initiative) -> list[tuple[str, int]]:
    return [(type(e).TOPIC, e.originator_version) for e in initiative.collect_events()]


# --- submit --------------------------------------------------------------------------------


def test_a_submission_is_normalised_and_recorded_as_one_versioned_event() -> None:
    initiative = an_initiative(code=" I01 ", title="  Faster\u0065\u0301 opening ",
                               dependencies=(" I00 ",))
    assert initiative.id == Initiative.create_id("FY2027", "I01") == natural_id(
        "initiative", "FY2027", "I01")
    assert (initiative.code, initiative.status, initiative.version) == (
        "I01", Status.SUBMITTED, 1)
    assert initiative.proposal.title == "Faster\u00e9 opening"  # NFC, stripped
    assert initiative.proposal.dependencies == ("I00",)
    assert initiative.authors == {OWNER} and initiative.submitted_by == OWNER
    assert (initiative.approvals, initiative.decisions, initiative.committed_amount) == (
        [], [], 0)
    assert topics(initiative) == [("cxgov.Initiative.Submitted", 1)]


def test_labels_are_deduplicated_in_order() -> None:
    initiative = an_initiative(touchpoints=("Web", "Mobile", " Web "),
                               functional_areas=("IT",))
    assert initiative.proposal.touchpoints == ("Web", "Mobile")


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "other"}, "kind"),
    ({"kind": "pnl", "pnl": None}, "pnl"),
    ({"kind": "cx_process", "pnl": "RB"}, "pnl"),
    ({"code": "I 01"}, "code"),
    ({"dependencies": ("I01",)}, "dependencies"),
    ({"impacts": (("M1", "48", "0.7"), ("M1", "40", "0.5"))}, "expected_impacts"),
    ({"mandatory": True}, "mandate_reason"),
    ({"confidence": "0"}, "confidence"),
    ({"confidence": "1.1"}, "confidence"),
    ({"cost_m": "0"}, "cost"),
    ({"title": " "}, "title"),
])
def test_a_submission_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        an_initiative(**fields)
    assert caught.value.field == field


def test_cross_pnl_work_names_no_pnl_and_a_mandate_carries_its_reason() -> None:
    sponsored = an_initiative(kind="cx_infrastructure", pnl=None, mandatory=True,
                              mandate_reason=" Regulator ")
    assert (sponsored.pnl, sponsored.proposal.mandate_reason) == (None, "Regulator")


# --- revise --------------------------------------------------------------------------------


def test_a_revision_records_before_and_after_and_makes_the_reviser_an_author() -> None:
    initiative = an_initiative(title="Old title")
    initiative.collect_events()

    initiative.revise(changes={"title": " New title ", "cost": 6 * M}, reason="scope",
                      actor=DEPUTY)

    (event,) = initiative.collect_events()
    assert isinstance(event, Initiative.Revised)
    assert (event.changes, event.previous) == ({"title": "New title", "cost": 6 * M},
                                               {"title": "Old title", "cost": 5 * M})
    assert (event.reason, event.actor, event.originator_version) == ("scope", DEPUTY, 2)
    assert initiative.proposal.title == "New title" and initiative.cost == 6 * M
    assert initiative.authors == {OWNER, DEPUTY}


def test_a_revision_that_changes_nothing_is_refused() -> None:
    initiative = an_initiative(title="Same")
    with pytest.raises(InvalidInput) as caught:
        initiative.revise(changes={"title": "Same"}, reason="", actor=OWNER)
    assert caught.value.field == "changes" and initiative.version == 1


def test_a_revision_records_only_the_fields_it_changes() -> None:
    initiative = an_initiative(title="Same", cost_m="5")
    initiative.revise(changes={"title": "Same", "cost": 7 * M}, reason="", actor=OWNER)
    assert initiative.collect_events()[-1].changes == {"cost": 7 * M}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("changes", "field"), [
    ({"code": "I09"}, "code"),
    ({"dependencies": ("I01",)}, "dependencies"),
    ({"confidence": Decimal(2)}, "confidence"),
])
def test_a_revision_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        an_initiative().revise(changes=changes, reason="", actor=OWNER)
    assert caught.value.field == field


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.DEFERRED])
def test_an_undecided_initiative_may_be_revised(status: Status) -> None:
    initiative = in_status(status)
    initiative.revise(changes={"title": "Sharper"}, reason="", actor=OWNER)
    assert initiative.status == status


@pytest.mark.parametrize("status", sorted(set(Status) - {Status.SUBMITTED, Status.DEFERRED}))
def test_only_a_submitted_or_deferred_initiative_may_be_revised(status: Status) -> None:
    initiative = in_status(status)
    with pytest.raises(InvalidTransition) as caught:
        initiative.revise(changes={"title": "Sharper"}, reason="", actor=OWNER)
    assert str(caught.value) == f"cannot revise initiative I01 while it is {status}"
    assert caught.value.details == {"status": status}


# --- withdraw ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(UNDECIDED))
def test_an_undecided_initiative_may_be_withdrawn_recording_where_it_was(
        status: Status) -> None:
    initiative = in_status(status)
    initiative.collect_events()
    initiative.withdraw(reason=" merged into I02 ", actor=OWNER)
    (event,) = initiative.collect_events()
    assert isinstance(event, Initiative.Withdrawn)
    assert (event.previous_status, event.reason) == (status, "merged into I02")
    assert initiative.status == Status.WITHDRAWN


@pytest.mark.parametrize("status", sorted(set(Status) - UNDECIDED))
def test_a_decided_initiative_cannot_be_withdrawn(status: Status) -> None:
    with pytest.raises(InvalidTransition):
        in_status(status).withdraw(reason="", actor=OWNER)


# --- decisions -----------------------------------------------------------------------------


def test_a_first_approval_leaves_it_pending_a_second() -> None:
    initiative = an_initiative(cost_m="12")
    record = a_record()
    initiative.record_first_approval(decision=record, actor=CHIEF)
    assert initiative.status == Status.PENDING_SECOND_APPROVAL
    assert (initiative.approvals, initiative.decisions) == ([CHIEF], [record])
    assert initiative.committed_amount == 0


def test_the_second_approval_approves_and_commits_the_cost() -> None:
    initiative = in_status(Status.PENDING_SECOND_APPROVAL)
    initiative.approve(decision=a_record(approvals=(CHIEF, DEPUTY)), actor=DEPUTY)
    assert initiative.status == Status.APPROVED
    assert initiative.approvals == [CHIEF, DEPUTY] and initiative.committed_amount == 12 * M
    assert initiative.collect_events()[-1].amount == 12 * M  # type: ignore[attr-defined]


@pytest.mark.parametrize(("command", "allowed"), [
    ("record_first_approval", {Status.SUBMITTED, Status.DEFERRED}),
    ("approve", UNDECIDED),
    ("reject", UNDECIDED),
    ("defer", {Status.SUBMITTED, Status.PENDING_SECOND_APPROVAL}),
])
def test_each_decision_is_taken_only_from_its_statuses(command: str,
                                                       allowed: frozenset[Status]) -> None:
    action = {"record_first_approval": "approve"}.get(command, command)
    for status in Status:
        initiative = in_status(status)
        decide = getattr(initiative, command)
        if status in allowed:
            decide(decision=a_record(), actor=DEPUTY)
            assert initiative.decisions[-1] == a_record()
            continue
        with pytest.raises(InvalidTransition) as caught:
            decide(decision=a_record(), actor=DEPUTY)
        assert str(caught.value) == f"cannot {action} initiative I01 while it is {status}"


def test_a_deferral_clears_the_approvals_and_a_rejection_keeps_them() -> None:
    deferred = in_status(Status.PENDING_SECOND_APPROVAL)
    deferred.defer(decision=a_record(outcome=Outcome.DEFER), actor=DEPUTY)
    assert (deferred.status, deferred.approvals) == (Status.DEFERRED, [])
    rejected = in_status(Status.PENDING_SECOND_APPROVAL)
    rejected.reject(decision=a_record(outcome=Outcome.REJECT), actor=DEPUTY)
    assert (rejected.status, rejected.approvals) == (Status.REJECTED, [CHIEF])


# --- after approval ------------------------------------------------------------------------


def test_approved_work_is_delivered_once() -> None:
    initiative = delivered()
    assert (initiative.status, initiative.delivered_on) == (Status.DELIVERED, date(2027, 3, 1))
    with pytest.raises(InvalidTransition):
        initiative.deliver(delivered_on=date(2027, 4, 1), note="", actor=OWNER)


def test_an_outcome_is_recorded_on_a_claimed_metric_after_delivery() -> None:
    initiative = delivered()
    at = NOW - timedelta(days=3)
    initiative.record_outcome(metric="M1", observed_value=Decimal(30), observed_at=at,
                              note=" good ", actor=OWNER, now=NOW)
    assert initiative.outcomes == [("M1", Decimal(30), at)]
    event = initiative.collect_events()[-1]
    assert isinstance(event, Initiative.OutcomeRecorded) and event.note == "good"
    assert initiative.status == Status.DELIVERED


def test_an_outcome_on_an_unclaimed_metric_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        delivered().record_outcome(metric="M2", observed_value=Decimal(80), observed_at=NOW,
                                   note="", actor=OWNER, now=NOW)
    assert (str(caught.value), caught.value.field) == ("I01 claims no impact on M2", "metric")


@pytest.mark.parametrize("observed_at", [
    NOW + timedelta(days=1, seconds=1),  # beyond a day past the clock
    datetime(1969, 12, 31, tzinfo=UTC),
    datetime(2027, 6, 1),  # no time zone
])
def test_an_outcome_observed_outside_its_window_is_refused(observed_at: datetime) -> None:
    with pytest.raises(InvalidInput) as caught:
        delivered().record_outcome(metric="M1", observed_value=Decimal(30),
                                   observed_at=observed_at, note="", actor=OWNER, now=NOW)
    assert caught.value.field == "observed_at"


def test_an_outcome_up_to_a_day_past_the_clock_is_accepted() -> None:
    initiative = delivered()
    initiative.record_outcome(metric="M1", observed_value=Decimal(30),
                              observed_at=NOW + timedelta(days=1), note="", actor=OWNER, now=NOW)
    assert len(initiative.outcomes) == 1


def test_an_outcome_needs_a_finite_value_and_delivered_work() -> None:
    with pytest.raises(InvalidInput):
        delivered().record_outcome(metric="M1", observed_value=Decimal("NaN"),
                                   observed_at=NOW, note="", actor=OWNER, now=NOW)
    with pytest.raises(InvalidTransition):
        approved().record_outcome(metric="M1", observed_value=Decimal(30), observed_at=NOW,
                                  note="", actor=OWNER, now=NOW)


def test_cancelling_approved_work_releases_its_commitment() -> None:
    initiative = approved()
    initiative.cancel(reason=" vendor collapsed ", amount_released=5 * M, actor=CHIEF)
    assert (initiative.status, initiative.committed_amount) == (Status.CANCELLED, 0)
    event = initiative.collect_events()[-1]
    assert isinstance(event, Initiative.Cancelled)
    assert (event.reason, event.amount_released) == ("vendor collapsed", 5 * M)


def test_cancelling_needs_a_reason_and_approved_work() -> None:
    with pytest.raises(InvalidInput):
        approved().cancel(reason="", amount_released=5 * M, actor=CHIEF)
    for status in (Status.SUBMITTED, Status.DELIVERED, Status.CANCELLED):
        with pytest.raises(InvalidTransition):
            in_status(status).cancel(reason="why", amount_released=0, actor=CHIEF)


# --- events and the lifecycle rule ---------------------------------------------------------


def test_a_whole_life_is_one_stream_of_versioned_events_with_stable_topics() -> None:
    initiative = an_initiative(cost_m="12")
    initiative.revise(changes={"title": "Sharper"}, reason="", actor=OWNER)
    initiative.record_first_approval(decision=a_record(), actor=CHIEF)
    initiative.defer(decision=a_record(outcome=Outcome.DEFER), actor=DEPUTY)
    initiative.record_first_approval(decision=a_record(), actor=CHIEF)
    initiative.approve(decision=a_record(), actor=DEPUTY)
    initiative.deliver(delivered_on=date(2027, 3, 1), note="", actor=OWNER)
    initiative.record_outcome(metric="M1", observed_value=Decimal(30), observed_at=NOW,
                              note="", actor=OWNER, now=NOW)
    assert topics(initiative) == [
        ("cxgov.Initiative.Submitted", 1), ("cxgov.Initiative.Revised", 2),
        ("cxgov.Initiative.FirstApprovalRecorded", 3), ("cxgov.Initiative.Deferred", 4),
        ("cxgov.Initiative.FirstApprovalRecorded", 5), ("cxgov.Initiative.Approved", 6),
        ("cxgov.Initiative.Delivered", 7), ("cxgov.Initiative.OutcomeRecorded", 8)]


def test_replaying_the_events_rebuilds_the_same_lifecycle() -> None:
    initiative = in_status(Status.PENDING_SECOND_APPROVAL)
    initiative.approve(decision=a_record(), actor=DEPUTY)
    replayed: Initiative | None = None
    for event in initiative.collect_events():
        replayed = event.mutate(replayed)  # type: ignore[arg-type]
    assert replayed is not None
    assert (replayed.status, replayed.approvals, replayed.committed_amount) == (
        Status.APPROVED, [CHIEF, DEPUTY], 12 * M)


def test_the_lifecycle_rule_names_the_status_after_each_event() -> None:
    after = {kind.TOPIC: Initiative.status_after(kind) for kind in (
        Initiative.Submitted, Initiative.Revised, Initiative.Withdrawn,
        Initiative.FirstApprovalRecorded, Initiative.Approved, Initiative.Rejected,
        Initiative.Deferred, Initiative.Delivered, Initiative.OutcomeRecorded,
        Initiative.Cancelled)}
    assert after == {
        "cxgov.Initiative.Submitted": "submitted", "cxgov.Initiative.Revised": None,
        "cxgov.Initiative.Withdrawn": "withdrawn",
        "cxgov.Initiative.FirstApprovalRecorded": "pending_second_approval",
        "cxgov.Initiative.Approved": "approved", "cxgov.Initiative.Rejected": "rejected",
        "cxgov.Initiative.Deferred": "deferred", "cxgov.Initiative.Delivered": "delivered",
        "cxgov.Initiative.OutcomeRecorded": None, "cxgov.Initiative.Cancelled": "cancelled"}


def test_the_approvals_rule_starts_extends_and_clears_the_list() -> None:
    rule = Initiative.approvals_after
    assert rule(Initiative.FirstApprovalRecorded, ["old"], CHIEF) == [CHIEF]
    assert rule(Initiative.Approved, [CHIEF], DEPUTY) == [CHIEF, DEPUTY]
    assert rule(Initiative.Deferred, [CHIEF], DEPUTY) == []
    assert rule(Initiative.Rejected, [CHIEF], DEPUTY) == [CHIEF]


def test_statuses_and_outcomes_are_the_strings_stored_since_the_first_release() -> None:
    assert [s.value for s in Status] == [
        "submitted", "pending_second_approval", "deferred", "approved", "rejected",
        "withdrawn", "delivered", "cancelled", "carried_over"]
    assert [o.value for o in Outcome] == ["approve", "reject", "defer"]
    assert IN_CONTENTION == UNDECIDED | FUNDED == {
        "submitted", "pending_second_approval", "deferred", "approved", "delivered"}


def test_stored_events_hold_plain_strings_and_decode_to_the_enums() -> None:
    transcoder = JSONTranscoder()  # as the application registers them
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), *transcodings()):
        transcoder.register(transcoding)
    initiative = in_status(Status.DEFERRED)
    initiative.withdraw(reason="", actor=OWNER)
    deferred, withdrawn = initiative.collect_events()[-2:]
    stored = transcoder.encode(deferred.__dict__)
    assert b'"outcome":"defer"' in stored
    assert b'"previous_status":"deferred"' in transcoder.encode(withdrawn.__dict__)
    decoded = transcoder.decode(stored)["decision"]
    assert isinstance(decoded, DecisionRecord) and decoded.outcome is Outcome.DEFER
    assert json.loads(stored)["decision"]["_data_"]["outcome"] == "defer"
