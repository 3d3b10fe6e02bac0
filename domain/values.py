"""Value objects shared by aggregates: money, impact claims, readings, vocabularies."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from domain.errors import InvalidInput
from domain.text import clean_text

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


#: The earliest time a reading or an outcome may carry.
EARLIEST_OBSERVATION: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: How far ahead of the recording clock an observation may be (clock skew between systems).
OBSERVATION_CLOCK_SKEW: Final = timedelta(days=1)


def check_observed_at(observed_at: datetime, *, now: datetime, field: str = "observed_at") -> None:
    """An observation happened: after 1970 and not later than a day past `now`.

    A reading dated in the future would be the metric's "current" value until that date
    (year 9999: forever), so it is refused when recorded. Events already in the log are not
    re-checked: this runs on commands, never when events are decoded.
    """
    if observed_at.tzinfo is None:
        raise InvalidInput(f"{field} must carry a time zone", field=field)
    if observed_at < EARLIEST_OBSERVATION:
        raise InvalidInput(f"{field} {observed_at.isoformat()} is before 1970", field=field)
    if observed_at > now + OBSERVATION_CLOCK_SKEW:
        raise InvalidInput(f"{field} {observed_at.isoformat()} is in the future (the server's "
                           f"clock reads {now.isoformat(timespec='seconds')})", field=field)


def check_reading(reading: Reading, *, now: datetime) -> Reading:
    """A new reading, checked as a command: its time and its cohort's text (cleaned)."""
    check_observed_at(reading.observed_at, now=now)
    if reading.cohort is None:
        return reading
    cohort = clean_text(reading.cohort, field="cohort", max_length=80, required=False)
    return replace(reading, cohort=cohort or None)


def require_text(value: str, *, field: str, max_length: int = 500) -> str:
    """Return the cleaned one-line text (domain.text) or raise when it is empty or unsafe."""
    return clean_text(value, field=field, max_length=max_length)


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
