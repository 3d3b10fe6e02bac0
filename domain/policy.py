"""Versioned scoring policy: weights, confidence tiers, cost basis, four-eyes threshold, bands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, PolicyRuleViolation
from domain.ids import natural_id
from domain.values import KINDS, require_text

TIE_BREAKS: Final = ("cost", "submitted")

DEFAULT_CONFIDENCE_TIERS: Final = {
    "measured": Decimal("1.0"),
    "analogous": Decimal("0.8"),
    "expert": Decimal("0.5"),
}


GUARDRAIL_DIMENSIONS: Final = ("kind", "pnl", "touchpoint", "functional_area")
#: dimensions where an initiative has exactly one value, so minimums of one add up
EXCLUSIVE_DIMENSIONS: Final = ("kind", "pnl")
MAX_GUARDRAILS: Final = 3
#: the P&L value that names cross-P&L work (no P&L), as the ledger's `by_pnl` shows it
CROSS_PNL: Final = "CX"
#: the largest guardrail amount accepted (a bound on hostile input, far above any pool)
MAX_GUARDRAIL_AMOUNT: Final = Decimal(10) ** 15


@dataclass(frozen=True)
class Guardrail:
    """A minimum and/or maximum of the pool for one kind, P&L, touchpoint or functional area
    (issue 16), each bound either a share of the pool or an amount (decision 122).

    Committed and recommended initiatives of the group both count. An initiative with several
    touchpoints (functional areas) counts wholly toward each of them; cross-P&L work (no P&L)
    is P&L "CX". Amounts were added later: guardrails stored without them decode with None.
    """

    dimension: str
    value: str
    min_share: Decimal | None = None
    max_share: Decimal | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    @property
    def name(self) -> str:
        """How errors and the recommendation name it, e.g. "kind cx_process"."""
        return f"{self.dimension} {self.value}"

    def minimum(self, pool: Decimal) -> Decimal | None:
        """The least the group may take of a pool of `pool`, as an amount."""
        if self.min_amount is not None:
            return self.min_amount
        return None if self.min_share is None else self.min_share * pool

    def maximum(self, pool: Decimal) -> Decimal | None:
        """The most the group may take of a pool of `pool`, as an amount."""
        if self.max_amount is not None:
            return self.max_amount
        return None if self.max_share is None else self.max_share * pool

    def describe(self) -> str:
        """The bounds in words, e.g. "at least 25% and at most 40,000,000"."""
        def bound(share: Decimal | None, amount: Decimal | None) -> str:
            return f"{(share * 100).normalize():f}%" if share is not None else f"{amount:,}"
        parts = []
        if self.min_share is not None or self.min_amount is not None:
            parts.append(f"at least {bound(self.min_share, self.min_amount)}")
        if self.max_share is not None or self.max_amount is not None:
            parts.append(f"at most {bound(self.max_share, self.max_amount)}")
        return " and ".join(parts)

    def matches(self, *, kind: str, pnl: str | None, touchpoints: tuple[str, ...] | list[str],
                functional_areas: tuple[str, ...] | list[str]) -> bool:
        """Whether an initiative of this kind, P&L, touchpoints and areas is in the group."""
        if self.dimension == "kind":
            return kind == self.value
        if self.dimension == "pnl":
            return (pnl or CROSS_PNL) == self.value
        if self.dimension == "touchpoint":
            return self.value in touchpoints
        return self.value in functional_areas


def _check_guardrail(g: Guardrail) -> None:
    if g.dimension not in GUARDRAIL_DIMENSIONS:
        raise PolicyRuleViolation(
            f"guardrail dimension must be one of {', '.join(GUARDRAIL_DIMENSIONS)}",
            field="guardrails")
    require_text(g.value, field="guardrails", max_length=100)
    if g.dimension == "kind" and g.value not in KINDS:
        raise PolicyRuleViolation(f"guardrail {g.name}: kind must be one of {', '.join(KINDS)}",
                                  field="guardrails", guardrails=[g.name])
    if g.min_share is None and g.max_share is None and g.min_amount is None \
            and g.max_amount is None:
        raise PolicyRuleViolation(f"guardrail {g.name} needs a minimum or a maximum",
                                  field="guardrails", guardrails=[g.name])
    for share, amount, which in ((g.min_share, g.min_amount, "minimum"),
                                 (g.max_share, g.max_amount, "maximum")):
        if share is not None and amount is not None:
            raise PolicyRuleViolation(
                f"guardrail {g.name}: its {which} is a share or an amount, not both",
                field="guardrails", guardrails=[g.name])
        if share is not None and not (isinstance(share, Decimal) and share.is_finite()
                                      and 0 <= share <= 1):
            raise PolicyRuleViolation(f"guardrail {g.name}: shares must be in [0, 1]",
                                      field="guardrails", guardrails=[g.name])
        if amount is not None and not (isinstance(amount, Decimal) and amount.is_finite()
                                       and 0 <= amount <= MAX_GUARDRAIL_AMOUNT):
            raise PolicyRuleViolation(
                f"guardrail {g.name}: amounts must be in [0, {MAX_GUARDRAIL_AMOUNT:,}]",
                field="guardrails", guardrails=[g.name])
    for low, high in ((g.min_share, g.max_share), (g.min_amount, g.max_amount)):
        if low is not None and high is not None and low > high:
            raise PolicyRuleViolation(
                f"guardrail {g.name}: its minimum {low} is above its maximum {high}",
                field="guardrails", guardrails=[g.name])


def _check_guardrails(guardrails: tuple[Guardrail, ...]) -> None:
    """Refuse guardrail sets that no pool could satisfy, naming the conflict."""
    if len(guardrails) > MAX_GUARDRAILS:
        raise PolicyRuleViolation(f"at most {MAX_GUARDRAILS} guardrails", field="guardrails")
    seen: set[tuple[str, str]] = set()
    for g in guardrails:
        _check_guardrail(g)
        if (g.dimension, g.value) in seen:
            raise PolicyRuleViolation(f"guardrail {g.name} is given twice", field="guardrails",
                                      guardrails=[g.name])
        seen.add((g.dimension, g.value))
    for dimension in EXCLUSIVE_DIMENSIONS:
        mins = [g for g in guardrails if g.dimension == dimension and g.min_share]
        total = sum((g.min_share or Decimal(0) for g in mins), Decimal(0))
        if total > 1:
            raise PolicyRuleViolation(
                f"guardrails {', '.join(g.name for g in mins)}: minimum shares add up to "
                f"{total:%}, more than the whole pool", field="guardrails",
                guardrails=[g.name for g in mins])


def check_guardrails_in(guardrails: tuple[Guardrail, ...], *, period: str,
                        pool: Decimal) -> None:
    """Refuse guardrails that cannot hold together in a period whose pool is `pool`, naming
    the conflict: a minimum above its maximum or above the pool, or minimums of one kind or
    P&L adding up to more than the pool (shares and amounts mixed are only comparable once
    the pool is known). Which candidates a period has is not judged here: a period whose
    candidates cannot meet them gets no optimum on its recommendation (decision 107)."""
    def text(amount: Decimal) -> str:
        return f"{amount:,.2f}"

    for g in guardrails:
        low, high = g.minimum(pool), g.maximum(pool)
        if low is not None and high is not None and low > high:
            raise PolicyRuleViolation(
                f"guardrail {g.name} in {period} (pool {text(pool)}): its minimum "
                f"{text(low)} is above its maximum {text(high)}", field="guardrails",
                guardrails=[g.name], period=period)
        if low is not None and low > pool:
            raise PolicyRuleViolation(
                f"guardrail {g.name} in {period}: its minimum {text(low)} is more than the "
                f"whole pool {text(pool)}", field="guardrails", guardrails=[g.name],
                period=period)
    for dimension in EXCLUSIVE_DIMENSIONS:
        mins = [g for g in guardrails if g.dimension == dimension and g.minimum(pool)]
        total = sum((g.minimum(pool) or Decimal(0) for g in mins), Decimal(0))
        if total > pool:
            raise PolicyRuleViolation(
                f"guardrails {', '.join(g.name for g in mins)} in {period}: minimums add up "
                f"to {text(total)}, more than the whole pool {text(pool)}", field="guardrails",
                guardrails=[g.name for g in mins], period=period)


def check_guardrail_pnls(guardrails: tuple[Guardrail, ...],
                         registered: Callable[[str], bool]) -> None:
    """Refuse a P&L guardrail whose P&L is not in the register (`registered`: whether a code
    is), naming the field; "CX" is cross-P&L work, never registered (decision 149)."""
    for g in guardrails:
        if g.dimension == "pnl" and g.value != CROSS_PNL and not registered(g.value):
            raise PolicyRuleViolation(
                f"guardrail {g.name}: no P&L {g.value} in the register (P&L {CROSS_PNL} is "
                f"cross-P&L work)", field="guardrails", guardrails=[g.name], pnl=g.value)


@dataclass(frozen=True)
class PolicyTerms:
    """Everything a ranking depends on besides the initiatives and the metric register."""

    weights: dict[str, int]
    confidence_tiers: dict[str, Decimal] = field(
        default_factory=lambda: dict(DEFAULT_CONFIDENCE_TIERS)
    )
    cost_unit: Decimal = Decimal(1_000_000)
    cost_basis: str = "one-time cost plus first 12 months of run cost"
    four_eyes_threshold: Decimal = Decimal(10_000_000)
    gap_cap: Decimal = Decimal(1)
    include_disbenefits: bool = False
    min_sample_size: int = 30
    green_slack: Decimal = Decimal("0.10")
    amber_slack: Decimal = Decimal("0.25")
    tie_break: tuple[str, ...] = TIE_BREAKS
    #: Signals (issue 14). Fields added later: a stored PolicyTerms without them decodes with
    #: these defaults (governance/stores/transcoding.py DataclassTranscoding), no upcast needed.
    at_risk_realisation: Decimal = Decimal("0.5")  # benefit at risk below this share at a date
    undecided_days: int = 30  # a submission undecided this long raises a signal
    #: Guardrails (issue 16), added later the same way: stored terms decode with none.
    guardrails: tuple[Guardrail, ...] = ()

    def check_confidence(self, confidence: Decimal) -> None:
        """A proposal's confidence is one of these terms' tiers."""
        if confidence not in self.confidence_tiers.values():
            tiers = ", ".join(f"{k}={v}" for k, v in self.confidence_tiers.items())
            raise InvalidInput(f"confidence must be one of the policy's tiers ({tiers})",
                               field="confidence")

    def check(self) -> PolicyTerms:
        """Return self when consistent, else raise PolicyRuleViolation."""
        if not self.weights:
            raise PolicyRuleViolation("a policy needs at least one metric weight", field="weights")
        if any(not isinstance(w, int) or isinstance(w, bool) or w < 0
               for w in self.weights.values()):
            raise PolicyRuleViolation("weights are non-negative whole points", field="weights")
        total = sum(self.weights.values())
        if total != 100:
            raise PolicyRuleViolation(f"weights must sum to 100, got {total}", field="weights")
        if not self.confidence_tiers or any(
            not Decimal(0) < v <= Decimal(1) for v in self.confidence_tiers.values()
        ):
            raise PolicyRuleViolation(
                "confidence tiers must be values in (0, 1]", field="confidence_tiers"
            )
        if self.cost_unit <= 0:
            raise PolicyRuleViolation("cost unit must be positive", field="cost_unit")
        if self.four_eyes_threshold < 0:
            raise PolicyRuleViolation("four-eyes threshold cannot be negative",
                                      field="four_eyes_threshold")
        if not Decimal(0) < self.gap_cap <= Decimal(1):
            raise PolicyRuleViolation("gap cap must be in (0, 1]", field="gap_cap")
        if self.min_sample_size < 0:
            raise PolicyRuleViolation("minimum sample size cannot be negative",
                                      field="min_sample_size")
        if not Decimal(0) <= self.green_slack <= self.amber_slack <= Decimal(1):
            raise PolicyRuleViolation("need 0 <= green slack <= amber slack <= 1",
                                      field="green_slack")
        if not Decimal(0) <= self.at_risk_realisation <= Decimal(1):
            raise PolicyRuleViolation("the at-risk realisation share must be in [0, 1]",
                                      field="at_risk_realisation")
        if self.undecided_days < 1:
            raise PolicyRuleViolation("undecided days must be at least 1",
                                      field="undecided_days")
        _check_guardrails(tuple(self.guardrails))
        if sorted(self.tie_break) != sorted(TIE_BREAKS):
            raise PolicyRuleViolation(
                f"tie break must order exactly {', '.join(TIE_BREAKS)}", field="tie_break"
            )
        return self

    def with_weights(self, weights: dict[str, int]) -> PolicyTerms:
        """A copy with other weights (for what-if previews)."""
        return replace(self, weights=dict(weights))


class ScoringPolicy(Aggregate):
    """The company's scoring policy; each adoption is a new numbered version."""

    TOPIC = "cxgov.ScoringPolicy"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.ScoringPolicy.Created"

    class Started(Created):
        TOPIC = "cxgov.ScoringPolicy.Started"
        actor: str

    class Adopted(Aggregate.Event):
        TOPIC = "cxgov.ScoringPolicy.Adopted"
        policy_version: int
        terms: PolicyTerms
        rationale: str
        actor: str

    @staticmethod
    def create_id() -> UUID:
        """There is one policy stream per deployment."""
        return natural_id("scoring-policy", "company")

    @event(Started)
    def __init__(self, *, actor: str) -> None:
        self.versions: list[PolicyTerms] = []

    @property
    def policy_version(self) -> int:
        """The number of the policy in force (0 = none adopted yet)."""
        return len(self.versions)

    @property
    def current(self) -> PolicyTerms | None:
        """The terms in force, if any."""
        return self.versions[-1] if self.versions else None

    def terms_at(self, policy_version: int) -> PolicyTerms:
        """The terms of a given version."""
        return self.versions[policy_version - 1]

    def adopt(self, *, terms: PolicyTerms, rationale: str, actor: str) -> int:
        """Adopt new terms as the next version; returns its number."""
        terms.check()
        self._adopted(
            policy_version=self.policy_version + 1,
            terms=terms,
            rationale=require_text(rationale, field="rationale", max_length=2000),
            actor=actor,
        )
        return self.policy_version

    @event(Adopted)
    def _adopted(self, *, policy_version: int, terms: PolicyTerms, rationale: str,
                 actor: str) -> None:
        self.versions.append(terms)


def whole_points(amounts: Mapping[str, Decimal]) -> dict[str, int]:
    """Whole policy points summing to 100 in proportion to `amounts` (largest remainder, ties
    to the code), keyed by metric code as the policy's `weights` take them; codes given no
    point are left out. Empty when the amounts add up to nothing above zero."""
    whole = sum(amounts.values(), Decimal(0))
    if whole <= 0:
        return {}
    shares = {code: v * 100 / whole for code, v in amounts.items()}
    points = {code: int(share.to_integral_value(rounding=ROUND_FLOOR))
              for code, share in shares.items()}
    left = 100 - sum(points.values())
    for code in sorted(shares, key=lambda c: (points[c] - shares[c], c))[:left]:
        points[code] += 1
    return {code: points[code] for code in sorted(points) if points[code]}
