"""The read rows, typed: one frozen model per read-model row, defined once.

The stored documents (`projections.documents.Doc`) and the API's read responses have exactly
these shapes: `projections.render` writes them, `projections.snapshot.Snapshot` parses them
at the query boundary, and `api.schemas` serves them (so the OpenAPI document names every
field). Exact numbers, money, times and days travel as strings, as they are stored.

Field order is serialisation order. A stored document is served in its canonical key order
(sorted: `projections.codec.canonical`), so the models of stored documents declare their
fields alphabetically; rows computed at read time (recommendation, departures, decision
records, audit events) keep the order they always had.

About 490 lines on purpose: every row of the read side in one module, the one place a field is
declared (split by read model, the nested rows would be imported back and forth).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

#: An exact decimal (money, scores, shares) as its decimal string, e.g. "2500000".
DecimalText = Annotated[str, Field(json_schema_extra={"format": "decimal"},
                                   examples=["2500000"])]
#: An ISO 8601 time, e.g. "2027-03-31T00:00:00+00:00".
TimeText = Annotated[str, Field(json_schema_extra={"format": "date-time-text"},
                                examples=["2027-03-31T00:00:00+00:00"])]
#: An ISO 8601 day, e.g. "2027-06-30".
DayText = Annotated[str, Field(json_schema_extra={"format": "date-text"},
                               examples=["2027-06-30"])]


class ReadRow(BaseModel):
    """Base of every read row: immutable, nothing beyond the declared fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __getitem__(self, name: str) -> Any:
        """`row["code"]` as `row.code`, for code written against the plain documents."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


# --- ranking ------------------------------------------------------------------------------


class ScoreLine(ReadRow):
    """One impact claim's contribution to an initiative's score."""

    expected_value: DecimalText
    gap_closed: DecimalText
    metric: str
    points: DecimalText
    reach: DecimalText
    warning: str | None
    weight: int


class RankingRow(ReadRow):
    """An initiative's place in a period's priority ranking, with the greedy cut line.

    A row the reader may not read whole is `redacted`: its place only, identity blanked."""

    above_cut_line: bool
    cip: DecimalText
    cip_display: str
    code: str | None
    confidence: DecimalText | None
    cost: DecimalText
    cut_line_rank: int | None
    dependencies: list[str]
    evidence: int = Field(default=0, description=(
        "How many customer feedback items the initiative cites as evidence (issue 15); the "
        "score does not depend on it."))
    functional_areas: list[str]
    funded: bool
    id: str | None
    jobs: list[str] = Field(default_factory=list, description=(
        "The jobs to be done it says it serves (issue 15; `POST /v1/initiatives/{id}/jobs`); "
        "blanked when the row is redacted."))
    kind: str
    lines: list[ScoreLine]
    mandatory: bool
    period: str
    pnl: str | None
    policy_version: int | None
    rank: int
    reason: str | None
    reason_code: str | None
    recommended: bool
    redacted: bool = Field(default=False, exclude_if=lambda redacted: not redacted,
                           description="Present (true) only on a redacted row.")
    scenario: str | None
    score: DecimalText
    score_display: str
    status: str
    title: str | None
    touchpoints: list[str]


# --- ledger -------------------------------------------------------------------------------


class Ledger(ReadRow):
    """A period's pool: amount, committed, spent, released, available, and breakdowns.

    The money-over-time fields (issue 14: spent, unspent, over_plan, spent_by_*,
    released_by_*) have defaults so that ledgers stored before spend was recorded still read.
    """

    amount: DecimalText
    available: DecimalText
    by_functional_area: dict[str, DecimalText]
    by_kind: dict[str, DecimalText]
    by_pnl: dict[str, DecimalText]
    by_touchpoint: dict[str, DecimalText]
    cap_percent: DecimalText
    closed: bool
    committed: DecimalText
    currency: str
    funded_count: int
    gated: DecimalText = Field(default="0", description=(
        "Tranches approved at gates and not yet released (not committed)."))
    initiatives: int
    net_committed: DecimalText
    opex_total: DecimalText
    over_plan: list[str] = Field(default_factory=list, description=(
        "Codes of initiatives that spent more than is committed to them."))
    pending_second_approval: DecimalText
    period: str
    released: DecimalText
    released_by_kind: dict[str, DecimalText] = Field(default_factory=dict)
    released_by_pnl: dict[str, DecimalText] = Field(default_factory=dict)
    released_by_touchpoint: dict[str, DecimalText] = Field(default_factory=dict)
    requested: DecimalText
    spent: DecimalText = "0"
    spent_by_kind: dict[str, DecimalText] = Field(default_factory=dict)
    spent_by_pnl: dict[str, DecimalText] = Field(default_factory=dict)
    spent_by_touchpoint: dict[str, DecimalText] = Field(default_factory=dict)
    unspent: DecimalText = Field(default="0", description=(
        "What funded work has committed and not spent (per initiative, never below 0)."))


# --- scorecard ----------------------------------------------------------------------------


class DiffInDiff(ReadRow):
    """A pilot against its control group: the difference-in-differences effect."""

    control_after: DecimalText
    control_before: DecimalText
    effect: DecimalText
    naive_change: DecimalText
    treated_after: DecimalText
    treated_before: DecimalText


class Interval(ReadRow):
    """A confidence interval of a percentage."""

    confidence: DecimalText
    high: DecimalText
    low: DecimalText
    method: str


class StatInterval(ReadRow):
    """An interval the latest reading supports (issue 15): `of` names the statistic (`nps`
    in points, `top_box_share` and `value` in percent, `mean`, `median` in the metric's unit)."""

    confidence: DecimalText
    estimate: DecimalText
    high: DecimalText
    low: DecimalText
    method: str = Field(description="`adjusted-wald`, `wilson`, `t` or "
                                    "`normal-approximation` (docs/scoring-guide.md).")
    of: str


class PeriodChange(ReadRow):
    """The change from the previous month's reading to the latest, with its test (issue 15):
    `method` `nps-difference-z`, `two-proportion-z` (percent) or `welch-t`; `word` is
    "improving" / "worsening" only when p < 0.05, else "no detectable change"."""

    after: DecimalText
    before: DecimalText
    df: DecimalText | None
    difference: DecimalText
    from_month: str
    method: str
    p_value: DecimalText
    significant: bool
    statistic: DecimalText
    to_month: str
    word: str


class ThresholdShare(ReadRow):
    """The share of the latest reading's sample meeting the customer's own threshold, with
    its Wilson interval (fractions)."""

    high: DecimalText | None
    low: DecimalText | None
    sample_size: int | None
    share: DecimalText
    threshold: DecimalText | None


class ControlSignal(ReadRow):
    """A run rule broken at a month: `beyond_limits`, `run_of_8`, `2_of_3_beyond_2_sigma`
    or `4_of_5_beyond_1_sigma`, above or below the centre line."""

    month: str
    rule: str
    side: str


class ControlLimits(ReadRow):
    """An individuals (XmR) chart of the monthly values: natural process limits centre ±
    2.66 * average moving range, from the first `baseline_points` months."""

    baseline_points: int
    centre: DecimalText
    latest_signals: list[str]
    lower: DecimalText
    moving_range: DecimalText
    points: int
    sigma: DecimalText
    signals: list[ControlSignal]
    upper: DecimalText
    word: str


class TrendPoint(ReadRow):
    """A month's latest reading."""

    month: str
    sample_size: int | None
    value: DecimalText


class AimedPlanPoint(ReadRow):
    """A benefit plan's promise on the card's metric by a date, and what was read by then
    (issue 14: realisation over time; the same `realization_percent` as the claim's)."""

    actual: DecimalText | None
    actual_month: str | None
    by: DayText
    expected: DecimalText
    realization_percent: DecimalText | None


class AimedInitiative(ReadRow):
    """A funded initiative that claims an impact on the card's metric."""

    actual: DecimalText | None
    actual_source: str | None
    benefit_owner: str | None = None  # from its benefit plan (issue 14); None: no plan
    benefit_points: list[AimedPlanPoint] = Field(default_factory=list)
    code: str
    delivered_on: DayText | None
    expected_value: DecimalText
    gap_closed: DecimalText
    planned_delta: DecimalText
    reach: DecimalText
    realization_percent: DecimalText | None
    status: str
    title: str


class TargetDecision(ReadRow):
    """A decision on an initiative claiming the metric, ranked while a target version was in
    force (its `ranking_position` fell in that version's positions)."""

    code: str
    outcome: str
    position: int
    rank: int | None
    ranking_position: int


class TargetVersion(ReadRow):
    """One version of a metric's baseline and target: the definition, then each re-baseline
    or retarget, with the positions it was in force for (from its own position up to, not
    including, the next version's; `in_force_until` None: still in force)."""

    actor: str | None
    at: TimeText
    baseline: DecimalText
    kind: str = Field(description="`definition`, `rebaseline`, `retarget` or "
                                  "`rebaseline+retarget`.")
    position: int | None
    reason: str | None
    target: DecimalText
    target_date: DayText | None


class TargetInForce(ReadRow):
    """A target version (as `TargetVersion`) on a scorecard card: when it was in force, and
    the decisions of the card's period on initiatives claiming the metric that were ranked
    under it."""

    actor: str | None
    at: TimeText
    baseline: DecimalText
    decisions: list[TargetDecision]
    in_force_from: int | None
    in_force_until: int | None
    kind: str
    position: int | None
    reason: str | None
    target: DecimalText
    target_date: DayText | None
    version: int


class ScorecardCard(ReadRow):
    """One customer success metric: where it is, where it should be, who works on it.

    Issue 15 added (with defaults, for cards stored before): `intervals` of the latest
    reading, the tested `change` from the previous month, the customer-`threshold_share`,
    the control chart (`spc`) and the `trend_word` that follows them (`trend_basis`)."""

    baseline: DecimalText
    change: PeriodChange | None = None
    claimed_gap_share: DecimalText
    current: DecimalText | None
    customer_phrasing: str
    detectable_change: bool | None
    did: DiffInDiff | None
    direction: str
    expected_progress: DecimalText | None
    initiatives: list[AimedInitiative]
    interval: Interval | None
    intervals: list[StatInterval] = Field(default_factory=list)
    kind: str = Field(default="customer", description=(
        "Whose experience the metric measures: `customer`, or `employee` (an "
        "employee-experience metric, issue 15); cards stored before read as `customer`."))
    metric: str
    observed_at: TimeText | None
    operational_metric: str
    overclaimed: bool
    period: str
    pnl: str | None
    progress: DecimalText | None
    readings: int
    sample_size: int | None
    scenario: str | None
    spc: ControlLimits | None = None
    status: str
    target: DecimalText
    target_date: DayText | None
    # the target history (issue 14); the default reads cards stored before it
    targets: list[TargetInForce] = Field(default_factory=list)
    threshold_share: ThresholdShare | None = None
    trend: list[TrendPoint]
    trend_basis: str | None = Field(default=None, description="`test` or `control chart`.")
    trend_direction: str | None
    trend_word: str | None = Field(default=None, description=(
        "`improving` or `worsening` when the tested change from the previous month is "
        "significant, else when a run rule breaks at the latest month; otherwise `no "
        "detectable change`; None with a single reading."))
    unit: str
    weight: int


# --- initiatives --------------------------------------------------------------------------


class ImpactClaimRow(ReadRow):
    """An expected impact on one metric."""

    expected_value: DecimalText
    metric: str
    reach: DecimalText


class ProposalRow(ReadRow):
    """What an initiative proposes."""

    confidence: DecimalText
    cost: DecimalText
    dependencies: list[str]
    expected_impacts: list[ImpactClaimRow]
    functional_areas: list[str]
    mandate_reason: str | None
    mandatory: bool
    problem: str
    scenario: str | None
    title: str
    touchpoints: list[str]


class DecisionRecord(ReadRow):
    """A decision (approve, reject, defer, first approval): who, when, against what."""

    actor: str
    approvals: list[str]
    at: TimeText
    available_after: DecimalText
    available_before: DecimalText
    cip: DecimalText
    cut_line_rank: int | None
    decision_id: str
    departure: bool
    outcome: str
    plan: str | None = Field(default=None, description=(
        "The plan of record the decision was judged against (issue 16): then `recommended` "
        "means the plan funds it. None: judged against the recommendation's cut line."))
    policy_version: int
    position: int
    rank: int | None
    ranking_position: int
    rationale: str
    recommended: bool
    score: DecimalText


class OutcomeRow(ReadRow):
    """An observed outcome of delivered work."""

    actor: str
    metric: str
    note: str
    observed_at: TimeText
    observed_value: DecimalText


class SpendRow(ReadRow):
    """A spend actual recorded against funded work."""

    actor: str
    amount: DecimalText
    at: TimeText
    note: str
    position: int
    reference: str
    spent_on: DayText


class DescopeRow(ReadRow):
    """A descope: the commitment cut, what went back to the pool, and why."""

    actor: str
    amount_released: DecimalText
    at: TimeText
    new_cost: DecimalText
    position: int
    previous_commitment: DecimalText
    reason: str


class GateRow(ReadRow):
    """A later tranche named on approval; `at` and `position` are its release's."""

    amount: DecimalText
    approvals: list[str]
    at: TimeText | None
    name: str
    position: int | None
    released: bool


class InitiativeCard(ReadRow):
    """An initiative's whole card (spent, spend, released and descopes: issue 14, with
    defaults so that cards stored before spend was recorded still read)."""

    approvals: list[str]
    # carry-over links (issue 14): "FY2027/I05"; the defaults read cards stored before them
    carried_from: str | None = None
    carried_to: str | None = None
    carry_reason: str | None = None
    code: str
    committed: DecimalText
    decisions: list[DecisionRecord]
    delivered_on: DayText | None
    descopes: list[DescopeRow] = Field(default_factory=list)
    gates: list[GateRow] = Field(default_factory=list)
    id: str
    kind: str
    outcomes: list[OutcomeRow]
    period: str
    pnl: str | None
    proposal: ProposalRow
    released: DecimalText = "0"
    spend: list[SpendRow] = Field(default_factory=list)
    spent: DecimalText = "0"
    status: str
    submitted_at: TimeText
    submitted_by: str
    updated_at: TimeText | None
    version: int


# --- the register -------------------------------------------------------------------------


class PnlRow(ReadRow):
    """A P&L and its owners."""

    code: str
    name: str
    opex: DecimalText | None
    owners: list[str]


class ScenarioRow(ReadRow):
    """A customer's critical scenario."""

    code: str
    description: str
    name: str
    pnl: str | None


class OperationalMetric(ReadRow):
    """One operational metric a customer success metric maps to (issue 15), with its owner."""

    aggregation: str = Field(description="How the readings are aggregated, e.g. `median per "
                                         "month`.")
    department: str = Field(description="The department or function that owns it.")
    name: str
    source: str = Field(description="Where its data comes from.")


class MappedBy(ReadRow):
    """Who mapped a metric's operational metrics last, when, at which log position."""

    actor: str
    at: TimeText
    position: int


class MetricRow(ReadRow):
    """A customer success metric's register entry."""

    baseline: DecimalText
    code: str
    customer_phrasing: str
    customer_threshold: DecimalText | None
    defined_at: TimeText
    direction: str
    importance: DecimalText | None
    kind: str = Field(default="customer", description=(
        "Whose experience it measures: `customer`, or `employee` for an employee-experience "
        "metric (issue 15); older rows read as `customer`."))
    # who mapped its operational metrics last (issue 15); the default reads older rows
    operational_mapped: MappedBy | None = None
    operational_metric: str
    # its operational metrics with owners (issue 15); the default reads older rows
    operational_metrics: list[OperationalMetric] = Field(default_factory=list)
    pnl: str | None
    satisfaction: DecimalText | None
    scenario: str | None
    target: DecimalText
    target_date: DayText | None
    # every target version, the definition first (issue 14); the default reads older rows
    targets: list[TargetVersion] = Field(default_factory=list)
    unit: str


class GuardrailRow(ReadRow):
    """A policy guardrail (issue 16): a minimum and/or maximum of the pool, each a share of it
    or an amount (amounts: decision 122; older rows read without them)."""

    dimension: str = Field(description="`kind`, `pnl`, `touchpoint` or `functional_area`")
    value: str
    min_share: DecimalText | None = None
    max_share: DecimalText | None = None
    min_amount: DecimalText | None = None
    max_amount: DecimalText | None = None


class PolicyTermsRow(ReadRow):
    """Everything a ranking depends on besides the initiatives and the metric register."""

    amber_slack: DecimalText
    at_risk_realisation: DecimalText = "0.5"  # added for signals (issue 14): older docs lack it
    confidence_tiers: dict[str, DecimalText]
    cost_basis: str
    cost_unit: DecimalText
    four_eyes_threshold: DecimalText
    gap_cap: DecimalText
    green_slack: DecimalText
    include_disbenefits: bool
    min_sample_size: int
    tie_break: list[str]
    undecided_days: int = 30  # added for signals (issue 14): older docs lack it
    weights: dict[str, int]
    # guardrails (issue 16); the default reads older rows
    guardrails: list[GuardrailRow] = Field(default_factory=list)


class PolicyRow(ReadRow):
    """A version of the scoring policy."""

    actor: str
    at: TimeText
    rationale: str
    terms: PolicyTermsRow
    version: int


# --- computed at read time ----------------------------------------------------------------


class Plan(ReadRow):
    """A selection of initiatives for the remaining pool."""

    keys: list[str | None]
    total_cost: DecimalText
    total_value: DecimalText
    remaining: DecimalText


class FrontierPoint(ReadRow):
    """The best value a budget buys."""

    budget: DecimalText
    value: DecimalText
    cost_used: DecimalText
    keys: list[str | None]


class Unfunded(ReadRow):
    """An undecided initiative the greedy cut line leaves out, and why."""

    code: str | None
    rank: int
    title: str | None
    reason_code: str
    reason: str | None
    extra_budget: DecimalText | None
    in_optimum: bool


class Overclaim(ReadRow):
    """A metric's claimed share of its gap across a selection (over 1: double counting)."""

    metric: str
    claimed_gap_share: DecimalText
    overclaimed: bool


class GuardrailStatus(ReadRow):
    """How the greedy and the optimal plans stand against one policy guardrail (issue 16).

    Spend counts what the period has committed plus what the plan adds; shares are of the pool.
    `binds`: the optimum without guardrails would not meet it.
    """

    name: str
    dimension: str
    value: str
    min_share: DecimalText | None
    max_share: DecimalText | None
    min_amount: DecimalText | None
    max_amount: DecimalText | None
    greedy_spend: DecimalText
    greedy_share: DecimalText
    greedy_met: bool
    optimal_spend: DecimalText | None
    optimal_share: DecimalText | None
    binds: bool


class Recommendation(ReadRow):
    """Greedy cut line, exact optimum and efficient frontier for the remaining pool."""

    period: str
    currency: str
    available: DecimalText
    greedy: Plan
    optimal: Plan | None
    problem: str | None
    value_left_by_greedy: DecimalText | None
    frontier: list[FrontierPoint]
    unfunded: list[Unfunded]
    overclaims: list[Overclaim]
    # one page of the unfunded list (decision 130); the defaults read a whole list
    unfunded_total: int | None = None
    unfunded_offset: int = 0
    # guardrails of the policy in force (issue 16); the default reads older rows
    guardrails: list[GuardrailStatus] = Field(default_factory=list)
    infeasible_guardrails: list[str] = Field(default_factory=list)


class DepartureHead(ReadRow):
    """Which initiative a departure is about."""

    initiative_id: str
    code: str
    title: str


class Departure(DecisionRecord, DepartureHead):
    """A decision that went against the recommendation, with its initiative."""


class InitiativeRef(ReadRow):
    """Who and what a decision was about."""

    id: str
    code: str
    period: str
    pnl: str | None
    kind: str
    status: str
    submitted_by: str


class DecisionExplanation(ReadRow):
    """A decision with the ranking it was taken against, replayed at its log position."""

    decision: DecisionRecord
    initiative: InitiativeRef
    title: str
    ranking_position: int
    ranking_then: list[RankingRow]
    entry_then: RankingRow | None
    cut_line_rank: int | None
    departure: bool
    justification: str | None
    approvers: list[str]
    pool_before: DecimalText
    pool_after: DecimalText
    policy_version: int


class ExplainedDecision(DecisionRecord):
    """A decision record with its initiative, its period and its explanation."""

    initiative_id: str
    initiative_code: str
    period: str
    explanation: DecisionExplanation

    @classmethod
    def of(cls, explanation: DecisionExplanation) -> ExplainedDecision:
        """The decision record of an explanation."""
        return cls(**dict(explanation.decision), initiative_id=explanation.initiative.id,
                   initiative_code=explanation.initiative.code,
                   period=explanation.initiative.period, explanation=explanation)


class AuditEvent(ReadRow):
    """One event of the log, flattened: who, when, what, and the event's own fields."""

    position: int
    at: TimeText
    topic: str
    aggregate_id: str
    aggregate_version: int
    actor: str | None
    summary: str
    details: dict[str, Any] = Field(description="The event's own fields (they vary by topic).")


# --- "you said, we did" (projections/feed.py) ------------------------------------------


class SaidDidDelivery(ReadRow):
    """A delivered initiative claiming the story's metric, and what changed since its
    delivery: the newest reading on or before the day (else the baseline) against the newest
    reading after it."""

    before: DecimalText
    before_observed_at: TimeText | None
    before_source: str = Field(description="`reading`, or `baseline` when no reading is "
                                           "that old.")
    change: DecimalText | None
    code: str
    delivered_on: DayText
    initiative_id: str
    now: DecimalText | None
    now_observed_at: TimeText | None
    period: str
    sentence: str
    title: str
    updated: TimeText
    verdict: str = Field(description="`better`, `worse` or `unchanged` for customers, or "
                                     "`no_reading_yet` after the delivery.")


class SaidDidScenario(ReadRow):
    """A customer scenario: what was delivered for the metrics customers set on it (computed
    from the stories at read time)."""

    code: str | None
    name: str | None
    metrics: list[str]
    delivered: list[str] = Field(description="Codes of the delivered initiatives, in "
                                             "delivery order.")
    sentence: str


class SaidDidStory(ReadRow):
    """One customer success metric: what customers said, what was delivered for it, and what
    changed for them since the first delivery (plain language in `sentence`)."""

    baseline: DecimalText
    before: DecimalText | None
    before_observed_at: TimeText | None
    before_source: str | None
    change: DecimalText | None
    customer_phrasing: str
    deliveries: list[SaidDidDelivery]
    direction: str
    first_delivered_on: DayText | None
    metric: str
    now: DecimalText | None
    now_observed_at: TimeText | None
    operational_metric: str
    pnl: str | None
    scenario: str | None
    scenario_name: str | None
    sentence: str | None
    target: DecimalText
    unit: str
    updated: TimeText | None
    verdict: str | None


def jsonable(value: Any) -> Any:
    """Rows (alone, or in lists and tuples) as plain JSON values, as the documents hold them."""
    if isinstance(value, ReadRow):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


#: The row of each stored document model (`projections.documents.Doc.model`).
DOCUMENT_ROWS: dict[str, type[ReadRow]] = {
    "ranking": RankingRow, "ledger": Ledger, "scorecard": ScorecardCard,
    "initiative": InitiativeCard, "pnl": PnlRow, "scenario": ScenarioRow, "metric": MetricRow,
    "policy": PolicyRow, "you_said_we_did": SaidDidStory,
}
