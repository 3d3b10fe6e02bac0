"""Replay the log to confirm the rank each decision recorded.

An independent re-implementation of the published scoring model (DOMAIN.md §4.2): it reads the
stored event payloads (JSON) and imports nothing from the application, so an auditor can trust
it separately. Two passes: the first collects the log position each decision was ranked at,
the second folds the history and ranks the period at exactly those positions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from auditverify.model import Finding, Row

DECISIONS = ("Initiative.FirstApprovalRecorded", "Initiative.Approved", "Initiative.Rejected",
             "Initiative.Deferred")
STATUS = {
    "Initiative.Withdrawn": "withdrawn",
    "Initiative.FirstApprovalRecorded": "pending_second_approval",
    "Initiative.Approved": "approved",
    "Initiative.Rejected": "rejected",
    "Initiative.Deferred": "deferred",
    "Initiative.Delivered": "delivered",
    "Initiative.Cancelled": "cancelled",
    "Initiative.CarriedOver": "carried_over",  # out of contention: its successor competes
}
FOLDED = {"CustomerSuccessMetric.Defined", "CustomerSuccessMetric.Retargeted",
          "ScoringPolicy.Adopted", "FundingPool.InitiativeEnlisted", "Initiative.Submitted",
          "Initiative.Revised", *STATUS}
IN_CONTENTION = {"submitted", "deferred", "pending_second_approval", "approved", "delivered"}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            kind, data = value["_type_"], value["_data_"]
            if kind == "decimal_str":
                return Decimal(data)
            return _decode(data)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def uuid_key(value: str) -> str:
    """One spelling for ids stored as hex or in canonical form."""
    try:
        return UUID(str(value)).hex
    except ValueError:
        return str(value)


def payload(state: bytes) -> dict[str, Any]:
    """An event's stored JSON, with decimals exact and value objects as plain dicts."""
    decoded = _decode(json.loads(state))
    return decoded if isinstance(decoded, dict) else {}


@dataclass
class _Initiative:
    period_pool: str
    code: str
    proposal: dict[str, Any]
    seq: int
    status: str = "submitted"


@dataclass
class _History:
    metrics: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    metric_codes: dict[str, str] = field(default_factory=dict)
    terms: dict[str, Any] | None = None
    enlisted: dict[str, list[str]] = field(default_factory=dict)  # pool id -> initiative ids
    initiatives: dict[str, _Initiative] = field(default_factory=dict)

    def apply(self, topic: str, originator: str, data: dict[str, Any]) -> None:
        name = topic.removeprefix("cxgov.")
        originator = uuid_key(originator)
        if name == "CustomerSuccessMetric.Defined":
            self.metric_codes[originator] = data["code"]
            self.metrics[data["code"]] = (data["baseline"], data["target"])
        elif name == "CustomerSuccessMetric.Retargeted":
            self.metrics[self.metric_codes[originator]] = (data["baseline"], data["target"])
        elif name == "ScoringPolicy.Adopted":
            self.terms = data["terms"]
        elif name == "FundingPool.InitiativeEnlisted":
            self.enlisted.setdefault(originator, []).append(uuid_key(data["initiative_id"]))
        elif name == "Initiative.Submitted":
            pool = next((p for p, ids in self.enlisted.items() if originator in ids), "")
            seq = self.enlisted.get(pool, []).index(originator) + 1 if pool else 0
            self.initiatives[originator] = _Initiative(pool, data["code"], data["proposal"], seq)
        elif name == "Initiative.Revised":
            self.initiatives[originator].proposal.update(data["changes"])
        elif name in STATUS:
            self.initiatives[originator].status = STATUS[name]

    def score(self, proposal: dict[str, Any]) -> Decimal:
        """CIP per cost unit, exactly as the published model defines it."""
        terms = self.terms or {}
        cap = terms.get("gap_cap", Decimal(1))
        total = Decimal(0)
        for claim in proposal.get("expected_impacts", []):
            metric = self.metrics.get(claim["metric"])
            if metric is None:
                continue
            baseline, target = metric
            if target == baseline:
                continue
            g = (claim["expected_value"] - baseline) / (target - baseline)
            if g < 0 and not terms.get("include_disbenefits", False):
                g = Decimal(0)
            weight = Decimal(terms.get("weights", {}).get(claim["metric"], 0))
            total += weight * claim["reach"] * min(g, cap)
        cip: Decimal = proposal["confidence"] * total
        unit: Decimal = terms.get("cost_unit", Decimal(1_000_000))
        cost: Decimal = proposal["cost"]
        return cip / (cost / unit)

    def rank_of(self, initiative_id: str) -> int | None:
        """The initiative's rank among its period's initiatives in contention."""
        target = self.initiatives.get(uuid_key(initiative_id))
        if target is None or self.terms is None:
            return None
        tie_break = self.terms.get("tie_break", ["cost", "submitted"])
        peers = [i for i in self.initiatives.values()
                 if i.period_pool == target.period_pool and i.status in IN_CONTENTION]

        def key(i: _Initiative) -> tuple[Decimal | int, ...]:
            parts: list[Decimal | int] = [-self.score(i.proposal)]
            parts += [i.proposal["cost"] if rule == "cost" else i.seq for rule in tie_break]
            return (*parts, i.seq)

        ordered = sorted(peers, key=key)
        return next((n for n, i in enumerate(ordered, 1) if i is target), None)


def check_decision_ranks(rows: Callable[[], Iterable[Row]]) -> tuple[int, list[Finding]]:
    """Return how many decisions were checked and a finding for each whose rank differs."""
    wanted: dict[int, list[tuple[int, str, int]]] = {}
    findings: list[Finding] = []
    for row in rows():
        event = row.event
        if event is not None and event.topic.removeprefix("cxgov.") in DECISIONS:
            try:
                decision = payload(event.state)["decision"]
                at = int(decision["ranking_position"])
                rank = int(decision["rank"])
            except READ_ERRORS as exc:
                findings.append(_unreadable(row.position, event.topic, exc))
                continue
            wanted.setdefault(at, []).append((row.position, event.originator_id, rank))
    history = _History()
    checked = 0
    pending = sorted(wanted)

    def settle(upto: int) -> None:
        nonlocal checked
        while pending and pending[0] <= upto:
            for position, initiative_id, recorded in wanted[pending.pop(0)]:
                checked += 1
                try:
                    replayed = history.rank_of(initiative_id)
                except READ_ERRORS as exc:
                    findings.append(Finding(
                        "decision_rank_mismatch", position,
                        f"the decision's rank cannot be replayed from the log "
                        f"({type(exc).__name__}: {exc}): an event it rests on is unreadable"))
                    continue
                if replayed != recorded:
                    findings.append(Finding(
                        "decision_rank_mismatch", position,
                        f"the decision recorded rank {recorded}, but replaying the log to its "
                        f"ranking position gives {replayed}"))

    if not wanted:
        return 0, findings
    for row in rows():
        settle(row.position - 1)
        event = row.event
        if event is not None and event.topic.removeprefix("cxgov.") in FOLDED:
            try:
                history.apply(event.topic, event.originator_id, payload(event.state))
            except READ_ERRORS as exc:
                findings.append(_unreadable(row.position, event.topic, exc))
    settle(2**63)
    return checked, findings


#: What reading a tampered event's JSON can raise; each becomes a finding at its position.
READ_ERRORS = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, IndexError)


def _unreadable(position: int, topic: str, exc: Exception) -> Finding:
    return Finding("malformed_event", position,
                   f"{topic.removeprefix('cxgov.')} cannot be read to replay the ranking: "
                   f"{type(exc).__name__} {exc}")
