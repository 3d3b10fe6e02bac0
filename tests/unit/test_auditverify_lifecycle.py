"""The verifier re-derives each initiative's lifecycle from event rows built here, without the
service (auditverify/lifecycle.py): every event kind forged in every status it is illegal in is
one `lifecycle_transition` finding at its position, and the same event in a status it is legal
in is none."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from auditverify.bundle import write_bundle
from auditverify.cli import main
from auditverify.lifecycle import CARRIABLE_ANYTIME, TRANSITIONS, check_lifecycle
from auditverify.model import Finding
from auditverify.replay import check_decisions
from domain.errors import InvalidTransition
from domain.initiative import Initiative
from domain.lifecycle import Outcome, Status
from tests.unit.aggregates import OWNER, M, a_pool, a_record, submitted
from tests.unit.test_auditverify_rules import POOL, Log

#: legal paths from a submission to each status (the events, in order)
PATHS: dict[str, tuple[str, ...]] = {
    "submitted": (),
    "pending_second_approval": ("Initiative.FirstApprovalRecorded",),
    "deferred": ("Initiative.Deferred",),
    "approved": ("Initiative.Approved",),
    "rejected": ("Initiative.Rejected",),
    "withdrawn": ("Initiative.Withdrawn",),
    "delivered": ("Initiative.Approved", "Initiative.Delivered"),
    "cancelled": ("Initiative.Approved", "Initiative.Cancelled"),
    "carried_over": ("Initiative.Deferred", "Initiative.CarriedOver"),
}
#: the status each path event leaves (for the previous_status the service records)
AFTER = {name: after for name, (_, after) in TRANSITIONS.items()}


def event(log: Log, initiative: str, name: str, status: str) -> int:
    """Append `name` on `initiative` (now `status`) with the fields the lifecycle reads."""
    data: dict[str, Any] = {"actor": "carl"}
    if name in ("Initiative.Withdrawn", "Initiative.CarriedOver"):
        data["previous_status"] = status
    return log.add(initiative, name, **data)


def reach(status: str) -> tuple[Log, str]:
    """A log whose one initiative is `status`, by legal events."""
    log = Log()
    initiative = log.submit(5)
    now = "submitted"
    for name in PATHS[status]:
        event(log, initiative, name, now)
        now = AFTER[name] or now
    assert now == status
    return log, initiative


def kinds(findings: list[Finding]) -> list[tuple[str, int | None]]:
    return [(f.kind, f.position) for f in findings]


ILLEGAL = [(name, status) for name, (allowed, _) in TRANSITIONS.items()
           for status in PATHS if status not in allowed]
LEGAL = [(name, status) for name, (allowed, _) in TRANSITIONS.items()
         for status in PATHS if status in allowed]


def test_the_matrix_covers_every_event_in_every_status() -> None:
    assert len(ILLEGAL) + len(LEGAL) == len(TRANSITIONS) * len(PATHS)
    assert len(ILLEGAL) >= 90


@pytest.mark.parametrize(("name", "status"), ILLEGAL)
def test_an_event_forged_in_a_status_it_is_illegal_in_is_found_at_its_position(
        name: str, status: str) -> None:
    log, initiative = reach(status)
    assert check_lifecycle(log.rows) == []
    forged = event(log, initiative, name, status)
    found = check_lifecycle(log.rows)
    assert kinds(found) == [("lifecycle_transition", forged)]
    assert f"that is {status}" in found[0].detail


@pytest.mark.parametrize(("name", "status"), LEGAL)
def test_the_same_event_in_a_status_it_is_legal_in_is_no_finding(name: str,
                                                                  status: str) -> None:
    log, initiative = reach(status)
    event(log, initiative, name, status)
    found = check_lifecycle(log.rows)
    if name == "Initiative.CarriedOver" and status != "deferred":  # the period is open
        assert kinds(found) == [("lifecycle_transition", log.position)]
        assert "is open" in found[0].detail
    else:
        assert found == []


def test_approved_work_submitted_again_is_found() -> None:
    """approved -> submitted: a second submission of the same initiative."""
    log, initiative = reach("approved")
    again = log.add(initiative, "Initiative.Submitted", period="FY2027", code="I01",
                    actor="rob", proposal={"cost": 1})
    found = check_lifecycle(log.rows)
    assert kinds(found) == [("lifecycle_transition", again)]
    assert "exists already (it is approved)" in found[0].detail


def test_undecided_work_is_carried_over_once_its_period_is_closed() -> None:
    log, initiative = reach("submitted")
    log.add(POOL, "FundingPool.Closed", committed=0, reason="year end", actor="fiona")
    event(log, initiative, "Initiative.CarriedOver", "submitted")
    assert check_lifecycle(log.rows) == []


def test_an_event_on_an_initiative_never_submitted_or_of_no_known_kind_is_found() -> None:
    log, initiative = reach("submitted")
    stranger = event(log, str(uuid4()), "Initiative.Delivered", "approved")
    unknown = log.add(initiative, "Initiative.Reopened", actor="carl")
    found = check_lifecycle(log.rows)
    assert kinds(found) == [("lifecycle_transition", stranger),
                            ("lifecycle_transition", unknown)]
    assert "never submitted" in found[0].detail
    assert "no event of an initiative's lifecycle" in found[1].detail


def test_a_withdrawal_recording_another_previous_status_is_found() -> None:
    log, initiative = reach("deferred")
    forged = event(log, initiative, "Initiative.Withdrawn", "submitted")
    found = check_lifecycle(log.rows)
    assert kinds(found) == [("lifecycle_transition", forged)]
    assert "previous status 'submitted', the replay holds 'deferred'" in found[0].detail


def test_one_forged_event_is_one_finding_the_replay_follows_it() -> None:
    """A decision on a withdrawn initiative, then delivery and spend as if it were approved:
    the forged approval is the finding; what follows is legal after it."""
    log, initiative = reach("withdrawn")
    forged = event(log, initiative, "Initiative.Approved", "withdrawn")
    event(log, initiative, "Initiative.Delivered", "approved")
    event(log, initiative, "Initiative.OutcomeRecorded", "delivered")
    assert kinds(check_lifecycle(log.rows)) == [("lifecycle_transition", forged)]


def test_the_cli_fails_a_bundle_with_a_stop_of_work_never_funded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Through every rule and the command line: the clean log stops approved work, the forged
    one stops work never approved; only the lifecycle tells them apart."""
    clean, forged = Log(), Log()
    for log in (clean, forged):
        initiative = log.submit(5)
        if log is clean:
            log.approve(initiative, actor="dana")
            log.cancel(initiative)
        else:
            log.add(initiative, "Initiative.Cancelled", reason="stop", amount_released=0,
                    actor="chris")
        write_bundle(tmp_path / f"{'clean' if log is clean else 'forged'}.jsonl",
                     rows=log.rows, checkpoints=[], source="test")
    assert check_decisions(lambda: clean.rows)[1] == []
    key = "00" * 32
    assert main(["--bundle", str(tmp_path / "clean.jsonl"), "--public-key", key]) == 0
    capsys.readouterr()
    assert main(["--bundle", str(tmp_path / "forged.jsonl"), "--public-key", key,
                 "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    errors = [(f["kind"], f["position"]) for f in report["findings"]
              if f["severity"] == "error"]
    assert errors == [("lifecycle_transition", forged.position)]


# --- the re-stated table against the domain's own guards ---------------------------------


def _commands() -> dict[str, Callable[[Initiative], None]]:
    """Each lifecycle event's command on the domain aggregate, with arguments it accepts."""
    actor, when = "test|chris", datetime(2027, 2, 1, tzinfo=UTC)
    return {
        "Initiative.Revised": lambda i: i.revise(changes={"title": "Other"}, reason="r",
                                                 actor=OWNER),
        "Initiative.Withdrawn": lambda i: i.withdraw(reason="", actor=OWNER),
        "Initiative.FirstApprovalRecorded": lambda i: i.record_first_approval(
            decision=a_record(), actor=actor),
        "Initiative.Approved": lambda i: i.approve(decision=a_record(), actor=actor),
        "Initiative.Rejected": lambda i: i.reject(
            decision=a_record(outcome=Outcome.REJECT), actor=actor),
        "Initiative.Deferred": lambda i: i.defer(decision=a_record(outcome=Outcome.DEFER),
                                                 actor=actor),
        "Initiative.Delivered": lambda i: i.deliver(delivered_on=date(2027, 1, 5), note="",
                                                    actor=OWNER),
        "Initiative.OutcomeRecorded": lambda i: i.record_outcome(
            metric="M1", observed_value=Decimal(30), observed_at=when, note="", actor=OWNER,
            now=when),
        "Initiative.Cancelled": lambda i: i.cancel(reason="stop", amount_released=Decimal(0),
                                                   actor=actor),
        "Initiative.TrancheApprovalRecorded": lambda i: i.record_tranche_approval(
            gate="G2", decision=a_record(), actor=actor),
        "Initiative.TrancheReleased": lambda i: i.release_tranche(
            gate="G2", decision=a_record(), actor=actor),
        "Initiative.SpendRecorded": lambda i: i.record_spend(
            amount=M, spent_on=date(2027, 1, 5), reference="", note="", actor=actor, now=when),
        "Initiative.Descoped": lambda i: i.descope(new_cost=M, reason="smaller", actor=actor),
    }


def _in(status: str) -> Initiative:
    """An initiative put in `status` directly, holding what every command needs (5 M
    committed, an unreleased gate G2)."""
    initiative = submitted(a_pool(), "I01")
    initiative.status = Status(status)
    initiative.committed_amount = 5 * M
    initiative.gates = [{"name": "G2", "amount": M, "released": False, "approvals": []}]
    return initiative


def _legal_in_domain(command: Callable[[Initiative], None]) -> tuple[set[str], dict[str, str]]:
    """The statuses the domain accepts the command in, and the status it leaves each in."""
    legal, after = set(), {}
    for status in Status:
        initiative = _in(status)
        try:
            command(initiative)
        except InvalidTransition:
            continue
        legal.add(str(status))
        after[str(status)] = str(initiative.status)
    return legal, after


@pytest.mark.parametrize("name", sorted(set(TRANSITIONS) - {"Initiative.CarriedOver"}))
def test_the_table_is_the_domains_lifecycle(name: str) -> None:
    """auditverify cannot import the domain; this test can: each event is legal in exactly
    the statuses the domain's command accepts, and leads where the command leads."""
    assert set(PATHS) == {str(s) for s in Status}
    allowed, leads_to = TRANSITIONS[name]
    legal, after = _legal_in_domain(_commands()[name])
    assert legal == allowed
    assert all(now == (leads_to or was) for was, now in after.items())


@pytest.mark.parametrize("closed", [False, True])
def test_the_carry_over_rule_is_the_domains(closed: bool) -> None:
    legal, after = _legal_in_domain(lambda i: i.carry_over(
        to_period="FY2028", period_closed=closed, code="I09", reason="r", actor="test|chris"))
    assert legal == (TRANSITIONS["Initiative.CarriedOver"][0] if closed else CARRIABLE_ANYTIME)
    assert set(after.values()) == {"carried_over"}
