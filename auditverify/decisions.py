"""Replay the log to re-derive the ranking each decision was taken against.

An independent re-implementation of the published scoring model (DOMAIN.md §4.2) and of the
recommendation's greedy cut line (auditverify/cutline.py): it reads the stored event payloads
(JSON) and imports nothing from the application, so an auditor can trust it separately. The
history here is folded (metrics, policy, pools, plans of record, initiatives) and ranked at
each decision's ranking position by auditverify/replay.py's RankReplay: "the ranking then".
Each decision's recorded rank, score and CIP, cut line, `recommended` flag (the plan of
record's, when the period has one) and policy version are compared with the replay, and comply
or explain is judged against the re-derived recommendation. A tranche release is ranked as the
service ranks it: the initiative as if undecided and asking for the tranche.

A period's ranking and walk are kept between its decisions while the events provably leave them
as they were (auditverify/walkcache.py, decision 221); otherwise it is ranked from scratch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from auditverify.cutline import Item, Limit, cut_line_rank, greedy_funded, guarded_funded
from auditverify.walkcache import Walk, build

DECISIONS = ("Initiative.FirstApprovalRecorded", "Initiative.Approved", "Initiative.Rejected",
             "Initiative.Deferred", "Initiative.TrancheApprovalRecorded",
             "Initiative.TrancheReleased")
TRANCHES = ("Initiative.TrancheApprovalRecorded", "Initiative.TrancheReleased")
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
          "ScoringPolicy.Adopted", "FundingPool.Opened", "FundingPool.OpexRestated",
          "FundingPool.FundsCommitted", "FundingPool.FundsReleased",
          "FundingPool.InitiativeEnlisted", "Initiative.Submitted", "Initiative.Revised",
          "PlanOfRecord.Started", "PlanOfRecord.Adopted", *STATUS}
UNDECIDED = {"submitted", "deferred", "pending_second_approval"}
FUNDED = {"approved", "delivered"}
IN_CONTENTION = UNDECIDED | FUNDED


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
    period: str
    code: str
    proposal: dict[str, Any]
    seq: int
    kind: str = "pnl"
    pnl: str | None = None
    status: str = "submitted"
    gates: dict[str, Decimal] = field(default_factory=dict)  # gate name -> tranche
    scored: tuple[int, Decimal, Decimal] | None = None  # (scoring epoch, CIP, score)


@dataclass(frozen=True)
class Entry:
    """One initiative's place in the ranking then."""

    code: str
    rank: int
    cip: Decimal
    score: Decimal
    cost: Decimal
    status: str
    funded: bool
    recommended: bool


@dataclass(frozen=True)
class Ranking:
    """A period's ranking at a log position, with the greedy cut line (the guarded one under
    a policy with guardrails: then `unguarded` holds the plain walk's cut line and codes, as
    the service judged before it enforced guardrails) and the plan of record, if any.

    Entries are looked up by code (`entry`; the first in rank order when codes repeat);
    `funded` holds the codes funded already. Read it before the replay moves on: a ranking
    served from the kept walk (auditverify/walkcache.py) reads the walk as it is now."""

    lookup: Callable[[str], Entry | None]
    funded: AbstractSet[str]
    available: Decimal | None
    cut_line_rank: int | None
    guardrails: bool
    plan: tuple[str, frozenset[str]] | None
    unguarded: tuple[int | None, frozenset[str]] | None = None

    def entry(self, code: str) -> Entry | None:
        """The entry of an initiative, if it is in contention."""
        return self.lookup(code)


@dataclass
class _History:
    metrics: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    metric_codes: dict[str, str] = field(default_factory=dict)
    terms: dict[str, Any] | None = None
    policy_version: int | None = None
    enlisted: dict[str, list[str]] = field(default_factory=dict)  # pool id -> initiative ids
    initiatives: dict[str, _Initiative] = field(default_factory=dict)
    pools: dict[str, list[Decimal]] = field(default_factory=dict)  # opex, cap, net committed
    plan_periods: dict[str, str] = field(default_factory=dict)  # plan of record id -> period
    plans: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)  # by period
    places: dict[str, tuple[str, int]] = field(default_factory=dict)  # initiative -> pool, seq
    by_pool: dict[str, list[_Initiative]] = field(default_factory=dict)
    epoch: int = 0  # changes with the policy and the metric register: scores are stale then
    walks: dict[str, Walk] = field(default_factory=dict)  # pool -> the walk kept (walkcache)
    incremental: bool = True  # False: every ranking from scratch (the reference)
    kept: int = 0  # rankings served from a kept walk

    def apply(self, topic: str, originator: str, data: dict[str, Any]) -> None:
        name = topic.removeprefix("cxgov.")
        originator = uuid_key(originator)
        if name == "CustomerSuccessMetric.Defined":
            self.metric_codes[originator] = data["code"]
            self.metrics[data["code"]] = (data["baseline"], data["target"])
            self.epoch += 1
        elif name == "CustomerSuccessMetric.Retargeted":
            self.metrics[self.metric_codes[originator]] = (data["baseline"], data["target"])
            self.epoch += 1
        elif name == "ScoringPolicy.Adopted":
            self.terms, self.policy_version = data["terms"], data.get("policy_version")
            self.epoch += 1
        elif name.startswith("FundingPool."):
            self._apply_pool(name, originator, data)
        elif name == "PlanOfRecord.Started":
            self.plan_periods[originator] = str(data["period"])
        elif name == "PlanOfRecord.Adopted":
            period = self.plan_periods[originator]
            self.plans[period] = (str(data["name"]), frozenset(map(str, data["codes"])))
        elif name == "Initiative.Submitted":
            pool, seq = self.places.get(originator, ("", 0))
            initiative = self.initiatives[originator] = _Initiative(
                pool, str(data["period"]), data["code"], data["proposal"], seq,
                str(data.get("kind") or "pnl"), data.get("pnl"))
            self.by_pool.setdefault(pool, []).append(initiative)
            self.walks.pop(pool, None)
        elif name == "Initiative.Revised":
            self.walks.pop(self.initiatives[originator].period_pool, None)
            self.initiatives[originator].proposal.update(data["changes"])
            self.initiatives[originator].scored = None
        elif name in STATUS:
            initiative = self.initiatives[originator]
            self._moved(initiative, initiative.status, STATUS[name])
            initiative.status = STATUS[name]
            if name == "Initiative.Approved":
                initiative.gates = {str(g["name"]): g["amount"] for g in data.get("gates") or []}

    def _moved(self, initiative: _Initiative, old: str, new: str) -> None:
        """Keep the pool's walk where the status change provably leaves it (walkcache)."""
        walk = self.walks.get(initiative.period_pool)
        if walk is None or (old in UNDECIDED and new in UNDECIDED) or (
                old in FUNDED and new in FUNDED):
            return
        if old in UNDECIDED and new in FUNDED:
            kept = walk.approved(initiative.code)
        elif old in UNDECIDED and new not in IN_CONTENTION:
            kept = walk.left(initiative.code)
        else:
            kept = False
        if not kept:
            del self.walks[initiative.period_pool]

    def _apply_pool(self, name: str, originator: str, data: dict[str, Any]) -> None:
        if name == "FundingPool.Opened":
            self.pools[originator] = [data["opex_total"], data["cap_percent"], Decimal(0)]
        elif name == "FundingPool.InitiativeEnlisted":
            self.walks.pop(originator, None)
            enlisted = self.enlisted.setdefault(originator, [])
            enlisted.append(uuid_key(data["initiative_id"]))
            self.places.setdefault(enlisted[-1], (originator, len(enlisted)))
        elif originator in self.pools:  # a pool never opened: the rules replay reports it
            pool = self.pools[originator]
            if name == "FundingPool.OpexRestated":
                pool[0] = data["opex_total"]
            elif name == "FundingPool.FundsCommitted":
                pool[2] += data["amount"]
            elif name == "FundingPool.FundsReleased":
                pool[2] -= data["amount"]

    def amount(self, pool_id: str) -> Decimal | None:
        """The pool: cap percent of OpEx."""
        pool = self.pools.get(pool_id)
        return None if pool is None else pool[0] * pool[1] / Decimal(100)

    def available(self, pool_id: str) -> Decimal | None:
        """What the pool still has: the pool less what is committed and not released."""
        amount = self.amount(pool_id)
        return None if amount is None else amount - self.pools[pool_id][2]

    def limits(self, pool_id: str, members: list[tuple[_Initiative, dict[str, Any], str]],
               ) -> list[Limit]:
        """The policy's guardrails as amounts on what the walk adds (decision 123): each bound
        (a share of the pool, or an amount) less the cost of the group's funded work."""
        pool = self.amount(pool_id)
        out = []
        for g in (self.terms or {}).get("guardrails") or []:
            group = [(i, proposal, status) for i, proposal, status in members
                     if _matches(g, i, proposal)]
            committed = sum((p["cost"] for _, p, status in group if status in FUNDED),
                            Decimal(0))
            bounds = []
            for share, amount in (("min_share", "min_amount"), ("max_share", "max_amount")):
                bound = g.get(amount)
                if bound is None and g.get(share) is not None and pool is not None:
                    bound = g[share] * pool
                bounds.append(None if bound is None else bound - committed)
            out.append(Limit(frozenset(i.code for i, _, status in group if status in UNDECIDED),
                             bounds[0], bounds[1]))
        return out

    def score(self, proposal: dict[str, Any]) -> tuple[Decimal, Decimal]:
        """CIP, and CIP per cost unit, exactly as the published model defines them."""
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
        return cip, cip / (cost / unit)

    def ranking(self, initiative_id: str, asking: Decimal | None = None) -> Ranking | None:
        """The period of an initiative ranked now (`asking`: that initiative as if undecided
        and asking for this amount, as a tranche release is judged): from the pool's kept walk
        when it still holds (auditverify/walkcache.py), else from scratch."""
        target = self.initiatives.get(uuid_key(initiative_id))
        if target is None or self.terms is None:
            return None
        pool = target.period_pool
        walk = self.walks.get(pool) if asking is None and self.incremental else None
        if walk is not None:
            if walk.usable(self.epoch, self.available(pool)):
                self.kept += 1
                return Ranking(lambda code: _entry(walk, code), walk.funded, walk.available,
                               walk.cut_line_rank(), False, self.plans.get(target.period))
            del self.walks[pool]
        return self.ranking_from_scratch(target, asking)

    def ranking_from_scratch(self, target: _Initiative,
                             asking: Decimal | None = None) -> Ranking | None:
        """The period ranked and walked from scratch (and the walk kept, when it can be)."""
        if self.terms is None:
            return None
        tie_break = self.terms.get("tie_break", ["cost", "submitted"])
        scored: list[tuple[tuple[Decimal | int, ...], _Initiative, Decimal, Decimal, str,
                           Decimal]] = []
        for n, i in enumerate(self.by_pool.get(target.period_pool, ())):
            proposal, status = i.proposal, i.status
            if i is target and asking is not None:
                proposal, status = {**proposal, "cost": asking}, "submitted"
            if status not in IN_CONTENTION:
                continue
            if proposal is not i.proposal:
                cip, score = self.score(proposal)
            else:
                if i.scored is None or i.scored[0] != self.epoch:
                    i.scored = (self.epoch, *self.score(proposal))
                _, cip, score = i.scored
            cost = proposal["cost"]
            # n (submission order) last: the order of a stable sort, and every key distinct
            key = (-score, *[cost if rule == "cost" else i.seq for rule in tie_break], i.seq, n)
            scored.append((key, i, cip, score, status, cost))
        scored.sort(key=lambda s: s[0])
        funded = frozenset(s[1].code for s in scored if s[4] in FUNDED)
        guardrails = bool(self.terms.get("guardrails"))
        available = self.available(target.period_pool)
        recommended: set[str] = set()
        unguarded: set[str] = set()
        if available is not None:
            items = [Item(i.code, n, cost, cip, bool(i.proposal.get("mandatory")),
                          tuple(map(str, i.proposal.get("dependencies") or ())))
                     for n, (_, i, cip, _, status, cost) in enumerate(scored, 1)
                     if status in UNDECIDED]
            recommended = unguarded = greedy_funded(items, available, funded)
            if guardrails:
                members = [(i, {**i.proposal, "cost": cost}, status)
                           for _, i, _, _, status, cost in scored]
                recommended = guarded_funded(items, available, funded,
                                             self.limits(target.period_pool, members))
        ranks: dict[str, int] = {}  # code -> rank (the first, should a code repeat)
        for n, (_, i, *_) in enumerate(scored, 1):
            ranks.setdefault(i.code, n)
        funded_ranks = [n for n, s in enumerate(scored, 1) if s[1].code in funded]
        cut = cut_line_rank(funded_ranks, [n for n, s in enumerate(scored, 1)
                                           if s[1].code in recommended])
        plain = None
        if guardrails:
            plain = (cut_line_rank(funded_ranks, [n for n, s in enumerate(scored, 1)
                                                  if s[1].code in unguarded]),
                     frozenset(unguarded))
        if asking is None and not guardrails and available is not None and self.incremental:
            walk = build(self.epoch, available, scored, ranks, funded, recommended, _requires,
                         cut)
            if walk is not None:
                self.walks[target.period_pool] = walk

        def lookup(code: str) -> Entry | None:
            n = ranks.get(code)
            if n is None:
                return None
            _, i, cip, score, status, cost = scored[n - 1]
            return Entry(i.code, n, cip, score, cost, status, i.code in funded,
                         i.code in recommended)

        return Ranking(lookup, funded, available, cut, guardrails,
                       self.plans.get(target.period), plain)

    def rank_of(self, initiative_id: str) -> int | None:
        """The initiative's rank among its period's initiatives in contention."""
        target = self.initiatives.get(uuid_key(initiative_id))
        ranking = self.ranking(initiative_id)
        entry = None if ranking is None or target is None else ranking.entry(target.code)
        return None if entry is None else entry.rank


def _requires(initiative: _Initiative) -> tuple[str, ...]:
    return tuple(map(str, initiative.proposal.get("dependencies") or ()))


def _entry(walk: Walk, code: str) -> Entry | None:
    """An initiative's entry in the ranking the kept walk gives now."""
    rank = walk.rank(code)
    if rank is None:
        return None
    _, initiative, cip, score, _, cost = walk.scored[walk.index[code] - 1]
    return Entry(code, rank, cip, score, cost, initiative.status, code in walk.funded,
                 code in walk.recommended)


def _matches(guardrail: dict[str, Any], initiative: _Initiative,
             proposal: dict[str, Any]) -> bool:
    """Whether an initiative is in a guardrail's group (domain.policy.Guardrail.matches)."""
    dimension, value = guardrail["dimension"], guardrail["value"]
    if dimension == "kind":
        return bool(initiative.kind == value)
    if dimension == "pnl":
        return bool((initiative.pnl or "CX") == value)
    if dimension == "touchpoint":
        return value in (proposal.get("touchpoints") or ())
    return value in (proposal.get("functional_areas") or ())
