"""Request and response schemas of the HTTP API (naming grid: XCreate, XUpdate, XPublic).

Request bodies forbid unknown fields, so nobody sets server-owned values (status, approved
amount, scores). Money and other exact numbers travel as decimal strings, never floats.

Over 400 lines because it is the API's whole vocabulary (every request body and every response
envelope) in one place; the read rows themselves live in `projections.rows`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    WithJsonSchema,
)

from governance.fields import (
    Cohort,
    Count,
    Label,
    LongText,
    OptionalLine,
    OptionalReason,
    Reason,
    Source,
    Text,
    Unit,
    whole_number,
)
from projections.departments import DepartmentSummary, DepartmentView
from projections.drivers import DriverAnalysis
from projections.fairshare import FairShares
from projections.feedback import FeedbackPage
from projections.jobs import JobMap
from projections.loop_rows import BenefitPlanRow, LoopAnswer, LoopSpeed, ReviewRow, SignalRow
from projections.plans import PlanComparison, PlanRow, PlansList
from projections.rounds import RoundView
from projections.rows import (
    AuditEvent,
    Departure,
    ExplainedDecision,
    InitiativeCard,
    Ledger,
    MetricRow,
    PnlRow,
    PolicyRow,
    RankingRow,
    ReadRow,
    Recommendation,
    SaidDidScenario,
    SaidDidStory,
    ScenarioRow,
    ScorecardCard,
)

AMOUNT_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,6})?$"
NUMBER_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
FRACTION_PATTERN = r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"
PERCENT_PATTERN = r"^(10(\.0{1,6})?|[0-9](\.[0-9]{1,6})?)$"


def _decimal_string(pattern: str) -> Callable[[object], Decimal]:
    compiled = re.compile(pattern)

    def parse(value: object) -> Decimal:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError("must be a decimal string such as \"1250000.00\"")
        return Decimal(value)

    return parse


def _schema(pattern: str, example: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example],
                           "description": description})


_AS_STRING = PlainSerializer(str, return_type=str, when_used="json")
Amount = Annotated[Decimal, BeforeValidator(_decimal_string(AMOUNT_PATTERN)), _AS_STRING,
                   _schema(AMOUNT_PATTERN, "6000000.00", "A non-negative money amount.")]
Number = Annotated[Decimal, BeforeValidator(_decimal_string(NUMBER_PATTERN)), _AS_STRING,
                   _schema(NUMBER_PATTERN, "48", "An exact decimal number.")]
Fraction = Annotated[Decimal, BeforeValidator(_decimal_string(FRACTION_PATTERN)), _AS_STRING,
                     _schema(FRACTION_PATTERN, "0.8", "A decimal in [0, 1].")]
Percent = Annotated[Decimal, BeforeValidator(_decimal_string(PERCENT_PATTERN)), _AS_STRING,
                    _schema(PERCENT_PATTERN, "10", "A percent in [0, 10].")]


Code = Annotated[str, Field(pattern=CODE_PATTERN, examples=["RB"])]
#: A policy weight: whole points, 0-100.
Weight = Annotated[int, Field(ge=0, le=100), BeforeValidator(whole_number)]
#: The smallest sample a reading needs to count.
MinSample = Annotated[int, Field(ge=0, le=10**9), BeforeValidator(whole_number)]
Kind = Literal["pnl", "cx_infrastructure", "cx_process"]
Subject = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[!-~]+$")]


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# --- periods -----------------------------------------------------------------------------------


class PeriodCreate(RequestBody):
    """Open a fiscal period's pool."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "FY2028", "currency": "USD", "opex_total": "1200000000", "cap_percent": "10"}]})

    code: Code
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
    opex_total: Amount
    cap_percent: Percent = Decimal(10)


class RestatementCreate(RequestBody):
    """Restate company OpEx for a period."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"opex_total": "1150000000", "reason": "Q2 forecast"}]})

    opex_total: Amount
    reason: Reason


class ReasonCreate(RequestBody):
    """A command that needs only a reason (close, withdraw, cancel)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "scope moved to FY2028"}]})

    reason: Reason


class CarryOverCreate(RequestBody):
    """Carry a deferred initiative (or one left undecided when its period closed) into
    another period as a new initiative with the same proposal; `cost` revises its cost,
    `code` names it (default: the next free code), `dependencies` name initiatives of the
    target period (the original's are not carried: codes belong to their period)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"to_period": "FY2028", "reason": "deferred for budget; the problem remains",
         "cost": "4500000"}]})

    to_period: Code
    reason: Reason
    cost: Amount | None = None
    code: Code | None = None
    dependencies: Annotated[list[Code], Field(max_length=50)] = []


# --- register ----------------------------------------------------------------------------------


class PnlCreate(RequestBody):
    """Register a P&L and its owners (JWT subjects)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "CC", "name": "Credit Cards", "owners": ["cc.owner"], "opex": "90000000"}]})

    code: Code
    name: Text
    owners: Annotated[list[Subject], Field(max_length=20)] = []
    opex: Amount | None = None


class ScenarioCreate(RequestBody):
    """Define a customer's critical scenario."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "S9", "name": "Replace a lost card", "pnl": "RB", "description": ""}]})

    code: Code
    name: Text
    pnl: Code | None = None
    description: LongText = ""


class MetricCreate(RequestBody):
    """Define a customer success metric."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "M9", "customer_phrasing": "My new card arrives within two days",
         "operational_metric": "Median days to card delivery", "unit": "days",
         "direction": "decrease", "baseline": "6", "target": "2", "scenario": "S1"}]})

    code: Code
    customer_phrasing: Text
    operational_metric: Text
    unit: Unit
    direction: Literal["decrease", "increase"]
    baseline: Number
    target: Number
    scenario: Code | None = None
    pnl: Code | None = None
    target_date: date | None = None
    customer_threshold: Number | None = None
    importance: Number | None = None
    satisfaction: Number | None = None
    kind: Literal["customer", "employee"] = Field(default="customer", description=(
        "Whose experience it measures: `employee` for an employee-experience metric (e.g. "
        "staff satisfaction), a candidate driver of customer metrics (issue 15)."))


def _day_text(value: object) -> object:
    """A day travels as its ISO 8601 text ("2028-06-30"), never as a number of seconds."""
    if isinstance(value, int | float):
        raise ValueError("a day is an ISO 8601 date such as 2028-06-30")
    return value


#: A calendar day sent as text (a number is refused rather than read as a Unix time).
Day = Annotated[date, BeforeValidator(_day_text)]


class RetargetCreate(RequestBody):
    """Re-baseline (`baseline`) or retarget (`target`, `target_date`) a metric, with a reason.
    A field left out keeps its value; `target_date: null` drops the date. A change that
    changes nothing is refused (422)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"target": "36", "target_date": "2028-06-30",
         "reason": "24 h needs a core-banking change; 36 h is reachable this year"},
        {"baseline": "110", "reason": "the 120 h baseline counted weekends twice"}]})

    baseline: Number | None = None
    target: Number | None = None
    target_date: Day | None = None
    reason: Reason


class ReadingCreate(RequestBody):
    """One observation of a metric."""

    value: Number
    observed_at: AwareDatetime
    sample_size: Count | None = None
    pnl: Code | None = None
    cohort: Cohort | None = None
    # issue 15: segments, a distribution summary of the sample_size responses, category counts
    channel: Cohort | None = None
    region: Cohort | None = None
    mean: Number | None = None
    sd: Number | None = None
    median: Number | None = None
    p90: Number | None = None
    share_meeting: Number | None = None
    promoters: Count | None = None
    passives: Count | None = None
    detractors: Count | None = None
    top_box: Count | None = None


class ObservationBatchCreate(RequestBody):
    """A batch of readings; the batch key makes a retried batch harmless."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"batch_key": "2027-03-crm", "source": "crm",
         "readings": [{"value": "71.5", "observed_at": "2026-03-31T00:00:00Z",
                       "sample_size": 1200}]}]})

    batch_key: Code
    source: Source
    readings: Annotated[list[ReadingCreate], Field(min_length=1, max_length=1000)]


class ObservationBatchItem(RequestBody):
    """One batch of a bulk request: a metric, its batch key, a source and its readings."""

    metric: Code
    batch_key: Code
    source: Source
    readings: Annotated[list[ReadingCreate], Field(min_length=1, max_length=1000)]


class ObservationBatchesCreate(RequestBody):
    """Up to 1,000 batches (10,000 readings in all), recorded all or nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"batches": [
            {"metric": "M1", "batch_key": "2027-03-crm-1", "source": "crm",
             "readings": [{"value": "71.5", "observed_at": "2026-03-31T00:00:00Z",
                           "sample_size": 1200}]},
            {"metric": "M2", "batch_key": "2027-03-crm-1", "source": "crm",
             "readings": [{"value": "4.2", "observed_at": "2026-03-31T00:00:00Z"}]}]}]})

    batches: Annotated[list[ObservationBatchItem], Field(min_length=1, max_length=1000)]


# --- scoring policy ----------------------------------------------------------------------------


class GuardrailIn(RequestBody):
    """A guardrail (issue 16): the least and/or the most one group of initiatives may take of
    a period's pool, each bound a share of the pool or an amount (not both). Cross-P&L work
    is P&L "CX"; an initiative counts toward each of its touchpoints and functional areas."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"dimension": "pnl", "value": "CX", "min_share": "0.25"},
        {"dimension": "pnl", "value": "RB", "max_amount": "40000000"}]})

    dimension: Literal["kind", "pnl", "touchpoint", "functional_area"]
    value: Label = Field(description="The kind, P&L code (CX: cross-P&L work), touchpoint or "
                                     "functional area.")
    min_share: Fraction | None = None
    max_share: Fraction | None = None
    min_amount: Amount | None = None
    max_amount: Amount | None = None


class PolicyTermsIn(RequestBody):
    """Scoring terms; omitted values take the defaults."""

    weights: Annotated[dict[Code, Weight],
                       Field(min_length=1, max_length=50),
                       WithJsonSchema({"type": "object", "minProperties": 1, "maxProperties": 50,
                                       "propertyNames": {"pattern": CODE_PATTERN},
                                       "additionalProperties": {"type": "integer", "minimum": 0,
                                                                "maximum": 100},
                                       "examples": [{"M1": 60, "M2": 40}],
                                       "description": "Integer points per metric, sum 100."})]
    confidence_tiers: Annotated[
        dict[Code, Fraction] | None, Field(max_length=10),
        WithJsonSchema({"anyOf": [{"type": "object", "maxProperties": 10,
                                   "propertyNames": {"pattern": CODE_PATTERN},
                                   "additionalProperties": {"type": "string",
                                                            "pattern": FRACTION_PATTERN}},
                                  {"type": "null"}]})] = None
    cost_unit: Amount | None = None
    four_eyes_threshold: Amount | None = None
    min_sample_size: MinSample | None = None
    at_risk_realisation: Fraction | None = None  # a benefit is at risk below this share
    undecided_days: Annotated[int, Field(ge=1, le=3650), BeforeValidator(whole_number)] | None = (
        None)  # a submission undecided this long raises a signal
    guardrails: Annotated[list[GuardrailIn], Field(max_length=3, description=(
        "At most three guardrails; the recommendation and comply-or-explain honour them "
        "(docs/api.md, Guardrails). Omitted: none."))] = []


class PolicyUpdate(PolicyTermsIn):
    """Adopt scoring terms as the next policy version."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"weights": {"M1": 60, "M2": 40}, "four_eyes_threshold": "10000000",
         "guardrails": [{"dimension": "pnl", "value": "CX", "min_share": "0.25"}],
         "rationale": "Claims weigh more this year"}]})

    rationale: Reason


class PolicyPreview(PolicyTermsIn):
    """What-if: rank a period under draft terms without adopting them."""

    period: Code


# --- initiatives -------------------------------------------------------------------------------


class ImpactIn(RequestBody):
    """An expected impact on one metric."""

    metric: Code
    expected_value: Number
    reach: Fraction


class InitiativeCreate(RequestBody):
    """Submit an initiative (P&L owners for their P&L; CX executives sponsor cross-P&L work)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"period": "FY2027", "kind": "pnl", "pnl": "RB", "title": "Instant card issuing",
         "problem": "Customers wait a week for a card", "scenario": "S1",
         "touchpoints": ["Branch"], "functional_areas": ["Cards ops"], "cost": "2500000",
         "confidence": "0.8",
         "expected_impacts": [{"metric": "M1", "expected_value": "12", "reach": "0.4"}]}]})

    period: Code
    kind: Kind
    pnl: Code | None = None
    code: Code | None = None
    title: Text
    problem: LongText = ""
    scenario: Code | None = None
    touchpoints: Annotated[list[Label], Field(max_length=30)] = []
    functional_areas: Annotated[list[Label], Field(max_length=30)] = []
    cost: Amount
    confidence: Fraction
    expected_impacts: Annotated[list[ImpactIn], Field(max_length=30)] = []
    dependencies: Annotated[list[Code], Field(max_length=30)] = []
    mandatory: StrictBool = False
    mandate_reason: OptionalReason | None = None


class InitiativeUpdate(RequestBody):
    """Revise an undecided initiative: only the fields sent change (If-Match required)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"cost": "2200000", "reason": "vendor quote"}]})

    title: Text | None = None
    problem: LongText | None = None
    scenario: Code | None = None
    touchpoints: Annotated[list[Label], Field(max_length=30)] | None = None
    functional_areas: Annotated[list[Label], Field(max_length=30)] | None = None
    cost: Amount | None = None
    confidence: Fraction | None = None
    expected_impacts: Annotated[list[ImpactIn], Field(max_length=30)] | None = None
    dependencies: Annotated[list[Code], Field(max_length=30)] | None = None
    mandatory: StrictBool | None = None
    mandate_reason: OptionalReason | None = None
    reason: OptionalReason = ""


class GateIn(RequestBody):
    """A later tranche of an approval: its gate's name and amount."""

    name: Label
    amount: Amount


class DecisionCreate(RequestBody):
    """Approve, reject or defer; departures from the recommendation need a rationale. A final
    approval may fund a first tranche and name the gates of the rest (first + gates = cost)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"outcome": "approve", "rationale": "Regulator deadline moves this up"},
        {"outcome": "approve", "first_tranche": "2000000",
         "gates": [{"name": "pilot results", "amount": "3000000"}]}]})

    outcome: Literal["approve", "reject", "defer"]
    rationale: LongText = ""
    first_tranche: Amount | None = None
    gates: Annotated[list[GateIn], Field(max_length=20)] = []
    review: UUID | None = None  # taken in this open review (issue 14): recorded on it


class TrancheReleaseCreate(RequestBody):
    """Release a gate's tranche; a release the current ranking would not fund needs a
    rationale (comply or explain)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"gate": "pilot results", "rationale": "the pilot halved wait times"}]})

    gate: Label
    rationale: LongText = ""


class DeliveryCreate(RequestBody):
    """Report delivery of approved work."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"delivered_on": "2027-06-30", "note": "live in all branches"}]})

    delivered_on: date
    note: LongText = ""


class OutcomeCreate(RequestBody):
    """Record an observed outcome of delivered work on a claimed metric."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"metric": "M1", "observed_value": "60", "observed_at": "2026-09-30T00:00:00Z"}]})

    metric: Code
    observed_value: Number
    observed_at: AwareDatetime
    note: LongText = ""


# --- money over time (issue 14): spend actuals, descope ---------------------------------------


class SpendCreate(RequestBody):
    """Record a spend actual against approved or delivered work."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"amount": "250000", "spent_on": "2026-09-30", "reference": "PO-1042",
         "note": "first milestone"}]})

    amount: Amount
    spent_on: date
    reference: OptionalLine = ""
    note: LongText = ""


class SpendItemCreate(SpendCreate):
    """One spend actual of a bulk call, naming its initiative."""

    initiative_id: UUID


class SpendBatchCreate(RequestBody):
    """Up to 1,000 spend actuals across initiatives, recorded all or nothing."""

    items: list[SpendItemCreate] = Field(min_length=1, max_length=1000)


class DescopeCreate(RequestBody):
    """Cut an approved initiative's commitment to `new_cost`, with a reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"new_cost": "3000000", "reason": "phase 2 dropped"}]})

    new_cost: Amount
    reason: Reason
    review: UUID | None = None  # taken in this open review (issue 14): recorded on it


# --- responses ---------------------------------------------------------------------------------


class ReceiptPublic(BaseModel):
    """Where a write landed in the log, and its entry in the integrity chain."""

    position: int
    entry_hash: str | None = None


class SpendBatchPublic(BaseModel):
    """What a bulk spend call wrote: how many actuals, on which initiatives, where."""

    count: int
    initiatives: list[str]
    position: int
    receipt: ReceiptPublic


class WrittenPublic(BaseModel):
    """What a command wrote: the aggregate, its version, its log position and a receipt."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "6f1c0c2e-8a43-5b8e-9d1f-2a7b4c1d9e00", "version": 1, "position": 42,
         "status": "submitted", "decision": None,
         "receipt": {"position": 42, "entry_hash": None}}]})

    id: str
    version: int
    position: int
    status: str | None = None
    decision: dict[str, Any] | None = None
    receipt: ReceiptPublic


class BatchWrittenPublic(BaseModel):
    """One recorded batch of a bulk write and the id of its aggregate."""

    metric: str
    batch_key: str
    id: str


class ObservationBatchesPublic(BaseModel):
    """What a bulk observation write recorded: every batch, one position and one receipt."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"count": 1, "batches": [{"metric": "M1", "batch_key": "2027-03-crm-1",
                                  "id": "0b8f7e1c-5d7a-5f0e-8c3b-6a1d2e3f4a5b"}],
         "position": 42, "receipt": {"position": 42, "entry_hash": None}}]})

    count: int
    batches: list[BatchWrittenPublic]
    position: int
    receipt: ReceiptPublic


# --- read responses: the typed rows of projections.rows, as of a log position --------------

T = TypeVar("T", bound=ReadRow)


class PagePublic(BaseModel, Generic[T]):
    """One page of a list (limit/offset); `next_offset` is null on the last page."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None
    position: int


class InitiativePagePublic(PagePublic[InitiativeCard]):
    """A page of initiative cards."""


class MetricPagePublic(PagePublic[MetricRow]):
    """A page of customer success metrics."""


class PnlPagePublic(PagePublic[PnlRow]):
    """A page of P&Ls."""


class ScenarioPagePublic(PagePublic[ScenarioRow]):
    """A page of scenarios."""


class RankingPublic(BaseModel):
    """A period's priority ranking as of a log position."""

    items: list[RankingRow]
    position: int


class ScorecardPublic(BaseModel):
    """A period's scorecard, one card per metric, as of a log position."""

    items: list[ScorecardCard]
    position: int


class YouSaidWeDidPublic(BaseModel):
    """"You said, we did": one story per customer success metric (what customers said, what
    was delivered for it, what changed since), as of a log position."""

    items: list[SaidDidStory]
    scenarios: list[SaidDidScenario] = Field(description="Per customer scenario with a "
                                                         "delivery: its metrics and the work "
                                                         "delivered for them.")
    position: int


class JsonFeedExtension(BaseModel):
    """cxgov's fields on a JSON Feed item (`_cxgov`): the metric, the delivery, the figures."""

    metric: str
    scenario: str | None = None
    initiative: str
    period: str
    delivered_on: str
    before: str
    now: str | None = None
    unit: str
    verdict: str


class JsonFeedItem(BaseModel):
    """A JSON Feed 1.1 item: one delivered initiative and one metric it claims."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    url: str | None = None
    title: str
    content_text: str
    summary: str
    date_published: str
    date_modified: str
    tags: list[str]
    cxgov: JsonFeedExtension = Field(alias="_cxgov")


class JsonFeedPublic(BaseModel):
    """"You said, we did" as a JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""

    version: Literal["https://jsonfeed.org/version/1.1"]
    title: str
    home_page_url: str | None = None
    feed_url: str | None = None
    description: str
    language: str
    items: list[JsonFeedItem]


class LedgerPublic(BaseModel):
    """A period's pool ledger as of a log position."""

    item: Ledger
    position: int


class RecommendationPublic(BaseModel):
    """A period's funding recommendation as of a log position."""

    item: Recommendation
    position: int


class FairSharesPublic(BaseModel):
    """A period's fair shares (issue 16): the Method of Equal Shares beside the greedy and
    exact plans, with each P&L's share of spend and of value, as of a log position."""

    item: FairShares
    position: int


class InitiativePublic(BaseModel):
    """One initiative's card as of a log position."""

    item: InitiativeCard
    position: int


class MetricPublic(BaseModel):
    """One customer success metric as of a log position."""

    item: MetricRow
    position: int


class PolicyPublic(BaseModel):
    """The scoring policy in force as of a log position."""

    item: PolicyRow
    position: int


class DecisionRecordPublic(BaseModel):
    """One decision explained, as of a log position."""

    item: ExplainedDecision
    position: int


class DeparturesRegister(BaseModel):
    """A period's decisions against the recommendation, in log order."""

    period: str
    departures: list[Departure]


class DeparturesPublic(BaseModel):
    """The departures register as of a log position."""

    item: DeparturesRegister
    position: int


class AuditPagePublic(BaseModel):
    """Audit events after a position (cursor); pass `next_after` as `after` for more."""

    items: list[AuditEvent]
    limit: int
    next_after: int | None


class HealthPublic(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    position: int | None = None



# --- outbound webhooks (api/routes/webhooks.py) ----------------------------------------------


class WebhookCreate(RequestBody):
    """Subscribe a URL to event kinds: topics (cxgov.Initiative.Approved), an aggregate's
    topics (cxgov.Initiative.*) or every event (*)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://hooks.example.com/cxgov", "kinds": ["cxgov.Initiative.*"],
         "description": "CX leadership channel"}]})

    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[!-~]+$")]
    kinds: Annotated[list[Annotated[str, Field(min_length=1, max_length=130)]],
                     Field(min_length=1, max_length=50)]
    description: OptionalReason = ""  # at most 200 characters (domain)


class WebhookReasonCreate(RequestBody):
    """Pause, resume or delete a subscription, with an optional reason."""

    reason: OptionalReason = ""


class WebhookReplayCreate(RequestBody):
    """Send dead letters again: the named deliveries, or every dead one when none is named."""

    delivery_ids: Annotated[list[UUID], Field(max_length=500)] = []
    reason: OptionalReason = ""


class WebhookCreatedPublic(WrittenPublic):
    """A new subscription, and its signing secret (shown here and by
    `cxgov webhooks secret`; it is derived, never stored)."""

    secret: str


class WebhookPublic(BaseModel):
    """A subscription as of a log position (its newest event's position and version)."""

    id: str
    url: str
    kinds: list[str]
    description: str
    status: Literal["active", "paused", "deleted"]
    created_by: str
    created_at: AwareDatetime
    changed_at: AwareDatetime
    position: int
    version: int


class WebhookListPublic(BaseModel):
    """Every subscription (deleted ones too) as of `position`."""

    items: list[WebhookPublic]
    position: int


class WebhookDeliveryPublic(BaseModel):
    """One delivery of one event to one subscription; `delivery_id` is stable across
    retries (the receiver's de-duplication key)."""

    delivery_id: str
    subscription_id: str
    position: int
    topic: str
    state: Literal["pending", "delivered", "dead", "cancelled"]
    attempts: int
    created_at: AwareDatetime
    next_attempt_at: AwareDatetime | None
    last_attempt_at: AwareDatetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: AwareDatetime | None
    dead_at: AwareDatetime | None


class WebhookDeliveryPagePublic(BaseModel):
    """Deliveries, newest log position first (the outbox now: no as-of)."""

    items: list[WebhookDeliveryPublic]
    limit: int
    offset: int
    next_offset: int | None


# --- the loop (issue 14): signals, reviews, loop speed, benefit plans ---------------------------


class SignalAnswerCreate(RequestBody):
    """Acknowledge or resolve a signal, with a note, in a review when named."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"note": "I01 is not moving M2; the review stops it",
         "review": "6f1c0c2e-8a43-5b8e-9d1f-2a7b4c1d9e00"}]})

    note: LongText = ""
    review: UUID | None = None


class StopCreate(ReasonCreate):
    """Stop approved work with a reason; in a review when named (recorded on it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason": "not moving M2", "review": "6f1c0c2e-8a43-5b8e-9d1f-2a7b4c1d9e00"}]})

    review: UUID | None = None


class ReviewCreate(RequestBody):
    """Open a review of a period (the open signals and the ranking are recorded as of now)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"period": "FY2027", "title": "November portfolio review"}]})

    period: Code
    title: Annotated[str, Field(max_length=200)] = ""  # checked by the domain's text rule


class ReviewClose(RequestBody):
    """Close a review with its minutes."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"minutes": "Stopped I01; M2 to be re-planned next month."}]})

    minutes: Annotated[str, Field(min_length=1, max_length=20000)]


class BenefitPointIn(RequestBody):
    """A claimed metric's expected value by a date."""

    metric: Code
    by: date
    expected: Number


class BenefitPlanCreate(RequestBody):
    """Plan an approved initiative's benefits: an owner and the promised trajectory."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"owner": "Head of Onboarding", "points": [
            {"metric": "M1", "by": "2027-06-30", "expected": "72"},
            {"metric": "M1", "by": "2027-12-31", "expected": "48"}]}]})

    owner: Text
    points: Annotated[list[BenefitPointIn], Field(min_length=1, max_length=60)]


class BenefitPlanRevise(BenefitPlanCreate):
    """Revise a benefit plan (new points, maybe a new owner), with a reason."""

    owner: Text | None = None  # type: ignore[assignment]
    reason: Reason


class SignalsPublic(BaseModel):
    """Signals as of `position`, evaluated at `now` (the wall clock live, the time of the
    event at the as-of position otherwise)."""

    items: list[SignalRow]
    position: int
    now: AwareDatetime


class ReviewListPublic(BaseModel):
    """Reviews, in the order they were opened."""

    items: list[ReviewRow]
    position: int


class ReviewPublic(BaseModel):
    """One review."""

    item: ReviewRow
    position: int


class LoopSpeedPublic(BaseModel):
    """Loop time per period (median, 90th percentile) and every answered signal."""

    items: list[LoopSpeed]
    answers: list[LoopAnswer]
    position: int


class BenefitPlanListPublic(BaseModel):
    """Benefit plans with their realisation so far."""

    items: list[BenefitPlanRow]
    position: int
    now: AwareDatetime


# --- funding plans (issue 16) -------------------------------------------------------------------

class ForcedIn(RequestBody):
    """An initiative forced into or out of a plan, with the reason."""

    code: Code
    reason: Reason


class PlanCreate(RequestBody):
    """Save a named plan of the period: its selection is computed now and recorded."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "Cross-P&L first", "budget": "120000000", "policy_version": 1,
         "forced_in": [{"code": "I04", "reason": "gets done no other way"}],
         "forced_out": [], "description": ""}]})

    name: Label
    budget: Amount = Field(description="What the period may commit in all, funded work "
                                       "included.")
    policy_version: Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(whole_number)] \
        | None = Field(default=None, description="Default: the policy in force.")
    forced_in: list[ForcedIn] = Field(default_factory=list, max_length=500)
    forced_out: list[ForcedIn] = Field(default_factory=list, max_length=500)
    description: LongText = ""


class PlanAdopt(RequestBody):
    """Adopt a saved plan as the period's plan of record (CX executive), with the reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"rationale": "Seybold: cross-P&L work gets done no other way."}]})

    rationale: Reason


class PlansPublic(BaseModel):
    """A period's funding plans and its plan of record, as of a log position."""

    item: PlansList
    position: int


class PlanPublic(BaseModel):
    """One funding plan, as of a log position."""

    item: PlanRow
    position: int


class PlanComparisonPublic(BaseModel):
    """Up to four plans side by side, as of a log position."""

    item: PlanComparison
    position: int


# --- operational metrics with owners, departments (issue 15, part 3) ---------------------------

class OperationalMetricIn(RequestBody):
    """One operational metric a customer success metric maps to, and who owns it."""

    name: Text
    source: Text = Field(description="Where its data comes from.")
    aggregation: Text = Field(description="How readings are aggregated, e.g. `median per "
                                          "month`.")
    department: Label = Field(description="The department or function that owns it "
                                          "(matched case-insensitively).")


class OperationalMetricsCreate(RequestBody):
    """A metric's whole mapping to operational metrics (CX executive): 1 to 20, no name
    twice; it replaces the mapping before. A mapping that changes nothing is refused (422)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"operational_metrics": [
        {"name": "Hours from application to KYC decision", "source": "KYC case system",
         "aggregation": "median per month", "department": "Onboarding Operations"}]}]})

    operational_metrics: list[OperationalMetricIn] = Field(min_length=1, max_length=20)


class DepartmentsPublic(BaseModel):
    """Every department that owns an operational metric, as of a log position."""

    items: list[DepartmentSummary]
    position: int


class DepartmentPublic(BaseModel):
    """One department's operational metrics and the customer outcomes they serve."""

    item: DepartmentView
    position: int


class DriversPublic(BaseModel):
    """A key-driver analysis of one customer success metric (issue 15, part 4), as of a log
    position."""

    item: DriverAnalysis
    position: int


# --- jobs to be done (issue 15, part 5) ---------------------------------------------------------

class JobCreate(RequestBody):
    """A job to be done (CX executive): its statement, ODI importance and satisfaction (0-10),
    optionally its scenario and the customer success metrics that measure it."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "J1", "statement": "Start using my new account the day I open it",
         "importance": "8.6", "satisfaction": "3.9", "scenario": "S1", "metrics": ["M1"]}]})

    code: str = Field(pattern=CODE_PATTERN)
    statement: Text
    importance: Number
    satisfaction: Number
    scenario: str | None = Field(default=None, pattern=CODE_PATTERN)
    metrics: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(default_factory=list,
                                                                       max_length=20)


class JobRate(RequestBody):
    """A job's new ratings (a new survey), with where they came from (CX executive)."""

    importance: Number
    satisfaction: Number
    source: Source


class JobPreview(RequestBody):
    """What-if: rank a period under the weights the job map proposes."""

    period: Code


class JobMapPublic(BaseModel):
    """The job map as of a log position."""

    item: JobMap
    position: int


# --- funding rounds (issue 16, part 4) -----------------------------------------------------

class RoundCreate(RequestBody):
    """A period's funding round (finance or CX executive): four times with a UTC offset,
    intake_opens < intake_closes <= review_deadline <= decision_deadline. Each phase's start
    is inclusive, its end exclusive."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"intake_opens": "2027-01-10T09:00:00Z", "intake_closes": "2027-01-24T09:00:00Z",
         "review_deadline": "2027-01-31T09:00:00Z",
         "decision_deadline": "2027-02-07T09:00:00Z"}]})

    intake_opens: AwareDatetime
    intake_closes: AwareDatetime
    review_deadline: AwareDatetime
    decision_deadline: AwareDatetime


class FeasibilityMarkCreate(RequestBody):
    """A submission's feasibility (finance or CX executive), during intake or review; a
    note is required with needs_information."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"code": "I001", "verdict": "needs_information", "note": "Which vendor, at what cost?"}]})

    code: str = Field(pattern=CODE_PATTERN)
    verdict: Literal["feasible", "needs_information"]
    note: OptionalReason = ""


class RoundChangeCreate(RequestBody):
    """A phase change a CX executive makes now (close intake, open decisions), with a reason
    (decision 200)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Every P&L has submitted; the board meets early."}]})

    reason: Reason


class RoundReschedule(RequestBody):
    """Move any of the round's times (those left out stay), with a reason (CX executive;
    decision 200): no time may move before now, intake's opening is fixed once it opened,
    intake's close and the review deadline once decisions began."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"review_deadline": "2027-02-04T09:00:00Z", "decision_deadline": "2027-02-11T09:00:00Z",
         "reason": "Finance needs four more days for vendor quotes."}]})

    intake_opens: AwareDatetime | None = None
    intake_closes: AwareDatetime | None = None
    review_deadline: AwareDatetime | None = None
    decision_deadline: AwareDatetime | None = None
    reason: Reason


class RoundPublic(BaseModel):
    """A period's funding round as of a log position (item null: the period runs none, and
    takes submissions and decisions at any time)."""

    item: RoundView | None
    position: int


# --- voice of the customer (issue 15, part 6) ---------------------------------------------------

class FeedbackItemIn(RequestBody):
    """One feedback item: the customer's verbatim, channel, day received, optional segment
    (P&L, cohort) and tags (scenario, job, metric)."""

    verbatim: LongText = Field(description="The customer's words (multi-line, up to 4,000).")
    channel: Label
    received_on: Day
    pnl: str | None = Field(default=None, pattern=CODE_PATTERN)
    cohort: Cohort | None = None
    scenario: str | None = Field(default=None, pattern=CODE_PATTERN)
    job: str | None = Field(default=None, pattern=CODE_PATTERN)
    metric: str | None = Field(default=None, pattern=CODE_PATTERN)


class FeedbackCreate(RequestBody):
    """A batch of up to 1,000 feedback items (ingest services, CX executives); a batch key
    recorded already is refused (409), so a retried batch is never applied twice."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "batch_key": "appstore-2026-10", "source": "app store reviews", "items": [
            {"verbatim": "Took a week before I could use my account.", "channel": "app review",
             "received_on": "2026-10-03", "scenario": "S1", "metric": "M1"}]}]})

    batch_key: str = Field(pattern=CODE_PATTERN)
    source: Source
    items: list[FeedbackItemIn] = Field(min_length=1, max_length=1000)


class EvidenceCreate(RequestBody):
    """Feedback items (`<batch_key>/<n>`) an initiative cites as evidence, and why."""

    refs: list[Annotated[str, Field(max_length=60)]] = Field(min_length=1, max_length=200)
    note: OptionalReason = ""


class FeedbackPublic(BaseModel):
    """Feedback items as of a log position."""

    item: FeedbackPage
    position: int

