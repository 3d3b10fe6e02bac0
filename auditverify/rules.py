"""Replay the log to re-derive every decision rule the service applied (domain/decisions.py).

An independent re-implementation, from the stored events only (JSON state; nothing of the
service is imported). One pass in position order; each disagreement is a finding named after
the rule, at the position of the event that breaks it:

- `segregation_of_duties`: the decision's actor is one of the initiative's authors (its
  submitter or a reviser, from the initiative's own earlier events);
- `four_eyes`: a final approval of a cost above the four-eyes threshold in force (the newest
  `ScoringPolicy.Adopted` before it) without an earlier first approval by someone else, or a
  second approval by the first approver;
- `pool_arithmetic`: replaying the pool's own events (opened, restated, funds committed and
  released, closed), committed - released exceeds the pool, an event's recorded
  `available_before`/`available_after` (or a release beyond what the initiative holds, a
  closing's committed total) differ from the replay (a release of part of a commitment, by a
  stop after spend or a descope, keeps the rest committed), a final approval has no
  commitment of its cost under its decision id, or a decision record's
  `available_before`/`available_after` differ from the replayed
  pool at the record's ranking position;
- `departure_flag`: `departure != (recommended != (outcome == "approve"))`, or a departure
  without a written rationale (comply or explain).

A tranche release (issue 14) is a decision with the approval's rules: never by an author, four
eyes judged on the tranche (above the threshold a first approval of that gate by someone else),
comply or explain, the tranche the approval named for the gate, committed once under the
release's decision id. A stop or a descope releases exactly what the domain does: a stop what
is committed and not spent (never below zero), a descope the commitment less the new cost
(spent <= new cost < commitment).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from auditverify.decisions import payload, uuid_key
from auditverify.model import Finding, Row

HUNDRED = Decimal(100)
DEFAULT_FOUR_EYES = Decimal(10_000_000)  # the published default when terms omit it
FINAL_APPROVAL = "Initiative.Approved"
DECIDING = {"Initiative.FirstApprovalRecorded": "approve", FINAL_APPROVAL: "approve",
            "Initiative.Rejected": "reject", "Initiative.Deferred": "defer"}
TRANCHE_APPROVAL, TRANCHE_RELEASE = ("Initiative.TrancheApprovalRecorded",
                                     "Initiative.TrancheReleased")


def _amount(value: Any) -> Decimal:
    """A stored amount as an exact Decimal (ValueError when it is not a number)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None


@dataclass
class _Pool:
    opex_total: Decimal
    cap_percent: Decimal
    committed: Decimal = Decimal(0)
    released: Decimal = Decimal(0)
    commitments: dict[str, Decimal] = field(default_factory=dict)  # initiative -> amount
    by_decision: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)  # after each change: position
    availability: list[Decimal] = field(default_factory=list)  # ... and what was available

    @property
    def amount(self) -> Decimal:
        return self.opex_total * self.cap_percent / HUNDRED

    @property
    def available(self) -> Decimal:
        return self.amount - (self.committed - self.released)

    def mark(self, position: int) -> None:
        self.positions.append(position)
        self.availability.append(self.available)

    def available_at(self, position: int) -> Decimal | None:
        """What was available once every event at or before `position` was applied."""
        index = bisect.bisect_right(self.positions, position)
        return self.availability[index - 1] if index else None


@dataclass
class _Initiative:
    cost: Decimal
    authors: set[str]
    status: str = "submitted"
    first_approver: str | None = None
    gates: list[Decimal] = field(default_factory=list)  # tranches approved, not yet committed
    gate_amounts: dict[str, Decimal] = field(default_factory=dict)  # every gate the approval named
    gate_approvers: dict[str, str] = field(default_factory=dict)  # a tranche's first approver
    released_gates: set[str] = field(default_factory=set)
    spent: Decimal = Decimal(0)
    released: Decimal | None = None  # what the pool just released to a stop or a descope


class RuleReplay:
    """Feed rows in position order; `findings` holds what disagrees with the rules."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.decisions = 0
        self._threshold = DEFAULT_FOUR_EYES
        self._pools: dict[str, _Pool] = {}
        self._pool_of: dict[str, str] = {}  # initiative -> pool
        self._initiatives: dict[str, _Initiative] = {}

    def _add(self, rule: str, position: int, detail: str) -> None:
        self.findings.append(Finding(rule, position, detail))

    @staticmethod
    def reads(name: str) -> bool:
        """Whether feed() reads an event of this name (its topic without `cxgov.`)."""
        return name.startswith(("FundingPool.", "Initiative.", "ScoringPolicy.Adopted"))

    def feed(self, row: Row) -> None:
        """Apply one position's event and check the rules it falls under."""
        event = row.event
        if event is None:
            return
        name = event.topic.removeprefix("cxgov.")
        if not self.reads(name):
            return
        try:
            data = payload(event.state)
            self._apply(row.position, name, uuid_key(event.originator_id), data)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            self._add("malformed_event", row.position,
                      f"{name} cannot be read for the decision rules: {type(exc).__name__} "
                      f"{exc}")

    # --- the fold ------------------------------------------------------------------------

    def _apply(self, p: int, name: str, originator: str, data: dict[str, Any]) -> None:
        if name == "ScoringPolicy.Adopted":
            terms = data["terms"]
            self._threshold = _amount(terms.get("four_eyes_threshold", DEFAULT_FOUR_EYES))
        elif name.startswith("FundingPool."):
            self._apply_pool(p, name, originator, data)
        elif name == "Initiative.Submitted":
            self._initiatives[originator] = _Initiative(
                cost=_amount(data["proposal"]["cost"]), authors={str(data["actor"])})
        elif name in DECIDING:
            self._decide(p, name, originator, data)
        elif name in (TRANCHE_APPROVAL, TRANCHE_RELEASE):
            self._tranche(p, name, originator, data)
        else:
            initiative = self._initiatives.get(originator)
            if initiative is None:
                return
            if name == "Initiative.Revised":
                initiative.authors.add(str(data["actor"]))
                if "cost" in data["changes"]:
                    initiative.cost = _amount(data["changes"]["cost"])
            elif name in ("Initiative.Withdrawn", "Initiative.Delivered",
                          "Initiative.Cancelled"):
                initiative.status = name.removeprefix("Initiative.").lower()
            elif name == "Initiative.CarriedOver":
                initiative.status = "carried_over"
            elif name == "Initiative.SpendRecorded":
                initiative.spent += _amount(data["amount"])
            if name in ("Initiative.Cancelled", "Initiative.Descoped"):
                self._check_release(p, name, originator, initiative, data)

    def _apply_pool(self, p: int, name: str, originator: str, data: dict[str, Any]) -> None:
        if name == "FundingPool.Opened":
            pool = self._pools[originator] = _Pool(_amount(data["opex_total"]),
                                                   _amount(data["cap_percent"]))
            pool.mark(p)
            return
        pool_or_none = self._pools.get(originator)
        if pool_or_none is None:
            self._add("pool_arithmetic", p, f"{name} for a pool that was never opened")
            return
        pool = pool_or_none
        if name == "FundingPool.InitiativeEnlisted":
            self._pool_of[uuid_key(data["initiative_id"])] = originator
            return
        if name == "FundingPool.OpexRestated":
            pool.opex_total = _amount(data["opex_total"])
        elif name == "FundingPool.FundsCommitted":
            initiative, amount = uuid_key(data["initiative_id"]), _amount(data["amount"])
            self._recorded(p, name, data, pool.available, pool.available - amount)
            gated = self._initiatives.get(initiative)
            if initiative in pool.commitments and gated is not None and amount in gated.gates:
                gated.gates.remove(amount)  # a gate's tranche, released (issue 14)
            elif initiative in pool.commitments:
                self._add("pool_arithmetic", p, "funds committed twice to one initiative")
            pool.committed += amount
            pool.commitments[initiative] = pool.commitments.get(initiative, Decimal(0)) + amount
            pool.by_decision[uuid_key(data["decision_id"])] = (initiative, amount)
        elif name == "FundingPool.FundsReleased":
            initiative, amount = uuid_key(data["initiative_id"]), _amount(data["amount"])
            self._recorded(p, name, data, pool.available, pool.available + amount)
            held = pool.commitments.pop(initiative, None)
            if held is None or not Decimal(0) < amount <= held:
                self._add("pool_arithmetic", p,
                          f"{amount} released where the replay holds {held} committed")
            elif amount < held:  # a stop after spend, a descope: the rest stays committed
                pool.commitments[initiative] = held - amount
            pool.released += amount
            if initiative in self._initiatives:
                self._initiatives[initiative].released = amount
        elif name == "FundingPool.Closed":
            net = pool.committed - pool.released
            if _amount(data["committed"]) != net:
                self._add("pool_arithmetic", p, f"the closing records {data['committed']} "
                          f"committed, the replay {net}")
        net = pool.committed - pool.released
        if net > pool.amount:
            self._add("pool_arithmetic", p,
                      f"committed - released = {net} exceeds the pool of {pool.amount}")
        pool.mark(p)

    def _recorded(self, p: int, name: str, data: dict[str, Any], before: Decimal,
                  after: Decimal) -> None:
        recorded = (_amount(data["available_before"]), _amount(data["available_after"]))
        if recorded != (before, after):
            self._add("pool_arithmetic", p,
                      f"{name} records available {recorded[0]} -> {recorded[1]}, the replayed "
                      f"pool {before} -> {after}")

    # --- decisions -----------------------------------------------------------------------

    def _decide(self, p: int, name: str, originator: str, data: dict[str, Any]) -> None:
        self.decisions += 1
        record, actor = data["decision"], str(data["actor"])
        initiative = self._initiatives.get(originator)
        if initiative is None:
            self._add("segregation_of_duties", p,
                      "a decision on an initiative the log never submitted")
            return
        if actor in initiative.authors:
            self._add("segregation_of_duties", p,
                      f"{actor} decided on an initiative they submitted or revised")
        self._check_departure(p, name, record)
        if name == FINAL_APPROVAL:
            self._check_four_eyes(p, initiative, actor)
            # an approval in tranches commits the first now; the gates' tranches later
            initiative.gates = [_amount(g["amount"]) for g in data.get("gates") or []]
            initiative.gate_amounts = {str(g["name"]): _amount(g["amount"])
                                       for g in data.get("gates") or []}
        self._check_availability(p, name, originator, initiative, record)
        if name == "Initiative.FirstApprovalRecorded":
            initiative.first_approver, initiative.status = actor, "pending_second_approval"
        elif name == "Initiative.Deferred":
            initiative.first_approver, initiative.status = None, "deferred"
        else:
            initiative.status = "approved" if name == FINAL_APPROVAL else "rejected"

    def _tranche(self, p: int, name: str, originator: str, data: dict[str, Any]) -> None:
        """A gate's tranche released, or its first approval (module docstring)."""
        self.decisions += 1
        record, actor, gate = data["decision"], str(data["actor"]), str(data["gate"])
        initiative = self._initiatives.get(originator)
        if initiative is None:
            self._add("segregation_of_duties", p,
                      "a tranche release of an initiative the log never submitted")
            return
        if actor in initiative.authors:
            self._add("segregation_of_duties", p,
                      f"{actor} released a tranche of an initiative they submitted or revised")
        self._check_departure(p, name, record)
        amount = initiative.gate_amounts.get(gate)
        if amount is None or gate in initiative.released_gates:
            self._add("pool_arithmetic", p, f"gate {gate!r} is not an unreleased gate of the "
                                            "approval")
            return
        first = initiative.gate_approvers.get(gate)
        if name == TRANCHE_APPROVAL:
            if first is not None:
                self._add("four_eyes", p, f"gate {gate!r} approved twice before its release")
            initiative.gate_approvers[gate] = actor
            self._check_availability(p, name, originator, initiative, record)
            return
        if first == actor:
            self._add("four_eyes", p, f"{actor} gave both approvals of the tranche {amount}")
        elif first is None and amount > self._threshold:
            self._add("four_eyes", p, f"a tranche of {amount}, above the four-eyes threshold "
                                      f"{self._threshold}, released by {actor} alone")
        if _amount(data["amount"]) != amount:
            self._add("pool_arithmetic", p, f"{data['amount']} released for gate {gate!r}, "
                                            f"whose tranche is {amount}")
        initiative.released_gates.add(gate)
        self._check_availability(p, name, originator, initiative, record, tranche=amount)

    def _check_release(self, p: int, name: str, originator: str, initiative: _Initiative,
                       data: dict[str, Any]) -> None:
        """A stop or a descope releases what the domain's arithmetic says (module docstring)."""
        released, initiative.released = initiative.released or Decimal(0), None
        pool = self._pools.get(self._pool_of.get(originator, ""))
        left = pool.commitments.get(originator, Decimal(0)) if pool else Decimal(0)
        held = left + released  # the commitment before the pool's release
        recorded = _amount(data["amount_released"])
        if name == "Initiative.Cancelled":
            expected = max(held - initiative.spent, Decimal(0))
        else:
            new_cost, previous = _amount(data["new_cost"]), _amount(data["previous_commitment"])
            expected = held - new_cost
            if previous != held or not initiative.spent <= new_cost < held:
                self._add("pool_arithmetic", p,
                          f"a descope from {previous} to {new_cost}: the replay holds {held} "
                          f"committed and {initiative.spent} spent")
        if not recorded == released == expected:
            self._add("pool_arithmetic", p,
                      f"{name.removeprefix('Initiative.')} records {recorded} released, the pool "
                      f"released {released}; {held} committed and {initiative.spent} spent "
                      f"release {expected}")

    def _check_departure(self, p: int, name: str, record: dict[str, Any]) -> None:
        outcome, recommended = record["outcome"], record["recommended"]
        departure, rationale = record["departure"], record.get("rationale") or ""
        if outcome != DECIDING.get(name, "approve"):
            self._add("departure_flag", p, f"a {name} event records the outcome {outcome!r}")
        if departure != (recommended != (outcome == "approve")):
            self._add("departure_flag", p,
                      f"departure is {departure} for outcome {outcome} with recommended "
                      f"{recommended}")
        if departure and not str(rationale).strip():
            self._add("departure_flag", p,
                      "a departure from the recommendation without a written rationale")

    def _check_four_eyes(self, p: int, initiative: _Initiative, actor: str) -> None:
        if initiative.status == "pending_second_approval":
            if initiative.first_approver == actor:
                self._add("four_eyes", p,
                          f"{actor} gave both approvals of a cost of {initiative.cost}")
        elif initiative.cost > self._threshold:
            self._add("four_eyes", p,
                      f"a cost of {initiative.cost}, above the four-eyes threshold "
                      f"{self._threshold}, approved by {actor} alone")

    def _check_availability(self, p: int, name: str, originator: str,
                            initiative: _Initiative, record: dict[str, Any],
                            tranche: Decimal | None = None) -> None:
        pool = self._pools.get(self._pool_of.get(originator, ""))
        if pool is None:
            self._add("pool_arithmetic", p, "a decision on an initiative enlisted in no pool")
            return
        before = pool.available_at(int(record["ranking_position"]))
        recorded = (_amount(record["available_before"]), _amount(record["available_after"]))
        if name != FINAL_APPROVAL and tranche is None:
            expected = (before, before)
        else:
            committed = pool.by_decision.get(uuid_key(record["decision_id"]))
            if committed is None or committed[0] != originator:
                self._add("pool_arithmetic", p,
                          "a final approval without funds committed under its decision id")
                return
            first = (tranche if tranche is not None
                     else initiative.cost - sum(initiative.gates, Decimal(0)))
            if committed[1] != first:
                self._add("pool_arithmetic", p, f"{committed[1]} committed for a cost of "
                          f"{initiative.cost}"
                          + (f" less {initiative.cost - first} at gates" if initiative.gates
                             else ""))
            expected = (before, None if before is None else before - committed[1])
        if recorded != expected:
            self._add("pool_arithmetic", p,
                      f"the decision records available {recorded[0]} -> {recorded[1]}, the "
                      f"replayed pool at its ranking position {expected[0]} -> {expected[1]}")


def check_decision_rules(rows: Iterable[Row]) -> tuple[int, list[Finding]]:
    """Replay `rows` (in position order); return the decisions seen and the broken rules."""
    replay = RuleReplay()
    for row in rows:
        replay.feed(row)
    return replay.decisions, replay.findings
