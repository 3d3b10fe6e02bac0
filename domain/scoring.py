"""Customer Impact Points per cost unit (DOMAIN.md §4.2): pure, exact Decimal arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from domain.initiative import Proposal
from domain.lifecycle import Status
from domain.policy import PolicyTerms
from domain.values import ImpactClaim

ZERO = Decimal(0)
CENT = Decimal("0.01")


def display(value: Decimal) -> Decimal:
    """Round for display only (2 d.p., half up); never used in further arithmetic."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MetricTarget:
    """The baseline and target a gap is measured against."""

    code: str
    baseline: Decimal
    target: Decimal


@dataclass(frozen=True)
class Candidate:
    """An initiative as the scoring model sees it."""

    id: UUID
    code: str
    title: str
    cost: Decimal
    confidence: Decimal
    impacts: tuple[ImpactClaim, ...]
    seq: int
    status: Status = Status.SUBMITTED
    mandatory: bool = False
    dependencies: tuple[str, ...] = ()
    pnl: str | None = None
    kind: str = "pnl"
    touchpoints: tuple[str, ...] = ()  # what policy guardrails group by (issue 16)
    functional_areas: tuple[str, ...] = ()


def candidate_of(*, id: UUID, code: str, proposal: Proposal, seq: int, status: Status,
                 pnl: str | None, kind: str) -> Candidate:
    """The scoring model's view of an initiative's proposal."""
    p = proposal
    return Candidate(id=id, code=code, title=p.title, cost=p.cost, confidence=p.confidence,
                     impacts=tuple(p.expected_impacts), seq=seq, status=status,
                     mandatory=p.mandatory, dependencies=tuple(p.dependencies), pnl=pnl,
                     kind=kind, touchpoints=tuple(p.touchpoints),
                     functional_areas=tuple(p.functional_areas))


@dataclass(frozen=True)
class ImpactLine:
    """One metric's contribution: weight x reach x gap closed (before confidence)."""

    metric: str
    weight: int
    reach: Decimal
    expected_value: Decimal
    gap_closed: Decimal
    points: Decimal
    warning: str | None = None


@dataclass(frozen=True)
class Scored:
    """A candidate with its CIP, score and the breakdown anyone can recompute by hand."""

    candidate: Candidate
    cip: Decimal
    score: Decimal
    lines: tuple[ImpactLine, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings raised by any impact line."""
        return tuple(line.warning for line in self.lines if line.warning)


def gap_closed(
    metric: MetricTarget, expected: Decimal, *, cap: Decimal = Decimal(1),
    include_disbenefits: bool = False,
) -> tuple[Decimal, str | None]:
    """Share of the baseline-to-target gap an expected value closes, clamped to [0, cap]."""
    gap = metric.target - metric.baseline
    if gap == 0:
        return ZERO, f"{metric.code} is already at target: no gap to close"
    g = (expected - metric.baseline) / gap
    warning = None
    if g < 0:
        warning = f"disbenefit: {metric.code} expected to move away from target"
        if not include_disbenefits:
            g = ZERO
    return min(g, cap), warning


def score_candidate(
    candidate: Candidate, metrics: Mapping[str, MetricTarget], terms: PolicyTerms
) -> Scored:
    """CIP = c x sum(W x r x g); score = CIP / (cost / cost unit)."""
    lines: list[ImpactLine] = []
    for claim in candidate.impacts:
        weight = terms.weights.get(claim.metric, 0)
        metric = metrics.get(claim.metric)
        if metric is None:
            lines.append(ImpactLine(claim.metric, weight, claim.reach, claim.expected_value,
                                    ZERO, ZERO, f"{claim.metric} is not in the metric register"))
            continue
        g, warning = gap_closed(metric, claim.expected_value, cap=terms.gap_cap,
                                include_disbenefits=terms.include_disbenefits)
        if weight == 0 and warning is None:
            warning = f"{claim.metric} carries no weight in this policy"
        lines.append(ImpactLine(claim.metric, weight, claim.reach, claim.expected_value, g,
                                Decimal(weight) * claim.reach * g, warning))
    cip = candidate.confidence * sum((line.points for line in lines), ZERO)
    score = cip / (candidate.cost / terms.cost_unit)
    return Scored(candidate, cip, score, tuple(lines))


Scorer = Callable[[Candidate, Mapping[str, MetricTarget], PolicyTerms], Scored]


def rank(
    candidates: Iterable[Candidate], metrics: Mapping[str, MetricTarget], terms: PolicyTerms,
    *, score: Scorer = score_candidate,
) -> list[Scored]:
    """Score descending; ties by the policy's tie-break order (lower cost, earlier submission).

    `score` is `score_candidate` or a memo of it (the write side keeps one per process)."""
    scored = [score(c, metrics, terms) for c in candidates]

    def key(s: Scored) -> tuple[Decimal | int, ...]:
        parts: list[Decimal | int] = [-s.score]
        for rule in terms.tie_break:
            parts.append(s.candidate.cost if rule == "cost" else s.candidate.seq)
        parts.append(s.candidate.seq)
        return tuple(parts)

    return sorted(scored, key=key)
