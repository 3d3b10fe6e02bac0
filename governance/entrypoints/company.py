"""Company files (docs/company-file.md): parse fully, then load through the governance commands."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import InvalidInput
from domain.initiative import Proposal
from domain.policy import DEFAULT_CONFIDENCE_TIERS, PolicyTerms
from domain.values import ImpactClaim, Reading
from governance.app import Governance
from governance.fields import (
    Cohort,
    FileCount,
    Label,
    LongText,
    Observed,
    OptionalReason,
    Reason,
    Source,
    Text,
    Unit,
)
from governance.principal import CX_EXEC, FINANCE, INGEST, PNL_OWNER, Principal

MILLION = Decimal(1_000_000)
DEFAULT_ISSUER = "cxgov"  # the embedded token issuer: imported people are the demo personas
#: Observation batches per save (one `record_observation_batches` transaction) in an import.
OBSERVATION_BATCHES_PER_SAVE = 100

Amount = Annotated[Decimal, Field(allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodIn(_Model):
    code: str
    opex_total: Amount
    cap_percent: Amount = Decimal(10)


class PnlIn(_Model):
    code: str
    name: Text
    opex: Amount | None = None
    owners: list[str] = Field(default_factory=list)


class ScenarioIn(_Model):
    code: str
    name: Text
    pnl: str | None = None
    description: LongText = ""


class OperationalMetricIn(_Model):
    """One operational metric a metric maps to, with its owner (issue 15)."""

    name: Text
    source: Text
    aggregation: Text
    department: Label


class MetricIn(_Model):
    code: str
    customer_phrasing: Text
    operational_metric: Text
    pnl: str | None = None
    scenario: str | None = None
    unit: Unit
    direction: Literal["decrease", "increase"]
    baseline: Amount
    target: Amount
    target_date: date | None = None
    customer_threshold: Amount | None = None
    importance: Amount | None = None
    satisfaction: Amount | None = None
    weight: int | None = Field(default=None, ge=0, le=100)
    operational_metrics: list[OperationalMetricIn] = Field(default_factory=list, max_length=20)


class ImpactIn(_Model):
    metric: str
    expected_value: Amount
    reach: Amount


class InitiativeIn(_Model):
    code: str | None = None
    title: Text
    problem: LongText = ""
    kind: Literal["pnl", "cx_infrastructure", "cx_process"]
    pnl: str | None = None
    scenario: str | None = None
    touchpoints: list[Label] = Field(default_factory=list)
    functional_areas: list[Label] = Field(default_factory=list)
    cost_musd: Amount | None = None
    cost: Amount | None = None
    confidence: Amount
    expected_impacts: list[ImpactIn] = Field(default_factory=list)
    dependencies: list[str] = Field(default_factory=list)
    mandatory: bool = False
    mandate_reason: OptionalReason | None = None

    def amount(self) -> Decimal:
        """Cost in currency units (`cost`), or millions (`cost_musd`)."""
        if (self.cost is None) == (self.cost_musd is None):
            raise InvalidInput(f"initiative {self.code}: give exactly one of cost, cost_musd",
                               field="cost")
        amount = self.cost if self.cost is not None else (self.cost_musd or Decimal(0)) * MILLION
        return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount


class PolicyIn(_Model):
    weights: dict[str, int] | None = None
    confidence_tiers: dict[str, Amount] | None = None
    four_eyes_threshold: Amount = Decimal(10_000_000)
    cost_unit: Amount = MILLION
    min_sample_size: int = 30
    rationale: Reason = "Initial policy: weights proportional to ODI opportunity scores."


class ReadingIn(_Model):
    value: Amount
    observed_at: Observed
    sample_size: FileCount | None = None
    pnl: str | None = None
    cohort: Cohort | None = None
    # issue 15: segments, a distribution summary and category counts (domain.values.Reading)
    channel: Cohort | None = None
    region: Cohort | None = None
    mean: Amount | None = None
    sd: Amount | None = None
    median: Amount | None = None
    p90: Amount | None = None
    share_meeting: Amount | None = None
    promoters: FileCount | None = None
    passives: FileCount | None = None
    detractors: FileCount | None = None
    top_box: FileCount | None = None

    def reading(self) -> Reading:
        """The domain's reading (its fields have the same names)."""
        return Reading(**self.model_dump())


class ObservationsIn(_Model):
    metric: str
    batch_key: str
    source: Source = "company file"
    readings: list[ReadingIn]


class CompanyFile(_Model):
    """The whole file; `expected` and `fictional` are informative and ignored."""

    fictional: bool | None = None
    company: Text
    currency: str
    period: PeriodIn
    pnls: list[PnlIn] = Field(default_factory=list)
    scenarios: list[ScenarioIn] = Field(default_factory=list)
    metrics: list[MetricIn] = Field(default_factory=list)
    policy: PolicyIn | None = None
    initiatives: list[InitiativeIn] = Field(default_factory=list)
    observations: list[ObservationsIn] = Field(default_factory=list)
    cx_sponsor: str = "cx.architect"
    expected: dict[str, Any] | None = None


def parse_company(text: str) -> CompanyFile:
    """Parse and validate a company file; numbers are read as Decimal, never float."""
    try:
        raw = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not JSON: {exc}") from None
    try:
        return CompanyFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']} ({exc.error_count()} problem(s))",
                           field=where, errors=exc.errors(include_url=False)) from None


def load_company_file(path: Path) -> CompanyFile:
    """Read and parse a company file."""
    return parse_company(path.read_text(encoding="utf-8"))


def _actor(subject: str, *roles: str, pnls: tuple[str, ...] = (),
           issuer: str = DEFAULT_ISSUER) -> Principal:
    return Principal(subject=subject, roles=frozenset(roles), pnls=frozenset(pnls),
                     issuer=issuer)


def owner_of(pnl: PnlIn) -> str:
    """The subject that submits a P&L's initiatives during an import."""
    return pnl.owners[0] if pnl.owners else f"{pnl.code.lower()}.owner"


def policy_terms(company: CompanyFile) -> PolicyTerms:
    """The policy a file asks for; weights default to the metrics' `weight` column."""
    spec = company.policy or PolicyIn()
    weights = spec.weights or {m.code: m.weight for m in company.metrics if m.weight is not None}
    return PolicyTerms(
        weights=dict(weights),
        confidence_tiers=dict(spec.confidence_tiers or DEFAULT_CONFIDENCE_TIERS),
        four_eyes_threshold=spec.four_eyes_threshold,
        cost_unit=spec.cost_unit,
        min_sample_size=spec.min_sample_size,
    ).check()


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote."""

    period: str
    commands: int
    first_position: int
    last_position: int
    seconds: float = 0.0

    @property
    def events(self) -> int:
        """Log positions the import wrote (its events, when nobody else writes meanwhile)."""
        return max(self.last_position - self.first_position + 1, 0)


def repeated_batches(observations: Sequence[ObservationsIn]) -> list[str]:
    """`metric/batch_key` of every batch that appears more than once, in file order."""
    seen: set[tuple[str, str]] = set()
    repeated: list[str] = []
    for b in observations:
        key = (b.metric, b.batch_key.strip())
        if key in seen:
            repeated.append(f"{b.metric}/{b.batch_key}")
        seen.add(key)
    return repeated


def import_company(app: Governance, company: CompanyFile,
                   progress: Callable[[str], None] | None = None, *,
                   issuer: str = DEFAULT_ISSUER) -> ImportReport:
    """Load a company through the governance commands, in file order (= submission order).

    The people named in the file act under `issuer` (the embedded token issuer by default), so
    the sponsor of a cross-P&L initiative can never approve it through the API either.
    """
    finance = _actor("finance.lead", FINANCE, issuer=issuer)
    cx = _actor(company.cx_sponsor, CX_EXEC, issuer=issuer)
    ingest = _actor("ingest.bot", INGEST, issuer=issuer)
    owners = {p.code: _actor(owner_of(p), PNL_OWNER, pnls=(p.code,), issuer=issuer)
              for p in company.pnls}
    terms = policy_terms(company)
    repeated = repeated_batches(company.observations)
    if repeated:
        raise InvalidInput(f"observations: batch key(s) given more than once: "
                           f"{', '.join(repeated[:20])}{' ...' if len(repeated) > 20 else ''}",
                           field="observations")
    started = time.perf_counter()
    first = app.position() + 1
    count = 0

    def step(label: str, written: Any) -> None:
        nonlocal count
        count += 1
        if progress:
            progress(f"{label} @ {written.position}")

    step(f"period {company.period.code}", app.open_period(
        finance, code=company.period.code, currency=company.currency,
        opex_total=company.period.opex_total, cap_percent=company.period.cap_percent))
    for p in company.pnls:
        step(f"P&L {p.code}", app.register_pnl(finance, code=p.code, name=p.name,
                                               owners=[owner_of(p)], opex=p.opex))
    for s in company.scenarios:
        step(f"scenario {s.code}", app.define_scenario(cx, code=s.code, name=s.name, pnl=s.pnl,
                                                       description=s.description))
    for m in company.metrics:
        step(f"metric {m.code}", app.define_metric(
            cx, code=m.code, customer_phrasing=m.customer_phrasing,
            operational_metric=m.operational_metric, unit=m.unit, direction=m.direction,
            baseline=m.baseline, target=m.target, scenario=m.scenario, pnl=m.pnl,
            target_date=m.target_date, customer_threshold=m.customer_threshold,
            importance=m.importance, satisfaction=m.satisfaction))
        if m.operational_metrics:
            step(f"operational metrics of {m.code}", app.map_operational_metrics(
                cx, code=m.code,
                operational_metrics=[o.model_dump() for o in m.operational_metrics]))
    rationale = (company.policy or PolicyIn()).rationale
    step("scoring policy", app.adopt_policy(cx, terms=terms, rationale=rationale))
    for i in company.initiatives:
        submitter = owners.get(i.pnl or "") if i.kind == "pnl" else cx
        if submitter is None:
            raise InvalidInput(f"initiative {i.code}: P&L {i.pnl} is not in the file",
                               field="pnl")
        proposal = Proposal(
            title=i.title, problem=i.problem, scenario=i.scenario,
            touchpoints=tuple(i.touchpoints), functional_areas=tuple(i.functional_areas),
            cost=i.amount(), confidence=i.confidence,
            expected_impacts=tuple(ImpactClaim(c.metric, c.expected_value, c.reach)
                                   for c in i.expected_impacts),
            dependencies=tuple(i.dependencies), mandatory=i.mandatory,
            mandate_reason=i.mandate_reason)
        step(f"initiative {i.code}", app.submit_initiative(
            submitter, period=company.period.code, kind=i.kind, pnl=i.pnl, proposal=proposal,
            code=i.code))
    for chunk in observation_chunks(company.observations):
        batches = [(b.metric, b.batch_key,
                    tuple(r.reading() for r in b.readings), b.source) for b in chunk]
        step(f"observations {chunk[0].metric}/{chunk[0].batch_key} .. "
             f"{chunk[-1].metric}/{chunk[-1].batch_key} ({len(chunk)} batches)",
             app.record_observation_batches(ingest, batches=batches))
    return ImportReport(period=company.period.code, commands=count, first_position=first,
                        last_position=app.position(), seconds=time.perf_counter() - started)


def observation_chunks(observations: Sequence[ObservationsIn]) -> list[list[ObservationsIn]]:
    """Consecutive groups of batches saved together: at most OBSERVATION_BATCHES_PER_SAVE
    batches and Governance.max_bulk_readings readings each (a bigger batch is alone)."""
    chunks: list[list[ObservationsIn]] = []
    readings = 0
    for batch in observations:
        size = len(batch.readings)
        if (not chunks or len(chunks[-1]) >= OBSERVATION_BATCHES_PER_SAVE
                or readings + size > Governance.max_bulk_readings):
            chunks.append([])
            readings = 0
        chunks[-1].append(batch)
        readings += size
    return chunks
