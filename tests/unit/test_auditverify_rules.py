"""The verifier re-derives each decision's rules from event rows built here, without the service:
segregation of duties, four eyes, pool arithmetic and the departure flag (auditverify/rules.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from auditverify.bundle import write_bundle
from auditverify.cli import main
from auditverify.encoding import GENESIS, entry_hash
from auditverify.model import ChainRow, EventRow, Finding, Row
from auditverify.rules import check_decision_rules

M = Decimal(1_000_000)
T0 = 1_800_000_000_000_000
POOL = str(uuid4())
POLICY = str(uuid4())


def stored(value: Any) -> Any:
    """A value in the service's stored JSON encoding (decimals as decimal_str)."""
    if isinstance(value, Decimal):
        return {"_type_": "decimal_str", "_data_": str(value)}
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stored(v) for v in value]
    return value


class Log:
    """A chained history of cxgov events: a 100 M pool, a policy, initiatives, decisions."""

    def __init__(self, *, threshold_m: int = 10, pool_m: int = 100) -> None:
        self.rows: list[Row] = []
        self.versions: dict[str, int] = {}
        self.available = self.pool = Decimal(pool_m) * M
        self.cost: dict[str, Decimal] = {}
        self.add(POOL, "FundingPool.Opened", period="FY2027", currency="USD",
                 opex_total=Decimal(pool_m * 10) * M, cap_percent=Decimal(10), actor="fiona")
        self.adopt(threshold_m)

    def add(self, originator: str, name: str, **data: Any) -> int:
        """Append one chained event; return its position."""
        position = len(self.rows) + 1
        version = self.versions[originator] = self.versions.get(originator, 0) + 1
        event = EventRow(originator, version, f"cxgov.{name}",
                         json.dumps(stored(data)).encode())
        prev = self.rows[-1].chain if self.rows else None
        prev_hash = prev.entry_hash if prev else GENESIS
        digest = entry_hash(prev_hash=prev_hash, prev_position=position - 1, position=position,
                            originator_id=originator, originator_version=version,
                            topic=event.topic, state=event.state, recorded_at_us=T0 + position)
        self.rows.append(Row(position, event,
                             ChainRow(position - 1, prev_hash, digest, T0 + position)))
        return position

    @property
    def position(self) -> int:
        """The newest position."""
        return len(self.rows)

    def adopt(self, threshold_m: int) -> int:
        """Adopt a policy whose four-eyes threshold is `threshold_m` millions."""
        return self.add(POLICY, "ScoringPolicy.Adopted", policy_version=1, rationale="p",
                        actor="chris", terms={"weights": {}, "cost_unit": M,
                                              "four_eyes_threshold": Decimal(threshold_m) * M})

    def submit(self, cost_m: int, *, by: str = "rob") -> str:
        """Enlist and submit an initiative costing `cost_m` millions."""
        initiative = str(uuid4())
        code = f"I{len(self.cost) + 1:02d}"
        self.cost[initiative] = Decimal(cost_m) * M
        self.add(POOL, "FundingPool.InitiativeEnlisted", initiative_id=initiative, code=code,
                 actor=by)
        self.add(initiative, "Initiative.Submitted", period="FY2027", code=code, kind="pnl",
                 pnl="RB", actor=by, proposal={"cost": self.cost[initiative],
                                               "confidence": Decimal("0.8"),
                                               "expected_impacts": []})
        return initiative

    def revise(self, initiative: str, *, by: str, cost_m: int | None = None) -> int:
        """Revise an initiative (its cost, when given)."""
        changes: dict[str, Any] = {}
        if cost_m is not None:
            changes["cost"] = self.cost[initiative] = Decimal(cost_m) * M
        return self.add(initiative, "Initiative.Revised", changes=changes, previous={},
                        reason="r", actor=by)

    def decide(self, initiative: str, name: str, *, actor: str, outcome: str = "approve",
               recommended: bool = True, rationale: str = "", commit: bool = False,
               **record: Any) -> int:
        """A decision event (after the pool's commitment when `commit`); return its position."""
        decision_id = str(uuid4())
        ranking_position = self.position
        before = self.available
        after = before - self.cost[initiative] if commit else before
        if commit:
            self.add(POOL, "FundingPool.FundsCommitted", initiative_id=initiative,
                     amount=self.cost[initiative], decision_id=decision_id,
                     available_before=before, available_after=after, actor=actor)
            self.available = after
        fields = {
            "decision_id": decision_id, "outcome": outcome, "rationale": rationale,
            "departure": recommended != (outcome == "approve"), "recommended": recommended,
            "rank": 1, "score": Decimal(0), "cip": Decimal(0), "policy_version": 1,
            "available_before": before, "available_after": after,
            "ranking_position": ranking_position, "cut_line_rank": 1, "approvals": [actor],
        }
        fields.update(record)
        return self.add(initiative, name, decision=fields, actor=actor)

    def approve(self, initiative: str, *, actor: str, **record: Any) -> int:
        """A final approval, its funds committed first (as the service saves them)."""
        return self.decide(initiative, "Initiative.Approved", actor=actor, commit=True,
                           **record)

    def first_approval(self, initiative: str, *, actor: str) -> int:
        """The first of two approvals above the threshold."""
        return self.decide(initiative, "Initiative.FirstApprovalRecorded", actor=actor)

    def cancel(self, initiative: str, *, actor: str = "chris") -> int:
        """Cancel approved work and release its funds."""
        amount = self.cost[initiative]
        self.add(POOL, "FundingPool.FundsReleased", initiative_id=initiative, amount=amount,
                 reason="stop", available_before=self.available,
                 available_after=self.available + amount, actor=actor)
        self.available += amount
        return self.add(initiative, "Initiative.Cancelled", reason="stop",
                        amount_released=amount, actor=actor)

    def restate(self, pool_m: int) -> int:
        """Restate OpEx so that the pool becomes `pool_m` millions."""
        self.available += Decimal(pool_m) * M - self.pool
        self.pool = Decimal(pool_m) * M
        return self.add(POOL, "FundingPool.OpexRestated", opex_total=Decimal(pool_m * 10) * M,
                        previous_opex_total=Decimal(0), reason="r", actor="fiona")

    def findings(self) -> list[tuple[str, int | None]]:
        """(rule, position) of every finding the replay reports."""
        return [(f.kind, f.position) for f in self.report()]

    def report(self) -> list[Finding]:
        """The replay's findings."""
        return check_decision_rules(self.rows)[1]


# --- four eyes ---------------------------------------------------------------------------


def test_a_clean_history_with_two_approvers_above_the_threshold_breaks_no_rule() -> None:
    log = Log()
    big, small = log.submit(18), log.submit(10)
    log.first_approval(big, actor="chris")
    log.approve(big, actor="dana", approvals=["chris", "dana"])
    log.approve(small, actor="chris")  # at the threshold: one approver suffices
    log.cancel(small)
    log.restate(80)
    log.decide(log.submit(3), "Initiative.Deferred", actor="dana", outcome="defer",
               rationale="later", recommended=True)
    assert log.findings() == []
    assert check_decision_rules(log.rows)[0] == 4


def test_an_approval_above_the_threshold_with_one_approver_is_a_four_eyes_finding() -> None:
    log = Log()
    forged = log.approve(log.submit(18), actor="chris")
    assert log.findings() == [("four_eyes", forged)]
    assert "above the four-eyes threshold 10000000" in log.report()[0].detail


def test_the_second_approval_by_the_first_approver_is_a_four_eyes_finding() -> None:
    log = Log()
    big = log.submit(18)
    log.first_approval(big, actor="chris")
    second = log.approve(big, actor="chris")
    assert log.findings() == [("four_eyes", second)]


def test_a_deferral_clears_the_first_approval() -> None:
    log = Log()
    big = log.submit(18)
    log.first_approval(big, actor="chris")
    log.decide(big, "Initiative.Deferred", actor="dana", outcome="defer", rationale="wait")
    final = log.approve(big, actor="dana")
    assert log.findings() == [("four_eyes", final)]


def test_the_threshold_is_the_policys_in_force_at_the_decision() -> None:
    log = Log(threshold_m=20)
    allowed = log.approve(log.submit(18), actor="chris")
    log.adopt(15)
    flagged = log.approve(log.submit(18), actor="chris")
    assert allowed < flagged
    assert log.findings() == [("four_eyes", flagged)]


# --- segregation of duties ---------------------------------------------------------------


@pytest.mark.parametrize("author", ["submitter", "reviser"])
def test_an_author_who_decides_is_a_segregation_of_duties_finding(author: str) -> None:
    log = Log()
    initiative = log.submit(5, by="rob")
    if author == "reviser":
        log.revise(initiative, by="chris", cost_m=6)
    decided = log.approve(initiative, actor="rob" if author == "submitter" else "chris")
    assert log.findings() == [("segregation_of_duties", decided)]


# --- pool arithmetic ----------------------------------------------------------------------


def test_a_commitment_beyond_the_pool_is_a_pool_arithmetic_finding() -> None:
    log = Log(pool_m=20, threshold_m=50)
    log.approve(log.submit(8), actor="chris")
    second = log.submit(15)
    decided = log.approve(second, actor="dana")
    overdrawn = decided - 1  # the FundsCommitted event
    assert ("pool_arithmetic", overdrawn) in log.findings()
    assert {rule for rule, _ in log.findings()} == {"pool_arithmetic"}


def test_a_decision_record_disagreeing_with_the_replayed_pool_is_found() -> None:
    log = Log()
    log.approve(log.submit(8), actor="chris")
    wrong = log.decide(log.submit(3), "Initiative.Rejected", actor="dana", outcome="reject",
                       rationale="no", available_before=Decimal(100) * M,
                       available_after=Decimal(100) * M)
    assert log.findings() == [("pool_arithmetic", wrong)]


def test_a_final_approval_without_its_commitment_is_found() -> None:
    log = Log()
    initiative = log.submit(5)
    uncommitted = log.decide(initiative, "Initiative.Approved", actor="chris",
                             available_after=Decimal(95) * M)
    assert log.findings() == [("pool_arithmetic", uncommitted)]


def test_a_restatement_below_what_is_committed_is_found() -> None:
    log = Log()
    log.approve(log.submit(8), actor="chris")
    log.approve(log.submit(7), actor="dana")
    below = log.restate(10)
    assert log.findings() == [("pool_arithmetic", below)]


def test_a_release_of_more_than_was_committed_is_found() -> None:
    log = Log()
    initiative = log.submit(5)
    log.approve(initiative, actor="chris")
    log.cost[initiative] = Decimal(9) * M
    released = log.cancel(initiative) - 1
    assert log.findings() == [("pool_arithmetic", released)]


def test_a_partial_release_keeps_the_rest_committed_and_breaks_no_rule() -> None:
    """A stop after spend or a descope releases part of a commitment (issue 14)."""
    log = Log()
    initiative = log.submit(5)
    log.approve(initiative, actor="chris")
    log.cost[initiative] = Decimal(3) * M  # released: 3 of the 5 committed
    log.cancel(initiative)
    log.cost[initiative] = Decimal(2) * M  # the rest, later: still no finding
    log.cancel(initiative)
    assert log.findings() == []
    log.cost[initiative] = Decimal(1)  # nothing is committed any more
    released = log.cancel(initiative) - 1
    assert log.findings() == [("pool_arithmetic", released)]


# --- departure flag ------------------------------------------------------------------------


def test_a_wrong_departure_flag_is_found() -> None:
    log = Log()
    wrong = log.decide(log.submit(3), "Initiative.Rejected", actor="dana", outcome="reject",
                       rationale="no", departure=False)
    assert log.findings() == [("departure_flag", wrong)]


def test_a_departure_without_a_rationale_is_found() -> None:
    log = Log()
    unexplained = log.decide(log.submit(3), "Initiative.Deferred", actor="dana",
                             outcome="defer", rationale="  ")
    explained = log.approve(log.submit(4), actor="chris", recommended=False,
                            rationale="strategic")
    assert log.findings() == [("departure_flag", unexplained)]
    assert explained > unexplained


def test_an_unreadable_decision_is_a_finding_with_its_position() -> None:
    log = Log()
    initiative = log.submit(3)
    broken = log.add(initiative, "Initiative.Rejected", actor="dana", decision={"oops": 1})
    assert log.findings() == [("malformed_event", broken)]


# --- the command line -------------------------------------------------------------------


def test_the_cli_fails_a_bundle_with_a_one_approver_approval_above_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    clean, forged = Log(), Log()
    for log in (clean, forged):
        big = log.submit(18)
        if log is clean:
            log.first_approval(big, actor="chris")
        log.approve(big, actor="dana")
    for name, log in (("clean", clean), ("forged", forged)):
        write_bundle(tmp_path / f"{name}.jsonl", rows=log.rows, checkpoints=[], source="test")
    key = "00" * 32
    assert main(["--bundle", str(tmp_path / "clean.jsonl"), "--public-key", key]) == 0
    capsys.readouterr()
    assert main(["--bundle", str(tmp_path / "forged.jsonl"), "--public-key", key,
                 "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    errors = [(f["kind"], f["position"]) for f in report["findings"]
              if f["severity"] == "error"]
    assert errors == [("four_eyes", forged.position)]
    assert report["first_bad_position"] == forged.position
    assert report["decisions_checked"] == 1
