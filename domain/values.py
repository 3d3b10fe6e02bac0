"""Value objects shared by aggregates: money, impact claims, readings, vocabularies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from domain.errors import InvalidInput

MAX_CAP_PERCENT: Final = Decimal(10)

KINDS: Final = ("pnl", "cx_infrastructure", "cx_process")
DIRECTIONS: Final = ("decrease", "increase")


@dataclass(frozen=True)
class Money:
    """An amount in an ISO 4217 currency."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"


@dataclass(frozen=True)
class ImpactClaim:
    """An initiative's expected value of one customer success metric after delivery."""

    metric: str
    expected_value: Decimal
    reach: Decimal

    def __post_init__(self) -> None:
        if not self.metric:
            raise InvalidInput("an impact names no metric", field="expected_impacts")
        if not Decimal(0) < self.reach <= Decimal(1):
            raise InvalidInput(
                f"reach for {self.metric} must be in (0, 1], got {self.reach}",
                field="expected_impacts",
            )
        if not self.expected_value.is_finite():
            raise InvalidInput("expected value must be finite", field="expected_impacts")


@dataclass(frozen=True)
class Reading:
    """One observation of an operational metric."""

    value: Decimal
    observed_at: datetime
    sample_size: int | None = None
    pnl: str | None = None
    cohort: str | None = None

    def __post_init__(self) -> None:
        if not self.value.is_finite():
            raise InvalidInput("reading value must be finite", field="value")
        if self.observed_at.tzinfo is None:
            raise InvalidInput("observed_at must carry a time zone", field="observed_at")
        if self.sample_size is not None and self.sample_size < 0:
            raise InvalidInput("sample size cannot be negative", field="sample_size")


def require_text(value: str, *, field: str, max_length: int = 500) -> str:
    """Return the stripped text or raise when it is empty or too long."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return text


def require_code(value: str, *, field: str) -> str:
    """Return a short identifier code (letters, digits, '-', '_', '.') or raise."""
    code = value.strip()
    if not code or len(code) > 40 or not all(ch.isalnum() or ch in "-_." for ch in code):
        raise InvalidInput(
            f"{field} must be 1-40 letters, digits, '-', '_' or '.', got {value!r}", field=field
        )
    return code


def require_amount(value: Decimal, *, field: str, positive: bool = True) -> Decimal:
    """Return a finite money amount (strictly positive unless told otherwise)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(f"{field} must be a finite decimal amount", field=field)
    if positive and value <= 0:
        raise InvalidInput(f"{field} must be greater than zero", field=field)
    if not positive and value < 0:
        raise InvalidInput(f"{field} cannot be negative", field=field)
    return value
