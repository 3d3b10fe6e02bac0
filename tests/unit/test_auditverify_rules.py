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
from auditverify.replay import check_decisions
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
    """A chained history of cxgov events: a 100 M pool, a policy, initiatives, decisions.

    Initiatives claim no impact (score 0, ranked by cost) and are mandatory, so the
    recommendation funds each one that fits in rank order; a decision records what the test
    says (by default rank 1, the cut line at 1, recommended)."""

    def __init__(self, *, threshold_m: int = 10, pool_m: int = 100) -> None:
        self.rows: list[Row] = []
        self.versions: dict[str, int] = {}
        self.available = self.pool = Decimal(pool_m) * M
        self.cost: dict[str, Decimal] = {}
        self.add(POOL, "FundingPool.Opened", period="FY2027", currency="USD",
                 opex_total=Decimal(pool_m * 10) * M, cap_percent=Decimal(10), actor="fiona")
        self.adopt(threshold_m)

    def add(self, originator: str, name: str, /, **data: Any) -> int:
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

    def submit(self, cost_m: int, *, by: str = "rob", mandatory: bool = True,
               closes: int | None = None, needs: tuple[str, ...] = ()) -> str:
        """Enlist and submit an initiative costing `cost_m` millions (not mandatory: no
        value, so never recommended, unless it `closes` that many points of metric M1's gap,
        reach 1)."""
        initiative = str(uuid4())
        code = f"I{len(self.cost) + 1:02d}"
        self.cost[initiative] = Decimal(cost_m) * M
        self.add(POOL, "FundingPool.InitiativeEnlisted", initiative_id=initiative, code=code,
                 actor=by)
        self.add(initiative, "Initiative.Submitted", period="FY2027", code=code, kind="pnl",
                 pnl="RB", actor=by, proposal={"cost": self.cost[initiative],
                                               "confidence": Decimal("0.8"),
                                               "expected_impacts": [] if closes is None else [
                                                   {"metric": "M1", "reach": Decimal(1),
                                                    "expected_value": Decimal(closes)}],
                                               "mandatory": mandatory,
                                               "dependencies": list(needs)})
        return initiative

    def revise(self, initiative: str, *, by: str, cost_m: int | None = None) -> int:
        """Revise an initiative (its cost, when given)."""
        changes: dict[str, Any] = {}
        if cost_m is not None:
            changes["cost"] = self.cost[initiative] = Decimal(cost_m) * M
        return self.add(initiative, "Initiative.Revised", changes=changes, previous={},
                        reason="r", actor=by)

    def decide(self, initiative: str, name: str, *, actor: str, outcome: str = "approve",
               recommended: bool = True, rationale: str = "", commit: bool | Decimal = False,
               fields: dict[str, Any] | None = None, **record: Any) -> int:
        """A decision event (after the pool's commitment when `commit`: the cost, or this
        amount) with the event's other `fields`; return its position."""
        decision_id = str(uuid4())
        ranking_position = self.position
        before = self.available
        amount = self.cost[initiative] if commit is True else Decimal(commit)
        after = before - amount if commit else before
        if commit:
            self.add(POOL, "FundingPool.FundsCommitted", initiative_id=initiative,
                     amount=amount, decision_id=decision_id,
                     available_before=before, available_after=after, actor=actor)
            self.available = after
        decision = {
            "decision_id": decision_id, "outcome": outcome, "rationale": rationale,
            "departure": recommended != (outcome == "approve"), "recommended": recommended,
            "rank": 1, "score": Decimal(0), "cip": Decimal(0), "policy_version": 1,
            "available_before": before, "available_after": after,
            "ranking_position": ranking_position, "cut_line_rank": 1, "approvals": [actor],
        }
        decision.update(record)
        return self.add(initiative, name, decision=decision, actor=actor, **(fields or {}))

    def approve(self, initiative: str, *, actor: str, **record: Any) -> int:
        """A final approval, its funds committed first (as the service saves them)."""
        return self.decide(initiative, "Initiative.Approved", actor=actor, commit=True,
                           **record)

    def approve_in_tranches(self, initiative: str, first: Decimal, gates: dict[str, Decimal], *,
                            actor: str) -> int:
        """A final approval funding a first tranche now and naming the gates of the rest."""
        return self.decide(initiative, "Initiative.Approved", actor=actor, commit=first,
                           fields={"amount": first, "gates": [
                               {"name": k, "amount": v} for k, v in gates.items()]})

    def release_tranche(self, initiative: str, gate: str, amount: Decimal, *, actor: str,
                        first: str | None = None) -> int:
        """A gate's tranche released by `actor` (after `first`'s approval of it, if given)."""
        if first is not None:
            self.decide(initiative, "Initiative.TrancheApprovalRecorded", actor=first,
                        fields={"gate": gate})
        return self.decide(initiative, "Initiative.TrancheReleased", actor=actor, commit=amount,
                           fields={"gate": gate, "amount": amount})

    def first_approval(self, initiative: str, *, actor: str) -> int:
        """The first of two approvals above the threshold."""
        return self.decide(initiative, "Initiative.FirstApprovalRecorded", actor=actor)

    def cancel(self, initiative: str, *, actor: str = "chris",
               amount: Decimal | None = None) -> int:
        """Stop approved work and release `amount` (default: its cost) of its funds."""
        amount = self.cost[initiative] if amount is None else amount
        if amount:
            self.release(initiative, amount, actor=actor)
        return self.add(initiative, "Initiative.Cancelled", reason="stop",
                        amount_released=amount, actor=actor)

    def release(self, initiative: str, amount: Decimal, *, actor: str = "chris") -> int:
        """The pool releases `amount` of an initiative's commitment."""
        self.add(POOL, "FundingPool.FundsReleased", initiative_id=initiative, amount=amount,
                 reason="stop", available_before=self.available,
                 available_after=self.available + amount, actor=actor)
        self.available += amount
        return self.position

    def spend(self, initiative: str, amount: Decimal) -> int:
        """Money spent on approved work."""
        return self.add(initiative, "Initiative.SpendRecorded", amount=amount,
                        spent_on="2027-01-31", reference="", note="", actor="fiona")

    def descope(self, initiative: str, new_cost: Decimal, *, previous: Decimal,
                released: Decimal | None = None) -> int:
        """Cut a commitment from `previous` to `new_cost`; the pool releases the difference
        (or `released`)."""
        released = previous - new_cost if released is None else released
        self.release(initiative, released)
        return self.add(initiative, "Initiative.Descoped", new_cost=new_cost,
                        previous_commitment=previous, amount_released=released, reason="r",
                        actor="chris")

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


def test_tranches_follow_the_approval_rules_judged_on_the_tranche() -> None:
    """Issue 14's tranche releases: four eyes on the tranche, never by an author, the tranche
    the approval named, once."""
    log = Log()
    big = log.submit(30)
    log.first_approval(big, actor="chris")
    log.approve_in_tranches(big, Decimal(8) * M, {"G2": Decimal(12) * M, "G3": Decimal(10) * M},
                            actor="dana")
    log.release_tranche(big, "G2", Decimal(12) * M, actor="dana", first="chris")
    log.release_tranche(big, "G3", Decimal(10) * M, actor="chris")  # at the threshold: alone
    assert log.findings() == []
    forged = Log()
    big = forged.submit(30)
    forged.first_approval(big, actor="chris")
    forged.approve_in_tranches(big, Decimal(8) * M,
                               {"G2": Decimal(12) * M, "G3": Decimal(10) * M}, actor="dana")
    alone = forged.release_tranche(big, "G2", Decimal(12) * M, actor="dana")
    twice = forged.release_tranche(big, "G2", Decimal(12) * M, actor="chris", first="dana")
    author = forged.release_tranche(big, "G3", Decimal(10) * M, actor="rob")
    # the second release of G2: its first approval, the pool's commitment, the release
    assert forged.findings() == [("four_eyes", alone), ("pool_arithmetic", twice - 2),
                                 ("pool_arithmetic", twice - 1), ("pool_arithmetic", twice),
                                 ("segregation_of_duties", author)]


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


def test_a_descope_and_a_stop_after_spend_release_what_the_domain_releases() -> None:
    """A descope releases the commitment less the new cost; a stop after spend releases what
    is committed and not spent, the rest stays committed (issue 14)."""
    log = Log()
    initiative = log.submit(5)
    log.approve(initiative, actor="chris")
    log.descope(initiative, Decimal(4) * M, previous=Decimal(5) * M)  # releases 1 M
    log.spend(initiative, Decimal(1) * M)
    log.cancel(initiative, amount=Decimal(3) * M)  # 4 committed, 1 spent: 3 released
    assert log.findings() == []
    released = log.release(initiative, Decimal(1))  # 1 M stays committed (spent)
    assert log.findings() == []
    beyond = log.release(initiative, Decimal(1) * M)  # only 1 M - 1 is left
    assert log.findings() == [("pool_arithmetic", beyond)]
    assert released < beyond


def test_a_stop_that_releases_the_spent_part_too_is_found() -> None:
    log = Log()
    initiative = log.submit(5)
    log.approve(initiative, actor="chris")
    log.spend(initiative, Decimal(2) * M)
    stopped = log.cancel(initiative)  # all 5 M back, though 2 M were spent
    assert log.findings() == [("pool_arithmetic", stopped)]
    assert "5000000 committed and 2000000 spent release 3000000" in log.report()[0].detail


def test_a_descope_that_releases_more_than_the_difference_is_found() -> None:
    log = Log()
    initiative = log.submit(5)
    log.approve(initiative, actor="chris")
    wrong = log.descope(initiative, Decimal(4) * M, previous=Decimal(5) * M,
                        released=Decimal(2) * M)
    below_spend = log.descope(initiative, Decimal(1) * M, previous=Decimal(3) * M)
    assert log.findings() == [("pool_arithmetic", wrong)]
    log.spend(initiative, Decimal(2) * M)
    log.descope(initiative, Decimal(1) * M, previous=Decimal(1) * M, released=Decimal(0))
    assert ("pool_arithmetic", log.position) in log.findings()
    assert below_spend < log.position


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


# --- the ranking then (auditverify/decisions.py, cutline.py, rankcheck.py) ----------------


def ranked(log: Log) -> list[tuple[str, int | None, str]]:
    """(kind, position, severity) of what the ranking replay and the rules report."""
    _, found = check_decisions(lambda: log.rows)
    return [(f.kind, f.position, f.severity) for f in found]


def test_a_forged_cut_line_is_found() -> None:
    log = Log()
    a = log.submit(3)
    log.submit(4)
    wrong = log.approve(a, actor="dana", cut_line_rank=1)  # the walk funds both: rank 2
    assert ranked(log) == [("cut_line", wrong, "error")]


def test_the_guarded_cut_line_is_re_derived_and_the_plain_walk_is_an_info_note() -> None:
    """Under a guardrail (RB at most 30% of the 100 M pool) the walk funds I01 and stops
    there; a record of the plain walk (decided before the service enforced guardrails) is a
    note; a cut line neither walk gives is a finding."""
    log = Log()
    log.add(str(uuid4()), "CustomerSuccessMetric.Defined", code="M1", baseline=Decimal(0),
            target=Decimal(100))
    log.add(POLICY, "ScoringPolicy.Adopted", policy_version=2, rationale="g", actor="chris",
            terms={"weights": {"M1": 100}, "cost_unit": M, "four_eyes_threshold": 50 * M,
                   "guardrails": [{"dimension": "pnl", "value": "RB",
                                   "max_share": Decimal("0.3")}]})
    a = log.submit(20, mandatory=False, closes=50)  # CIP 0.8 x 100 x 0.5 = 40, score 2
    b = log.submit(20, mandatory=False, closes=50)
    scored = {"score": Decimal(2), "cip": Decimal(40), "policy_version": 2}
    log.approve(a, actor="dana", rank=1, cut_line_rank=1, **scored)  # guarded: b passes 30 M
    plain = log.decide(b, "Initiative.Rejected", actor="dana", outcome="reject",
                       rationale="x", rank=2, cut_line_rank=2, **scored)  # plain walk: both
    assert ranked(log) == [("not_rederived", plain, "info")]
    c = log.submit(5, mandatory=False, closes=50)  # score 8: rank 1, fits the guardrail
    wrong = log.decide(c, "Initiative.Deferred", actor="dana", outcome="defer", rationale="w",
                       cut_line_rank=5, score=Decimal(8), cip=Decimal(40), policy_version=2)
    assert ranked(log) == [("not_rederived", plain, "info"), ("cut_line", wrong, "error")]


def test_a_record_against_a_plan_of_record_is_judged_against_the_plan() -> None:
    log = Log()
    a, b = log.submit(3), log.submit(4)
    plan = str(uuid4())
    log.add(plan, "PlanOfRecord.Started", period="FY2027", actor="chris")
    log.add(plan, "PlanOfRecord.Adopted", **{"plan_id": "p", "name": "lean", "codes": ["I02"],
                                             "rationale": "r", "replaces": None,
                                             "actor": "chris"})
    # the plan funds I02 only: approving I01 departs from it (explained), I02 complies
    log.approve(a, actor="dana", cut_line_rank=2, recommended=False, rationale="x",
                plan="lean")
    unnamed = log.approve(b, actor="dana", rank=2, cut_line_rank=2)
    assert ranked(log) == [("recommended_flag", unnamed, "error")]
    assert "names plan of record None" in check_decisions(lambda: log.rows)[1][0].detail


def test_a_forged_score_or_rank_is_found() -> None:
    log = Log()
    a = log.submit(3)
    log.submit(2)
    forged = log.approve(a, actor="dana", rank=1, score=Decimal(5), cut_line_rank=2)
    assert ranked(log) == [("decision_rank_mismatch", forged, "error"),
                           ("decision_score_mismatch", forged, "error")]


def test_an_approval_before_its_dependency_is_funded_is_found() -> None:
    log = Log()
    first = log.submit(3)
    second = log.submit(4, needs=("I01",))
    early = log.approve(second, actor="dana", rank=2, cut_line_rank=2)
    log.approve(first, actor="dana", rank=1, cut_line_rank=2)
    third = log.submit(5, needs=("I01",))
    log.approve(third, actor="chris", rank=3, cut_line_rank=3)  # I01 is funded by now
    assert ranked(log) == [("dependency_not_funded", early, "error")]
