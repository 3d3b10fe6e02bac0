"""Render read-model documents from the portfolio fold. Pure: same state, same rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain import stats
from domain.lifecycle import FUNDED, IN_CONTENTION
from domain.policy import PolicyTerms
from domain.portfolio import assess
from domain.scoring import (
    Candidate,
    MetricTarget,
    Scored,
    Scorer,
    candidate_of,
    display,
    gap_closed,
    score_candidate,
)
from projections import feed
from projections.codec import plain, plain_row
from projections.documents import Changes, Doc, DocKey, Scope, ScopeKind
from projections.feedback import evidence_count
from projections.jobs import served_by
from projections.scorestats import card_statistics
from projections.signals import realisation
from projections.state import (
    InitiativeState,
    MetricState,
    PeriodState,
    PortfolioState,
    first_target,
)

Row = dict[str, Any]  # a document's payload: the JSON of a row of `projections.rows`

ZERO = Decimal(0)
TREND_POINTS = 6


def candidate(i: InitiativeState) -> Candidate:
    """The scoring model's view of an initiative."""
    return candidate_of(id=UUID(i.id), code=i.code, proposal=i.proposal, seq=i.seq,
                        status=i.status, pnl=i.pnl, kind=i.kind)


def metric_targets(state: PortfolioState) -> dict[str, MetricTarget]:
    """Baselines and targets of the metric register."""
    return {m.code: MetricTarget(m.code, m.baseline, m.target) for m in state.metrics.values()}


#: Scores and their rows' plain impact lines kept per process (decision 274), by candidate (a
#: frozen value: its status, cost and claims included), the targets of the metrics it claims,
#: and the terms object (kept in the entry and checked by identity, so two logs' equal-looking
#: policies never share). A decision re-renders the period's whole ranking; between two
#: decisions almost no candidate changed.
_SCORED: dict[tuple[Any, ...], tuple[PolicyTerms, Scored, list[Row]]] = {}
SCORES_KEPT = 50_000


def _kept(c: Candidate, metrics: Any, terms: PolicyTerms) -> tuple[Scored, list[Row]]:
    key = (c, tuple(metrics.get(claim.metric) for claim in c.impacts), id(terms))
    found = _SCORED.get(key)
    if found is not None and found[0] is terms:
        return found[1], found[2]
    scored = score_candidate(c, metrics, terms)
    lines: list[Row] = plain([
        {"metric": line.metric, "weight": line.weight, "reach": line.reach,
         "expected_value": line.expected_value, "gap_closed": line.gap_closed,
         "points": line.points, "warning": line.warning}
        for line in scored.lines])
    if len(_SCORED) >= SCORES_KEPT:
        _SCORED.clear()
    _SCORED[key] = (terms, scored, lines)
    return scored, lines


def _kept_score(c: Candidate, metrics: Any, terms: PolicyTerms) -> Scored:
    return _kept(c, metrics, terms)[0]


SCORER: Scorer = _kept_score


def ranking(state: PortfolioState, period: str, terms: PolicyTerms | None = None) -> list[Row]:
    """The priority ranking of a period with the greedy cut line (empty before a policy)."""
    found = state.periods.get(period)
    terms = terms or state.policy
    if found is None or terms is None:
        return []
    initiatives = {i.code: i for i in state.period_initiatives(period)}
    targets = metric_targets(state)
    assessment = assess([candidate(i) for i in initiatives.values()], targets,
                        terms, available=found.available, pool=found.amount, score=SCORER)
    rows = []
    for e in assessment.entries:
        i = initiatives[e.code]
        p = i.proposal
        lines = _kept(e.scored.candidate, targets, terms)[1]  # the rows share the plain lines
        rows.append(plain({
            "period": period, "id": i.id, "code": i.code, "rank": e.rank, "title": p.title,
            "kind": i.kind, "pnl": i.pnl, "status": i.status, "scenario": p.scenario,
            "cost": p.cost, "confidence": p.confidence, "cip": e.scored.cip,
            "score": e.scored.score, "cip_display": display(e.scored.cip),
            "score_display": display(e.scored.score), "funded": e.funded,
            "recommended": e.recommended, "above_cut_line": e.above_cut_line,
            "reason_code": e.reason_code, "reason": e.reason,
            "mandatory": p.mandatory, "dependencies": p.dependencies,
            "touchpoints": p.touchpoints, "functional_areas": p.functional_areas,
            "evidence": evidence_count(state, i.id),  # issue 15: feedback cited
            "jobs": served_by(state, i.id),  # issue 15: the jobs it serves
            "policy_version": state.policy_version if terms is state.policy else None,
            "cut_line_rank": assessment.cut_line_rank,
        }) | {"lines": lines})
    return rows


def _sum_by(items: Iterable[tuple[str, Decimal]]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for key, amount in items:
        totals[key] = totals.get(key, ZERO) + amount
    return {k: str(v) for k, v in sorted(totals.items())}


def ledger(state: PortfolioState, period: str) -> Row | None:
    """The pool ledger: pool, committed, released, available, and breakdowns."""
    found: PeriodState | None = state.periods.get(period)
    if found is None:
        return None
    initiatives = state.period_initiatives(period)
    # funded work, and stopped work whose spent part stays committed
    funded = [i for i in initiatives if i.status in FUNDED or i.committed > 0]
    pending = [i for i in initiatives if i.status == "pending_second_approval"]
    spending = [i for i in initiatives if i.spent or i.released]
    return plain_row({
        "spent": found.spent,
        "gated": sum((g["amount"] for i in funded for g in i.gates if not g["released"]),
                     ZERO),
        "unspent": sum((max(i.committed - i.spent, ZERO) for i in funded), ZERO),
        "over_plan": [i.code for i in initiatives if i.spent > i.committed],
        "spent_by_pnl": _sum_by((i.pnl or "CX", i.spent) for i in spending),
        "spent_by_kind": _sum_by((i.kind, i.spent) for i in spending),
        "spent_by_touchpoint": _sum_by(
            (t, i.spent) for i in spending for t in i.proposal.touchpoints),
        "released_by_pnl": _sum_by((i.pnl or "CX", i.released) for i in spending),
        "released_by_kind": _sum_by((i.kind, i.released) for i in spending),
        "released_by_touchpoint": _sum_by(
            (t, i.released) for i in spending for t in i.proposal.touchpoints),
        "period": period, "currency": found.currency, "opex_total": found.opex_total,
        "cap_percent": found.cap_percent, "amount": found.amount, "committed": found.committed,
        "released": found.released, "net_committed": found.committed - found.released,
        "available": found.available, "closed": found.closed,
        "pending_second_approval": sum((i.proposal.cost for i in pending), ZERO),
        "requested": sum((i.proposal.cost for i in initiatives if i.status in IN_CONTENTION),
                         ZERO),
        "initiatives": len(initiatives), "funded_count": len(funded),
        "by_pnl": _sum_by((i.pnl or "CX", i.committed) for i in funded),
        "by_kind": _sum_by((i.kind, i.committed) for i in funded),
        "by_touchpoint": _sum_by((t, i.committed) for i in funded for t in i.proposal.touchpoints),
        "by_functional_area": _sum_by(
            (a, i.committed) for i in funded for a in i.proposal.functional_areas),
    })


def _current(metric: MetricState) -> Any:
    series = metric.series.get("") or next(iter(metric.series.values()), None)
    return series[-1] if series else None


def _did(metric: MetricState) -> Row | None:
    treated = metric.series.get("pilot") or metric.series.get("treated")
    control = metric.series.get("control")
    if not treated or not control or len(treated) < 2 or len(control) < 2:
        return None
    effect = stats.did_effect(treated[0].value, treated[-1].value, control[0].value,
                              control[-1].value)
    return {"treated_before": treated[0].value, "treated_after": treated[-1].value,
            "control_before": control[0].value, "control_after": control[-1].value,
            "effect": effect, "naive_change": treated[-1].value - treated[0].value}


def scorecard(state: PortfolioState, period: str, metric: MetricState) -> Row:
    """One metric's card: where it is, where it should be, and who is working on it."""
    terms = state.policy
    min_n = terms.min_sample_size if terms else 30
    point = _current(metric)
    row: dict[str, Any] = {
        "period": period, "metric": metric.code, "customer_phrasing": metric.customer_phrasing,
        "operational_metric": metric.operational_metric, "unit": metric.unit,
        "direction": metric.direction, "scenario": metric.scenario, "pnl": metric.pnl,
        "kind": metric.kind, "baseline": metric.baseline, "target": metric.target,
        "target_date": metric.target_date,
        "weight": terms.weights.get(metric.code, 0) if terms else 0,
        "readings": metric.readings, "current": None, "observed_at": None, "sample_size": None,
        "progress": None, "expected_progress": None, "status": "grey", "interval": None,
        "detectable_change": None, "trend": [], "trend_direction": None,
        "intervals": [], "change": None, "threshold_share": None, "spc": None,
        "trend_word": None, "trend_basis": None,
    }
    if point is not None:
        row.update(current=point.value, observed_at=point.observed_at,
                   sample_size=point.sample_size)
        gap = metric.target - metric.baseline
        progress = (point.value - metric.baseline) / gap if gap else None
        expected = _expected(metric, point.observed_at)
        row.update(progress=progress, expected_progress=expected)
        enough = point.sample_size is None or point.sample_size >= min_n
        if progress is not None and enough:
            row["status"] = stats.rag_status(
                progress, expected if expected is not None else Decimal(1),
                green_slack=terms.green_slack if terms else Decimal("0.10"),
                amber_slack=terms.amber_slack if terms else Decimal("0.25"))
        if metric.unit == "%" and point.sample_size and 0 <= point.value <= 100:
            low, high = _percent_interval(point.value, point.sample_size)
            row["interval"] = {"low": low, "high": high, "method": "wilson", "confidence": "0.95"}
            row["detectable_change"] = not low <= metric.baseline <= high
        series = metric.series.get("") or next(iter(metric.series.values()))
        trend = series[-TREND_POINTS:]
        row["trend"] = [{"month": p.month, "value": p.value, "sample_size": p.sample_size}
                        for p in trend]
        if len(trend) >= 2:
            delta = trend[-1].value - trend[-2].value
            improving = delta < 0 if metric.direction == "decrease" else delta > 0
            row["trend_direction"] = "flat" if delta == 0 else (
                "improving" if improving else "worsening")
        row.update(card_statistics(metric, series))  # issue 15: signal from noise
    row["did"] = _did(metric)
    row["targets"] = target_history(state, period, metric)
    row["initiatives"] = _aimed(state, period, metric, point.value if point else None)
    claimed = sum((Decimal(a["reach"]) * Decimal(a["gap_closed"]) for a in row["initiatives"]),
                  ZERO)
    row["claimed_gap_share"] = claimed
    row["overclaimed"] = claimed > 1
    return plain_row(row)


def target_history(state: PortfolioState, period: str, metric: MetricState) -> list[Row]:
    """Each target version of a metric, the positions it was in force for, and the decisions
    of `period` on initiatives claiming the metric whose ranking was taken under it (a
    decision's `ranking_position` in [in_force_from, in_force_until))."""
    versions = metric.targets or [first_target(metric)]
    taken = sorted(((d, i.code) for i in state.claimants(period, metric.code)
                    for d in i.decisions), key=lambda pair: pair[0]["position"])
    rows = []
    for n, version in enumerate(versions):
        start = version["position"]
        end = versions[n + 1]["position"] if n + 1 < len(versions) else None
        rows.append({
            **version, "version": n + 1, "in_force_from": start, "in_force_until": end,
            "decisions": [{"code": code, "outcome": d["outcome"], "rank": d["rank"],
                           "position": d["position"], "ranking_position": d["ranking_position"]}
                          for d, code in taken
                          if (start is None or d["ranking_position"] >= start)
                          and (end is None or d["ranking_position"] < end)]})
    return rows


def _expected(metric: MetricState, at: datetime) -> Decimal | None:
    if metric.target_date is None:
        return None
    return stats.expected_progress(metric.defined_at.date(), metric.target_date, at.date())


def _percent_interval(value: Decimal, n: int) -> tuple[Decimal, Decimal]:
    successes = int((value / 100 * n).to_integral_value())
    low, high = stats.wilson_interval(successes, n)
    return low * 100, high * 100


def _aimed(state: PortfolioState, period: str, metric: MetricState,
           current: Decimal | None) -> list[Row]:
    target = MetricTarget(metric.code, metric.baseline, metric.target)
    aimed = []
    for i in state.claimants(period, metric.code):
        if i.status not in FUNDED:
            continue
        for claim in i.proposal.expected_impacts:
            if claim.metric != metric.code:
                continue
            g, _ = gap_closed(target, claim.expected_value)
            planned = claim.expected_value - metric.baseline
            outcome = next((o for o in reversed(i.outcomes) if o["metric"] == metric.code), None)
            actual = outcome["observed_value"] if outcome else (
                current if i.status == "delivered" else None)
            realized = (stats.realization_percent(metric.baseline, claim.expected_value, actual)
                        if actual is not None and planned != 0 else None)
            plan = state.benefit_plans.get(i.id)  # the promised trajectory (issue 14)
            aimed.append({"code": i.code, "title": i.proposal.title, "status": i.status,
                          "expected_value": claim.expected_value, "reach": claim.reach,
                          "gap_closed": g, "planned_delta": planned,
                          "delivered_on": i.delivered_on, "actual": actual,
                          "realization_percent": realized,
                          "actual_source": "outcome" if outcome else (
                              "metric" if actual is not None else None),
                          "benefit_owner": plan["owner"] if plan else None,
                          "benefit_points": [
                              {k: p[k] for k in ("by", "expected", "actual", "actual_month",
                                                 "realization_percent")}
                              for p in (realisation(state, plan) if plan else [])
                              if p["metric"] == metric.code]})
    return aimed


def initiative(state: PortfolioState, i: InitiativeState) -> Row:
    """An initiative's whole card."""
    return plain_row({
        "id": i.id, "period": i.period, "code": i.code, "kind": i.kind, "pnl": i.pnl,
        "status": i.status, "version": i.version, "proposal": i.proposal,
        "submitted_by": i.submitted_by, "submitted_at": i.submitted_at,
        "updated_at": i.updated_at, "approvals": i.approvals, "decisions": i.decisions,
        "committed": i.committed, "delivered_on": i.delivered_on, "outcomes": i.outcomes,
        "carried_from": i.carried_from, "carried_to": i.carried_to,
        "carry_reason": i.carry_reason,
        "spent": i.spent, "spend": i.spend, "released": i.released, "descopes": i.descopes,
        "gates": i.gates,
    })


def documents(state: PortfolioState,
              scopes: Iterable[str | Scope] | None = None) -> dict[DocKey, Doc]:
    """Every document for the given change scopes (None: everything), keyed by (model, key)."""
    everything = scopes is None
    changed = Changes.of(scopes or ())
    periods = set(state.periods) if everything else set(changed.periods)
    metrics = set(state.metrics) if everything or changed.named(ScopeKind.METRICS) else set(
        changed.metrics)
    docs: dict[DocKey, Doc] = {}

    def put(model: str, key: str, period: str | None, sort: int, payload: Row) -> None:
        docs[(model, key)] = Doc(model, key, period, sort, payload)

    for period in sorted(periods):
        for row in ranking(state, period):
            put("ranking", f"{period}/{row['code']}", period, row["rank"], row)
        pool = ledger(state, period)
        if pool is not None:
            put("ledger", period, period, 0, pool)
    card_periods = set(state.periods) if metrics else set()
    for period in sorted(periods | card_periods):
        codes = set(state.metrics) if period in periods else metrics
        for n, code in enumerate(sorted(codes)):
            put("scorecard", f"{period}/{code}", period, n,
                scorecard(state, period, state.metrics[code]))
    if everything or changed.kinds & {ScopeKind.DIRECTORY, ScopeKind.METRICS, ScopeKind.POLICY}:
        for code, pnl in sorted(state.pnls.items()):
            put("pnl", code, None, 0, plain(pnl))
        for code, scenario in sorted(state.scenarios.items()):
            put("scenario", code, None, 0, plain(scenario))
        for code, m in sorted(state.metrics.items()):
            put("metric", code, None, 0, plain({k: v for k, v in m.__dict__.items()
                                                   if k not in {"series", "readings"}}))
        for policy in state.policies:
            put("policy", str(policy["version"]).zfill(6), None, policy["version"],
                plain(policy))
    ids = set(state.initiatives) if everything else set(changed.initiatives)
    for initiative_id in sorted(ids):
        i = state.initiatives[initiative_id]
        put("initiative", initiative_id, i.period, i.seq, initiative(state, i))
    for code in sorted(feed.touched(state, None if everything else changed)):
        put(feed.MODEL, code, None, 0, feed.story(state, code))
    return docs
