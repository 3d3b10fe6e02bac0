"""A period's portfolio as the write side sees it: ranking plus the greedy recommendation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.lifecycle import FUNDED, UNDECIDED
from domain.optimize import GreedyResult, SelectionItem, greedy
from domain.policy import PolicyTerms
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


def assess(
    candidates: Iterable[Candidate],
    metrics: Mapping[str, MetricTarget],
    terms: PolicyTerms,
    *,
    available: Decimal,
    score: Scorer = score_candidate,
) -> Assessment:
    """Rank everything in contention; recommend greedily from what is still available."""
    ranked = rank([c for c in candidates if c.status in UNDECIDED | FUNDED], metrics, terms,
                  score=score)
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
    result = greedy(items, available, already_funded=funded_codes, extra_budgets=False)
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
