"""The portfolio fold: one pure state folded from the global event log, serialisable to JSON.

Every read model (ranking, recommendation, ledger, scorecard, directory) is rendered from this
state, so the live projector, a full rebuild and an as-of replay all share one code path.

Just over 400 lines: the fold handles every event topic in one place, so that the live
projector, a rebuild and an as-of replay cannot disagree about any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.initiative import Initiative, Proposal
from domain.lifecycle import Status
from domain.metric import CustomerSuccessMetric, ObservationBatch, change_kind
from domain.policy import PolicyTerms, ScoringPolicy
from domain.pool import FundingPool, pool_amount
from domain.registry import PnL, Scenario
from domain.values import Reading

SERIES_LIMIT = 36  # monthly points kept per metric and cohort: bounded memory at any history


@dataclass
class PeriodState:
    """A fiscal period's pool."""

    code: str
    currency: str
    opex_total: Decimal
    cap_percent: Decimal
    opened_at: datetime
    committed: Decimal = Decimal(0)
    released: Decimal = Decimal(0)
    closed: bool = False
    initiatives: list[str] = field(default_factory=list)
    spent: Decimal = Decimal(0)

    @property
    def amount(self) -> Decimal:
        """The pool."""
        return pool_amount(self.opex_total, self.cap_percent)

    @property
    def available(self) -> Decimal:
        """Uncommitted funds."""
        return self.amount - self.committed + self.released


@dataclass
class MonthPoint:
    """The latest reading of a month for one cohort, with how many readings and responses."""

    month: str
    value: Decimal
    observed_at: datetime
    readings: int
    sample_size: int | None
    # the latest reading's summary and counts (issue 15: mean, sd, median, p90,
    # share_meeting, promoters, passives, detractors, top_box; only those it carried)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricState:
    """A metric's register entry and a bounded summary of its readings."""

    code: str
    customer_phrasing: str
    operational_metric: str
    scenario: str | None
    pnl: str | None
    unit: str
    direction: str
    baseline: Decimal
    target: Decimal
    target_date: date | None
    customer_threshold: Decimal | None
    importance: Decimal | None
    satisfaction: Decimal | None
    defined_at: datetime
    series: dict[str, list[MonthPoint]] = field(default_factory=dict)
    readings: int = 0
    # every target version, the definition first: baseline, target, target_date, kind,
    # reason, actor, at, position (the log position it took effect at)
    targets: list[dict[str, Any]] = field(default_factory=list)
    # its operational metrics, with owners (issue 15; projections/departments_fold.py): name,
    # source, aggregation, department; and who mapped them last (actor, at, position)
    operational_metrics: list[dict[str, str]] = field(default_factory=list)
    operational_mapped: dict[str, Any] | None = None
    # whose experience it measures (issue 15): "customer" or "employee" (EX)
    kind: str = "customer"


@dataclass
class InitiativeState:
    """An initiative as the read side keeps it."""

    id: str
    period: str
    code: str
    kind: str
    pnl: str | None
    proposal: Proposal
    submitted_by: str
    submitted_at: datetime
    seq: int
    status: Status = Status.SUBMITTED
    version: int = 1
    approvals: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    committed: Decimal = Decimal(0)
    delivered_on: date | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    updated_at: datetime | None = None
    carried_from: str | None = None  # "FY2027/I05": carried over from there
    carried_to: str | None = None  # "FY2028/I01": carried over to there
    carry_reason: str | None = None  # why it was carried over (on the original)
    spent: Decimal = Decimal(0)
    spend: list[dict[str, Any]] = field(default_factory=list)
    released: Decimal = Decimal(0)  # given back to the pool by a stop or descopes
    descopes: list[dict[str, Any]] = field(default_factory=list)
    # later tranches named on approval: name, amount, released, at, position (of the release),
    # approvals (a first approval above the four-eyes threshold waits for a second)
    gates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A fold snapshot stores the status as its string.
        self.status = Status(self.status)


@dataclass
class PortfolioState:
    """Everything the read models need, as of `position`."""

    position: int = 0
    periods: dict[str, PeriodState] = field(default_factory=dict)
    pnls: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, MetricState] = field(default_factory=dict)
    policies: list[dict[str, Any]] = field(default_factory=list)
    initiatives: dict[str, InitiativeState] = field(default_factory=dict)
    pool_index: dict[str, str] = field(default_factory=dict)
    metric_index: dict[str, str] = field(default_factory=dict)
    # the loop (issue 14; projections/loop_fold.py): plans by initiative id, signal notes by
    # signal key, reviews by id
    benefit_plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    signal_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[str, dict[str, Any]] = field(default_factory=dict)
    # funding plans (issue 16; projections/plans.py): plans by id, plans of record by period
    funding_plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans_of_record: dict[str, dict[str, Any]] = field(default_factory=dict)
    # jobs to be done (issue 15; projections/jobs.py): by code; and the jobs each initiative
    # serves (by initiative id: period, code, jobs)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    served_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # month series per segment dimension beside the cohort (issue 15, part 7; decision 118):
    # metric code -> "pnl" | "channel" | "region" -> label -> points (projections/segments.py)
    segments: dict[str, dict[str, dict[str, list[MonthPoint]]]] = field(default_factory=dict)
    # voice of the customer (issue 15; projections/feedback.py): items by ref, and the refs
    # each initiative cites (by initiative id: period, code, refs)
    feedback: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    # funding rounds (issue 16, part 4; projections/rounds.py): by period
    rounds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.forget_derived()

    def forget_derived(self) -> None:
        """Drop derived indexes (never snapshotted; rebuilt on first use)."""
        self._submitted_per_period: dict[str, int] | None = None  # initiatives per period
        # period -> metric -> the period's initiatives claiming it, in submission order
        self._claims: dict[str, dict[str, list[InitiativeState]]] = {}

    def claimants(self, period: str, metric: str) -> list[InitiativeState]:
        """A period's initiatives claiming an impact on a metric, in submission order.

        Indexed per period on first use and dropped whenever the fold reports the period
        changed, so a scorecard card costs its claimants, not the period's initiatives.
        """
        index = self._claims.get(period)
        if index is None:
            index = {}
            for i in self.period_initiatives(period):
                for code in dict.fromkeys(c.metric for c in i.proposal.expected_impacts):
                    index.setdefault(code, []).append(i)
            self._claims[period] = index
        return index.get(metric, [])

    def submitted_in(self, period: str) -> int:
        """How many initiatives of a period the state holds (O(1) after the first call)."""
        counts = self._submitted_per_period
        if counts is None:
            counts = {}
            for i in self.initiatives.values():
                counts[i.period] = counts.get(i.period, 0) + 1
            self._submitted_per_period = counts
        return counts.get(period, 0)

    @property
    def policy(self) -> PolicyTerms | None:
        """Terms of the policy in force."""
        return self.policies[-1]["terms"] if self.policies else None

    @property
    def policy_version(self) -> int:
        """Number of the policy in force (0: none)."""
        return len(self.policies)

    def period_initiatives(self, period: str) -> list[InitiativeState]:
        """A period's initiatives in submission order."""
        found = self.periods.get(period)
        if found is None:
            return []
        # The pool enlists an initiative in the same transaction, just before it is submitted.
        return [self.initiatives[i] for i in found.initiatives if i in self.initiatives]

    # --- the fold ----------------------------------------------------------------------------

    def apply(self, position: int, event: Any) -> set[str]:
        """Fold one event; return the keys of what it changed ("period:FY2027", "metric:M1")."""
        self.position = position
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return set()
        scopes: set[str] = handler(self, event)
        if self._claims:
            for scope in scopes:
                if scope.startswith("period:"):
                    self._claims.pop(scope[7:], None)
        return scopes

    def _initiative(self, event: Any) -> InitiativeState:
        state = self.initiatives[str(event.originator_id)]
        state.version = event.originator_version
        state.updated_at = event.timestamp
        return state


def _period_opened(s: PortfolioState, e: FundingPool.Opened) -> set[str]:
    s.periods[e.period] = PeriodState(e.period, e.currency, e.opex_total, e.cap_percent,
                                      e.timestamp)
    s.pool_index[str(e.originator_id)] = e.period
    return {f"period:{e.period}"}


def _pool(s: PortfolioState, e: Any) -> PeriodState:
    return s.periods[s.pool_index[str(e.originator_id)]]


def _opex_restated(s: PortfolioState, e: FundingPool.OpexRestated) -> set[str]:
    period = _pool(s, e)
    period.opex_total = e.opex_total
    return {f"period:{period.code}"}


def _enlisted(s: PortfolioState, e: FundingPool.InitiativeEnlisted) -> set[str]:
    period = _pool(s, e)
    period.initiatives.append(str(e.initiative_id))
    return {f"period:{period.code}"}


def _committed(s: PortfolioState, e: FundingPool.FundsCommitted) -> set[str]:
    period = _pool(s, e)
    period.committed += e.amount
    return {f"period:{period.code}"}


def _released(s: PortfolioState, e: FundingPool.FundsReleased) -> set[str]:
    period = _pool(s, e)
    period.released += e.amount
    return {f"period:{period.code}"}


def _closed(s: PortfolioState, e: FundingPool.Closed) -> set[str]:
    period = _pool(s, e)
    period.closed = True
    return {f"period:{period.code}"}


def _pnl(s: PortfolioState, e: PnL.Registered) -> set[str]:
    s.pnls[e.code] = {"code": e.code, "name": e.name, "owners": list(e.owners),
                      "opex": e.opex}
    return {"directory"}


def _scenario(s: PortfolioState, e: Scenario.Defined) -> set[str]:
    s.scenarios[e.code] = {"code": e.code, "name": e.name, "pnl": e.pnl,
                           "description": e.description}
    return {"directory"}


def _metric_defined(s: PortfolioState, e: CustomerSuccessMetric.Defined) -> set[str]:
    s.metrics[e.code] = MetricState(
        code=e.code, customer_phrasing=e.customer_phrasing,
        operational_metric=e.operational_metric, scenario=e.scenario, pnl=e.pnl, unit=e.unit,
        direction=e.direction, baseline=e.baseline, target=e.target,
        target_date=e.target_date, customer_threshold=e.customer_threshold,
        importance=e.importance, satisfaction=e.satisfaction, defined_at=e.timestamp,
        kind=e.kind,
        targets=[{"baseline": e.baseline, "target": e.target, "target_date": e.target_date,
                  "kind": "definition", "reason": None, "actor": e.actor, "at": e.timestamp,
                  "position": s.position}])
    s.metric_index[str(e.originator_id)] = e.code
    return {"directory", "metrics"}


def first_target(metric: MetricState) -> dict[str, Any]:
    """The target version a metric holds when its history was not folded (a fold snapshot
    written before `MetricState.targets` existed): its current values, position unknown."""
    return {"baseline": metric.baseline, "target": metric.target,
            "target_date": metric.target_date, "kind": "definition", "reason": None,
            "actor": None, "at": metric.defined_at, "position": None}


def _metric(s: PortfolioState, e: Any) -> MetricState:
    return s.metrics[s.metric_index[str(e.originator_id)]]


def _retargeted(s: PortfolioState, e: CustomerSuccessMetric.Retargeted) -> set[str]:
    metric = _metric(s, e)
    if not metric.targets:  # folded from a fold snapshot older than the history
        metric.targets.append(first_target(metric))
    metric.targets.append({
        "baseline": e.baseline, "target": e.target, "target_date": e.target_date,
        "kind": change_kind(baseline_changed=e.baseline != metric.baseline,
                            target_changed=(e.target, e.target_date) != (metric.target,
                                                                          metric.target_date)),
        "reason": e.reason, "actor": e.actor, "at": e.timestamp, "position": s.position})
    metric.baseline, metric.target, metric.target_date = e.baseline, e.target, e.target_date
    return {"directory", "metrics"}


def _observed(s: PortfolioState, e: ObservationBatch.Recorded) -> set[str]:
    metric = s.metrics.get(e.metric)
    if metric is None:
        return set()
    for reading in e.readings:
        metric.readings += 1
        at = reading.observed_at
        month = f"{at.year}-{at.month:02d}" if at.year >= 1000 else at.strftime("%Y-%m")
        _add_point(metric.series.setdefault(reading.cohort or "", []), reading, month)
        for dimension in SEGMENT_DIMENSIONS:
            label = getattr(reading, dimension)
            if label is None:
                continue
            labels = s.segments.setdefault(e.metric, {}).setdefault(dimension, {})
            if label in labels or len(labels) < SEGMENT_LABELS_KEPT:
                _add_point(labels.setdefault(label, []), reading, month)
    return {f"metric:{e.metric}"}


#: The reading dimensions kept as segment series beside the cohort, and how many labels of
#: each a metric keeps (a label first seen beyond that is not kept: bounded memory).
SEGMENT_DIMENSIONS = ("pnl", "channel", "region")
SEGMENT_LABELS_KEPT = 50


def _add_point(series: list[MonthPoint], reading: Reading, month: str) -> None:
    """A reading into its month's point (the month's latest reading wins)."""
    # Months are unique in a series, kept in order: the newest is the usual match.
    point = series[-1] if series and series[-1].month == month else next(
        (p for p in series if p.month == month), None)
    if point is None:
        series.append(MonthPoint(month, reading.value, reading.observed_at, 1,
                                 reading.sample_size, reading_detail(reading)))
        series.sort(key=lambda p: p.month)
        del series[:-SERIES_LIMIT]
        return
    point.readings += 1
    if reading.observed_at >= point.observed_at:
        point.value, point.observed_at = reading.value, reading.observed_at
        point.sample_size = reading.sample_size
        point.detail = reading_detail(reading)


#: A reading's summary and counts a month point keeps (issue 15).
DETAIL_FIELDS = ("mean", "sd", "median", "p90", "share_meeting", "promoters", "passives",
                 "detractors", "top_box")


def reading_detail(reading: Reading) -> dict[str, Any]:
    """The summary and counts a reading carries (none for a plain reading)."""
    return {name: value for name in DETAIL_FIELDS
            if (value := getattr(reading, name)) is not None}


def _policy(s: PortfolioState, e: ScoringPolicy.Adopted) -> set[str]:
    s.policies.append({"version": e.policy_version, "terms": e.terms,
                       "rationale": e.rationale, "actor": e.actor, "at": e.timestamp})
    return {"policy", *(f"period:{p}" for p in s.periods)}


def _submitted(s: PortfolioState, e: Initiative.Submitted) -> set[str]:
    seq = s.submitted_in(e.period) + 1
    key = str(e.originator_id)
    if key not in s.initiatives and s._submitted_per_period is not None:
        s._submitted_per_period[e.period] = seq
    else:
        s._submitted_per_period = None  # a re-submitted id replaces one: count afresh
        s._claims.clear()  # ...and may have moved period: index afresh
    s.initiatives[key] = InitiativeState(
        id=str(e.originator_id), period=e.period, code=e.code, kind=e.kind, pnl=e.pnl,
        proposal=e.proposal, submitted_by=e.actor, submitted_at=e.timestamp, seq=seq,
        updated_at=e.timestamp, carried_from=e.carried_from)
    return {f"period:{e.period}", f"initiative:{e.originator_id}"}


def _revised(s: PortfolioState, e: Initiative.Revised) -> set[str]:
    state = s._initiative(e)
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in e.changes.items()}
    state.proposal = Proposal(**{**state.proposal.__dict__, **fixed})
    return {f"period:{state.period}", f"initiative:{state.id}"}


def _moved(s: PortfolioState, e: Any) -> set[str]:
    """A lifecycle event: status and approvals follow the domain's own rule."""
    state = s._initiative(e)
    kind = type(e)
    state.status = Initiative.status_after(kind) or state.status
    decision = getattr(e, "decision", None)
    if decision is not None:
        state.decisions.append({**decision.__dict__, "actor": e.actor, "at": e.timestamp,
                                "position": s.position})
    state.approvals = Initiative.approvals_after(kind, state.approvals, e.actor)
    if kind is Initiative.Approved:
        state.committed = e.amount
        state.gates = [{"name": g["name"], "amount": g["amount"], "released": False,
                        "at": None, "position": None, "approvals": []} for g in e.gates]
    elif kind is Initiative.Cancelled:
        # old stops released the whole commitment (0 left, as before); since spend, the
        # spent part stays committed
        state.committed -= e.amount_released
        state.released += e.amount_released
    elif kind is Initiative.Delivered:
        state.delivered_on = e.delivered_on
    return {f"period:{state.period}", f"initiative:{state.id}"}


def _carried_over(s: PortfolioState, e: Initiative.CarriedOver) -> set[str]:
    scopes = _moved(s, e)
    state = s.initiatives[str(e.originator_id)]
    state.carried_to, state.carry_reason = f"{e.to_period}/{e.to_code}", e.reason
    return scopes


def _outcome(s: PortfolioState, e: Initiative.OutcomeRecorded) -> set[str]:
    state = s._initiative(e)
    state.outcomes.append({"metric": e.metric, "observed_value": e.observed_value,
                           "observed_at": e.observed_at, "note": e.note, "actor": e.actor})
    return {f"period:{state.period}", f"initiative:{state.id}", f"metric:{e.metric}"}


def _spend(s: PortfolioState, e: Initiative.SpendRecorded) -> set[str]:
    state = s._initiative(e)
    state.spent += e.amount
    state.spend.append({"amount": e.amount, "spent_on": e.spent_on, "reference": e.reference,
                        "note": e.note, "actor": e.actor, "at": e.timestamp,
                        "position": s.position})
    period = s.periods.get(state.period)
    if period is not None:
        period.spent += e.amount
    return {f"period:{state.period}", f"initiative:{state.id}"}


def _descoped(s: PortfolioState, e: Initiative.Descoped) -> set[str]:
    state = s._initiative(e)
    state.committed = e.new_cost
    state.released += e.amount_released
    state.descopes.append({"new_cost": e.new_cost, "previous_commitment": e.previous_commitment,
                           "amount_released": e.amount_released, "reason": e.reason,
                           "actor": e.actor, "at": e.timestamp, "position": s.position})
    return {f"period:{state.period}", f"initiative:{state.id}"}


def _tranche(s: PortfolioState, e: Any) -> set[str]:
    """A gate's first approval (four eyes) or its release: a decision like an approval's."""
    state = s._initiative(e)
    state.decisions.append({**e.decision.__dict__, "actor": e.actor, "at": e.timestamp,
                            "position": s.position})
    released = type(e) is Initiative.TrancheReleased
    for gate in state.gates:
        if gate["name"] == e.gate:
            gate["approvals"] = [*gate["approvals"], e.actor] if released else [e.actor]
            if released:
                gate.update(released=True, at=e.timestamp, position=s.position)
    if released:
        state.committed += e.amount
    return {f"period:{state.period}", f"initiative:{state.id}"}


_HANDLERS: dict[type, Any] = {
    FundingPool.Opened: _period_opened,
    FundingPool.OpexRestated: _opex_restated,
    FundingPool.InitiativeEnlisted: _enlisted,
    FundingPool.FundsCommitted: _committed,
    FundingPool.FundsReleased: _released,
    FundingPool.Closed: _closed,
    PnL.Registered: _pnl,
    Scenario.Defined: _scenario,
    CustomerSuccessMetric.Defined: _metric_defined,
    CustomerSuccessMetric.Retargeted: _retargeted,
    ObservationBatch.Recorded: _observed,
    ScoringPolicy.Adopted: _policy,
    Initiative.Submitted: _submitted,
    Initiative.Revised: _revised,
    Initiative.Withdrawn: _moved,
    Initiative.FirstApprovalRecorded: _moved,
    Initiative.Approved: _moved,
    Initiative.Rejected: _moved,
    Initiative.Deferred: _moved,
    Initiative.Delivered: _moved,
    Initiative.OutcomeRecorded: _outcome,
    Initiative.Cancelled: _moved,
    Initiative.CarriedOver: _carried_over,
    Initiative.SpendRecorded: _spend,
    Initiative.Descoped: _descoped,
    Initiative.TrancheApprovalRecorded: _tranche,
    Initiative.TrancheReleased: _tranche,
}


from projections.loop_fold import LOOP_HANDLERS  # noqa: E402  (its handlers take this state)

_HANDLERS.update(LOOP_HANDLERS)

from projections.plans_fold import PLAN_HANDLERS  # noqa: E402  (issue 16: funding plans)

_HANDLERS.update(PLAN_HANDLERS)

from projections.departments_fold import DEPARTMENT_HANDLERS  # noqa: E402  (issue 15, part 3)

_HANDLERS.update(DEPARTMENT_HANDLERS)

from projections.jobs import JOB_HANDLERS  # noqa: E402  (issue 15, part 5: jobs to be done)

_HANDLERS.update(JOB_HANDLERS)

from projections.feedback import FEEDBACK_HANDLERS  # noqa: E402  (issue 15, part 6)

_HANDLERS.update(FEEDBACK_HANDLERS)

from projections.rounds import ROUND_HANDLERS  # noqa: E402  (issue 16, part 4: funding rounds)

_HANDLERS.update(ROUND_HANDLERS)


#: Events the fold applies to an existing initiative (Submitted creates one).
_ON_INITIATIVE = frozenset({
    Initiative.Revised, Initiative.Withdrawn, Initiative.FirstApprovalRecorded,
    Initiative.Approved, Initiative.Rejected, Initiative.Deferred, Initiative.Delivered,
    Initiative.OutcomeRecorded, Initiative.Cancelled, Initiative.CarriedOver,
    Initiative.SpendRecorded, Initiative.Descoped, Initiative.TrancheApprovalRecorded,
    Initiative.TrancheReleased})


def periods_touched(state: PortfolioState, events: Iterable[Any]) -> set[str] | None:
    """Periods whose initiatives the fold of `events` after `state` reads or changes.

    `state` needs no initiatives (a fold snapshot's core): an initiative is found through the
    pool that enlisted it. Every other event folds into the core only. None when an event's
    initiative cannot be placed (then load every period).
    """
    touched: set[str] = set()
    submitted: dict[str, str] = {}
    index: dict[str, str] | None = None
    for event in events:
        kind = type(event)
        if kind is Initiative.Submitted:
            touched.add(event.period)
            submitted[str(event.originator_id)] = event.period
        elif kind in _ON_INITIATIVE:
            key = str(event.originator_id)
            found = submitted.get(key)
            if found is None:
                if index is None:
                    index = {i: code for code, period in state.periods.items()
                             for i in period.initiatives}
                found = index.get(key)
            if found is None:
                return None
            touched.add(found)
    return touched
