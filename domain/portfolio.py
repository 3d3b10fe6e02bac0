"""A period's portfolio as the write side sees it: ranking plus the greedy recommendation.

With guardrails in the policy (issue 16) the recommendation is the guarded greedy cut line
(domain/optimize/greedy.py, decision 107): each guardrail's bounds of the pool become amounts
on what the recommendation adds, net of what the group has funded already (`group_limits`,
the one rule the read side's recommendation uses too, decision 123). Decisions are judged
against that recommendation (comply or explain, domain/decisions.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.lifecycle import FUNDED, UNDECIDED
from domain.optimize import GreedyResult, GroupLimit, SelectionItem, greedy
from domain.policy import Guardrail, PolicyTerms
from domain.scoring import Candidate, MetricTarget, Scored, Scorer, rank, score_candidate


@dataclass(frozen=True)
class RankedEntry:
    """One initiative's place in the ranking and in the recommendation."""

    rank: int
    scored: Scored
    funded: bool
    recommended: bool
    reason_code: str | None
    reason: str | None

    @property
    def code(self) -> str:
        """The initiative's code."""
        return self.scored.candidate.code

    @property
    def above_cut_line(self) -> bool:
        """Funded already, or funded by the greedy recommendation."""
        return self.funded or self.recommended


@dataclass(frozen=True)
class Assessment:
    """The ranking of every initiative in contention and the greedy cut line."""

    entries: tuple[RankedEntry, ...]
    available: Decimal
    recommended_total: Decimal
    funded_total: Decimal
    greedy: GreedyResult

    @property
    def cut_line_rank(self) -> int | None:
        """Rank of the lowest-ranked entry above the cut line."""
        ranks = [e.rank for e in self.entries if e.above_cut_line]
        return max(ranks) if ranks else None

    def entry(self, code: str) -> RankedEntry | None:
        """The entry of an initiative, if it is in contention."""
        return next((e for e in self.entries if e.code == code), None)

    @property
    def unmet(self) -> tuple[str, ...]:
        """Guardrails the recommendation could not meet (none without guardrails)."""
        return self.greedy.unmet


def group_limits(candidates: Iterable[Candidate], guardrails: Sequence[Guardrail], *,
                 pool: Decimal) -> list[GroupLimit]:
    """The guardrails as the selector takes them: each group's undecided initiatives, and its
    bounds of the pool (`pool`: the period's pool amount) less what the group's funded
    initiatives cost already. `candidates` are those in contention: undecided and funded."""
    limits = []
    for g in guardrails:
        members = [c for c in candidates
                   if g.matches(kind=c.kind, pnl=c.pnl, touchpoints=c.touchpoints,
                                functional_areas=c.functional_areas)]
        committed = sum((c.cost for c in members if c.status in FUNDED), Decimal(0))
        low, high = g.minimum(pool), g.maximum(pool)
        limits.append(GroupLimit(
            name=g.name,
            keys=frozenset(c.code for c in members if c.status in UNDECIDED),
            minimum=None if low is None else low - committed,
            maximum=None if high is None else high - committed,
        ))
    return limits


def assess(
    candidates: Iterable[Candidate],
    metrics: Mapping[str, MetricTarget],
    terms: PolicyTerms,
    *,
    available: Decimal,
    pool: Decimal | None = None,
    score: Scorer = score_candidate,
) -> Assessment:
    """Rank everything in contention; recommend greedily from what is still available.

    Under guardrails (`terms.guardrails`) the recommendation is the guarded cut line; their
    shares are of `pool`, the period's pool amount (a plan: its budget), which they need.
    """
    contenders = [c for c in candidates if c.status in UNDECIDED | FUNDED]
    ranked = rank(contenders, metrics, terms, score=score)
    limits: list[GroupLimit] = []
    if terms.guardrails:
        if pool is None:
            raise ValueError("guardrails are shares of the pool: assess needs its amount")
        limits = group_limits(contenders, terms.guardrails, pool=pool)
    funded_codes = frozenset(s.candidate.code for s in ranked if s.candidate.status in FUNDED)
    items = [
        SelectionItem(
            key=s.candidate.code,
            cost=s.candidate.cost,
            value=s.cip,
            rank=position,
            mandatory=s.candidate.mandatory,
            requires=s.candidate.dependencies,
        )
        for position, s in enumerate(ranked, start=1)
        if s.candidate.status in UNDECIDED
    ]
    result = greedy(items, available, already_funded=funded_codes, extra_budgets=False,
                    guardrails=limits)
    recommended = set(result.funded)
    unfunded = {u.key: u for u in result.unfunded}
    entries = []
    for position, s in enumerate(ranked, start=1):
        code = s.candidate.code
        why = unfunded.get(code)
        entries.append(
            RankedEntry(
                rank=position,
                scored=s,
                funded=code in funded_codes,
                recommended=code in recommended,
                reason_code=str(why.reason) if why else None,
                reason=why.text if why else None,
            )
        )
    funded_total = sum((s.candidate.cost for s in ranked if s.candidate.code in funded_codes),
                       Decimal(0))
    return Assessment(
        entries=tuple(entries),
        available=available,
        recommended_total=result.total_cost,
        funded_total=funded_total,
        greedy=result,
    )
