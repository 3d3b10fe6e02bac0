"""Selection items, results and the exact Decimal <-> integer helpers the solvers share.

All three work on `SelectionItem`s (cost > 0, value >= 0, rank 1 = best, `mandatory`, `requires`).
A required key satisfies its dependant when it is selected too or is listed in `already_funded`;
a required key that is neither in the item list nor already funded makes the dependant (and
everything that requires it) unselectable. The prerequisites of a mandatory item are mandatory too.

Exactness: costs and values are scaled to integers (powers of ten, taken from the Decimal
exponents), so every comparison that decides optimality is integer arithmetic; no floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_FLOOR, Context, Decimal
from enum import StrEnum

_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class InfeasibleMandatory(ValueError):
    """Raised when the mandatory items cannot all be funded within the budget."""


class InfeasibleGuardrails(ValueError):
    """Raised when no selection within the budget meets every guardrail; names the conflict."""

    def __init__(self, message: str, guardrails: tuple[str, ...]) -> None:
        super().__init__(message)
        self.guardrails = guardrails


@dataclass(frozen=True)
class GroupLimit:
    """A guardrail as the selector sees it: bounds on the selected cost of a group of keys.

    `minimum` and `maximum` are amounts of the selection's total cost within `keys` (mandatory
    items count); callers turn a policy's shares of the pool into amounts and subtract what is
    already funded. None means no bound on that side.
    """

    name: str
    keys: frozenset[str]
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def __post_init__(self) -> None:
        for bound in (self.minimum, self.maximum):
            if bound is not None and not bound.is_finite():
                raise ValueError(f"{self.name}: a guardrail bound must be a finite amount")


@dataclass(frozen=True)
class SelectionItem:
    """One initiative as the selector sees it: cost, customer impact value and rank."""

    key: str
    cost: Decimal
    value: Decimal
    rank: int
    mandatory: bool = False
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.cost.is_finite() or self.cost <= 0:
            raise ValueError(f"{self.key}: cost must be a positive amount, got {self.cost}")
        if not self.value.is_finite() or self.value < 0:
            raise ValueError(f"{self.key}: value must be >= 0, got {self.value}")


class UnfundedReason(StrEnum):
    """Why greedy left an item unfunded."""

    ZERO_VALUE = "zero_value"
    NEEDS_DEPENDENCY = "needs_dependency"
    DOES_NOT_FIT = "does_not_fit"
    MANDATORY_DOES_NOT_FIT = "mandatory_does_not_fit"
    ABOVE_GUARDRAIL = "above_guardrail"


@dataclass(frozen=True)
class UnfundedItem:
    """An item below greedy's cut line, why, and the extra budget that would fund it."""

    key: str
    reason: UnfundedReason
    text: str
    extra_budget: Decimal | None


@dataclass(frozen=True)
class GreedyResult:
    """Outcome of the explainable greedy walk."""

    budget: Decimal
    funded: tuple[str, ...]
    total_cost: Decimal
    total_value: Decimal
    remaining: Decimal
    unfunded: tuple[UnfundedItem, ...]
    #: guardrails the cut line could not meet (a minimum short, a maximum passed by mandates)
    unmet: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptimalResult:
    """The exact optimum: selected keys in rank order and their totals."""

    budget: Decimal
    keys: tuple[str, ...]
    total_cost: Decimal
    total_value: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class FrontierPoint:
    """Best achievable value at one budget level."""

    budget: Decimal
    value: Decimal
    cost_used: Decimal
    keys: tuple[str, ...]


# ---------------------------------------------------------------- exact scaling helpers


def _exponent(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    return exp


def _decimals(numbers: Iterable[Decimal]) -> int:
    return max([0, *(-_exponent(d) for d in numbers)])


def _to_int(d: Decimal, scale: int) -> int:
    """d x 10**scale as an int, exactly for every d with at most `scale` decimals (floored)."""
    shifted = d.scaleb(scale, context=_EXACT)
    return int(shifted.to_integral_value(rounding=ROUND_FLOOR, context=_EXACT))


def _to_int_ceil(d: Decimal, scale: int) -> int:
    """The smallest int n with n >= d x 10**scale (exact)."""
    return -_to_int(-d, scale)


def _from_int(n: int, scale: int) -> Decimal:
    return Decimal(f"{n}E-{scale}") if scale else Decimal(n)


def _money(amount: Decimal) -> str:
    if amount == amount.to_integral_value():
        amount = amount.quantize(Decimal(1))
    return f"${amount:,}"


def _check_unique(items: Sequence[SelectionItem]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.key in index:
            raise ValueError(f"duplicate item key {item.key!r}")
        index[item.key] = i
    return index


def _check_budget(budget: Decimal) -> None:
    if not budget.is_finite() or budget < 0:
        raise ValueError(f"budget must be a non-negative amount, got {budget}")
