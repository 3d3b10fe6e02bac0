"""A period's portfolio as the write side sees it: ranking plus the greedy recommendation.

With guardrails in the policy (issue 16) the recommendation is the guarded greedy cut line
(domain/optimize/greedy.py, decision 107): each guardrail's bounds of the pool become amounts
on what the recommendation adds, net of what the group has funded already (`group_limits`,
the one rule the read side's recommendation uses too, decision 123). Decisions are judged
against that recommendation (comply or explain, domain/decisions.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property

from domain.lifecycle import FUNDED, UNDECIDED, Status
from domain.optimize import GreedyResult, GroupLimit, SelectionItem, UnfundedReason, greedy
from domain.optimize.items import _money
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

    @cached_property
    def cut_line_rank(self) -> int | None:
        """Rank of the lowest-ranked entry above the cut line."""
        ranks = [e.rank for e in self.entries if e.above_cut_line]
        return max(ranks) if ranks else None

    @cached_property
    def positions(self) -> Mapping[str, int]:
        """Each entry's index in `entries`, by code (built once per assessment)."""
        return {e.code: k for k, e in enumerate(self.entries)}

    @cached_property
    def unfunded_at(self) -> Mapping[str, int]:
        """Each unfunded item's index in the greedy result's `unfunded`, by code."""
        return {u.key: k for k, u in enumerate(self.greedy.unfunded)}

    @cached_property
    def unfit(self) -> tuple[tuple[tuple[int, Decimal], ...], tuple[tuple[int, Decimal], ...]]:
        """The entries the walk found too dear for what was left, as (index in `entries`,
        remaining budget then): mandatory work, then the rest in rank order (`approved`)."""
        found: tuple[list[tuple[int, Decimal]], list[tuple[int, Decimal]]] = ([], [])
        for k, e in enumerate(self.entries):
            if e.reason_code in (_MANDATORY_UNFIT, _PLAIN_UNFIT) and e.reason is not None:
                left = Decimal(e.reason[e.reason.rindex("$") + 1:].replace(",", ""))
                found[e.reason_code == _PLAIN_UNFIT].append((k, left))
        return tuple(found[0]), tuple(found[1])

    @cached_property
    def required(self) -> frozenset[str]:
        """Every code an entry depends on."""
        return frozenset(d for e in self.entries for d in e.scored.candidate.dependencies)

    def entry(self, code: str) -> RankedEntry | None:
        """The entry of an initiative, if it is in contention."""
        k = self.positions.get(code)
        return None if k is None else self.entries[k]

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


_PLAIN_UNFIT = str(UnfundedReason.DOES_NOT_FIT)
_MANDATORY_UNFIT = str(UnfundedReason.MANDATORY_DOES_NOT_FIT)


def approved(assessment: Assessment, code: str, terms: PolicyTerms) -> Assessment | None:
    """The assessment after `code`'s final approval for its whole cost, without walking the
    period again (issue 19), or None when that is not known to equal a fresh `assess`.

    It is known when `code` was recommended, is not mandatory, no initiative in contention
    requires it, and the policy has no guardrails: the plain walk (domain/optimize/greedy.py)
    then funds the same items. Before `code` (the mandatory work, then the ranks above it)
    every remaining budget is `cost` lower, and each item funded there still fits (the walk
    funded `code` after it, so at least `cost` was left); at `code` the walk now has, without
    it, what it had after funding it. So only `code`'s entry changes, and the texts of the
    items walked before it that did not fit (their remaining budget, `cost` lower): the work
    is proportional to what changes.
    """
    k = assessment.positions.get(code)
    if k is None or terms.guardrails:
        return None
    entry = assessment.entries[k]
    candidate = entry.scored.candidate
    if (not entry.recommended or candidate.mandatory or candidate.status not in UNDECIDED
            or code in assessment.required):
        return None
    cost = candidate.cost
    entries = list(assessment.entries)
    entries[k] = RankedEntry(
        rank=entry.rank,
        scored=replace(entry.scored, candidate=replace(candidate, status=Status.APPROVED)),
        funded=True, recommended=False, reason_code=None, reason=None)
    mandatory, plain = assessment.unfit
    walked_before = plain[:bisect_left(plain, (k,))]
    texts: dict[str, str] = {}
    lower: dict[int, Decimal] = {}
    for j, left in (*mandatory, *walked_before):
        e = entries[j]
        assert e.reason is not None
        lower[j] = left - cost
        texts[e.code] = e.reason[: e.reason.rindex("$")] + _money(left - cost)
        entries[j] = replace(e, reason=texts[e.code])
    result = assessment.greedy
    unfunded = list(result.unfunded)
    for key, text in texts.items():
        at = assessment.unfunded_at[key]
        unfunded[at] = replace(unfunded[at], text=text)
    after = Assessment(
        entries=tuple(entries),
        available=assessment.available - cost,
        recommended_total=assessment.recommended_total - cost,
        funded_total=assessment.funded_total + cost,
        greedy=replace(result, budget=result.budget - cost,
                       funded=_without(result.funded, code),
                       total_cost=result.total_cost - cost,
                       total_value=result.total_value - entry.scored.cip,
                       unfunded=tuple(unfunded)),
    )
    # what `after` would find again, carried over: codes at the same places, `code` still
    # above the cut line, the same dependencies and unfunded items
    after.__dict__.update(
        positions=assessment.positions, cut_line_rank=assessment.cut_line_rank,
        required=assessment.required, unfunded_at=assessment.unfunded_at,
        unfit=(tuple((j, lower[j]) for j, _ in mandatory),
               tuple((j, lower[j]) for j, _ in walked_before) + plain[len(walked_before):]))
    return after


def restatus(assessment: Assessment, code: str, status: Status) -> Assessment | None:
    """The assessment after an undecided initiative moves to another undecided status (a
    deferral, a four-eyes first approval), or None when it was not undecided: it stays in
    contention with the same score, rank and cost, so the walk, guarded or not, is the same;
    only its entry's status changes."""
    k = assessment.positions.get(code)
    if k is None or status not in UNDECIDED:
        return None
    entry = assessment.entries[k]
    candidate = entry.scored.candidate
    if candidate.status not in UNDECIDED:
        return None
    now = replace(entry, scored=replace(entry.scored, candidate=replace(candidate, status=status)))
    after = replace(assessment, entries=(*assessment.entries[:k], now, *assessment.entries[k + 1:]))
    after.__dict__.update({name: assessment.__dict__[name] for name in _CARRIED
                           if name in assessment.__dict__})
    return after


#: What an assessment finds once and `restatus` carries over unchanged.
_CARRIED = ("positions", "cut_line_rank", "required", "unfunded_at", "unfit")


def _without(codes: tuple[str, ...], code: str) -> tuple[str, ...]:
    """`codes` less `code` (one search and two slices, in C)."""
    k = codes.index(code)
    return codes[:k] + codes[k + 1:]
