"""Re-deriving every decision of one large period (issue 18, item 5; decision 221):
`python -m ops.bench.audit --only decisions [--initiatives N] [--decisions D]`.

A history of one pool and one period: a metric, a policy, N initiatives (costs $0.1M-$9M,
random impact, 3% depending on an earlier one, 2% mandatory), then D decisions on random
undecided initiatives, as an executive takes them against the ranking then: recommended work
approved (its cost committed first) or deferred, the rest rejected or deferred, and 2% of
each departing from the recommendation with a rationale (approved outside it, rejected inside
it: the walk changes, so the replay ranks that period from scratch again). Each record
(rank, score, CIP, cut line, recommended, available) is the ranking then as the replay derives
it, so the history is clean: both replays below must find nothing.

Timed (CPU time of this process, `time.process_time`): `auditverify.replay.
check_decision_ranks` over the rows, with the pool's walk kept between decisions
(auditverify/walkcache.py) and from scratch at every decision (the reference: what the replay
did before decision 221), in the same run; ratio = from scratch / kept.
"""

from __future__ import annotations

import json
import random
import time
from decimal import Decimal
from typing import Any
from uuid import UUID

from auditverify.decisions import _History, payload
from auditverify.model import EventRow, Row
from auditverify.replay import check_decision_ranks

M = Decimal(1_000_000)


def _stored(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"_type_": "decimal_str", "_data_": str(value)}
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    return value


class _Period:
    """The history as rows, with the replay's own fold kept in step (for the records)."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.versions: dict[str, int] = {}
        self.history = _History()
        self.ids = 0

    def uid(self) -> str:
        self.ids += 1
        return str(UUID(int=self.ids))

    def add(self, originator: str, name: str, **data: Any) -> int:
        position = len(self.rows) + 1
        version = self.versions[originator] = self.versions.get(originator, 0) + 1
        state = json.dumps(_stored(data)).encode()
        self.rows.append(Row(position, EventRow(originator, version, f"cxgov.{name}", state),
                             None))
        self.history.apply(f"cxgov.{name}", originator, payload(state))
        return position


def history(initiatives: int, decisions: int, seed: int = 5, *, departures: float = 0.02,
            needs: float = 0.03, mandatory: float = 0.02) -> tuple[list[Row], int]:
    """The rows, and how many decisions they hold (`departures`: the share of decisions outside
    the recommendation, the walk's worst case; `needs`: of initiatives that depend on one)."""
    rnd = random.Random(seed)
    log = _Period()
    metric, policy, pool = log.uid(), log.uid(), log.uid()
    log.add(metric, "CustomerSuccessMetric.Defined", code="M1", baseline=Decimal(10),
            target=Decimal(90), actor="mia")
    log.add(policy, "ScoringPolicy.Adopted", policy_version=1, rationale="p", actor="chris",
            terms={"weights": {"M1": Decimal(1)}, "cost_unit": M,
                   "four_eyes_threshold": Decimal(1000) * M})
    total = Decimal(initiatives) * Decimal("1.5") * M  # a pool for about a third of the asks
    log.add(pool, "FundingPool.Opened", period="FY2027", currency="USD",
            opex_total=total * 10, cap_percent=Decimal(10), actor="fiona")
    ids: list[str] = []
    codes: list[str] = []
    for n in range(initiatives):
        initiative, code = log.uid(), f"I{n + 1:05d}"
        requires = [rnd.choice(codes)] if codes and rnd.random() < needs else []
        log.add(pool, "FundingPool.InitiativeEnlisted", initiative_id=initiative, code=code,
                actor="rob")
        log.add(initiative, "Initiative.Submitted", period="FY2027", code=code, kind="pnl",
                pnl="RB", actor="rob", proposal={
                    "cost": Decimal(rnd.randint(1, 90)) * M / 10,
                    "confidence": Decimal(rnd.randint(5, 10)) / 10,
                    "expected_impacts": [{"metric": "M1", "reach": Decimal(rnd.randint(1, 10)) / 10,
                                          "expected_value": Decimal(rnd.randint(11, 90))}],
                    "mandatory": rnd.random() < mandatory, "dependencies": requires})
        ids.append(initiative)
        codes.append(code)
    undecided = set(ids)
    made = 0
    while made < decisions and undecided:
        initiative = rnd.choice(sorted(undecided))
        target = log.history.initiatives[UUID(initiative).hex]
        ranking = log.history.ranking(initiative)
        assert ranking is not None
        entry = ranking.entry(target.code)
        assert entry is not None and ranking.available is not None
        roll = rnd.random()
        ready = all(d in ranking.funded for d in target.proposal["dependencies"])
        if entry.recommended and roll < departures:
            outcome = "reject"
        elif entry.recommended:
            outcome = "defer" if roll < 0.1 or not ready else "approve"
        elif roll < departures and entry.cost <= ranking.available and ready:
            outcome = "approve"
        else:
            outcome = "defer" if roll < 0.15 else "reject"
        if outcome == "defer" and target.status == "deferred":
            outcome = "reject"  # deferred once already: a second deferral is not a transition
        before = ranking.available
        record = {"decision_id": log.uid(), "outcome": outcome,
                  "rationale": "" if (outcome == "approve") == entry.recommended else "why",
                  "departure": (outcome == "approve") != entry.recommended,
                  "recommended": entry.recommended, "rank": entry.rank, "score": entry.score,
                  "cip": entry.cip, "policy_version": 1, "available_before": before,
                  "available_after": before - entry.cost if outcome == "approve" else before,
                  "ranking_position": len(log.rows), "cut_line_rank": ranking.cut_line_rank,
                  "approvals": ["chris"]}
        if outcome == "approve":
            log.add(pool, "FundingPool.FundsCommitted", initiative_id=initiative,
                    amount=entry.cost, decision_id=record["decision_id"],
                    available_before=before, available_after=before - entry.cost,
                    actor="chris")
            undecided.discard(initiative)
        elif outcome == "reject":
            undecided.discard(initiative)
        name = {"approve": "Approved", "reject": "Rejected", "defer": "Deferred"}[outcome]
        log.add(initiative, f"Initiative.{name}", decision=record, actor="chris")
        made += 1
    return log.rows, made


def bench_decisions(initiatives: int, decisions: int, *,
                    reference: bool = True) -> dict[str, Any]:
    """Time the decision replay over one period, kept walk against from scratch."""
    rows, made = history(initiatives, decisions)
    out: dict[str, Any] = {"row": "decisions_one_period", "initiatives": initiatives,
                           "decisions": made, "events": len(rows)}
    for name, incremental in (("kept_cpu_s", True), ("scratch_cpu_s", False)):
        if not incremental and not reference:
            continue
        start = time.process_time()
        checked, findings = check_decision_ranks(lambda: rows, incremental=incremental)
        out[name] = round(time.process_time() - start, 3)
        assert checked == made and not findings, (name, findings[:3])
    if reference:
        out["ratio"] = round(out["scratch_cpu_s"] / max(out["kept_cpu_s"], 1e-9), 1)
    return out
