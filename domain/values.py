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
    """One observation of an operational metric.

    Beyond the value, a reading may carry (issue 15) segment dimensions (P&L, cohort, channel,
    region), a distribution summary of its `sample_size` responses or occurrences (mean,
    sample standard deviation `sd`, median, 90th percentile, share meeting the customer's
    threshold) and category counts (NPS promoters / passives / detractors; `top_box` for CSAT
    or CES). All are optional and stored only when set (a plain reading is stored as before);
    `check_reading` refuses counts that do not add up.
    """

    value: Decimal
    observed_at: datetime
    sample_size: int | None = None
    pnl: str | None = None
    cohort: str | None = None
    channel: str | None = None
    region: str | None = None
    mean: Decimal | None = None
    sd: Decimal | None = None
    median: Decimal | None = None
    p90: Decimal | None = None
    share_meeting: Decimal | None = None
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    top_box: int | None = None

    @property
    def categories(self) -> tuple[int, int, int] | None:
        """(promoters, passives, detractors) when the reading carries NPS counts."""
        if self.promoters is None or self.passives is None or self.detractors is None:
            return None
        return self.promoters, self.passives, self.detractors

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
    """A new reading, checked as a command: its time, its summary and counts
    (`check_summary`) and its segments' text (cleaned)."""
    check_observed_at(reading.observed_at, now=now)
    check_summary(reading)
    if all(getattr(reading, name) is None for name in SEGMENT_LABELS):
        return reading
    return replace(reading, cohort=_label(reading.cohort, "cohort"),
                   channel=_label(reading.channel, "channel"),
                   region=_label(reading.region, "region"))


def _label(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    return clean_text(text, field=field, max_length=80, required=False) or None


#: The free-text segment dimensions of a reading (the P&L is a code).
SEGMENT_LABELS: Final = ("cohort", "channel", "region")
_SUMMARY: Final = ("mean", "sd", "median", "p90", "share_meeting")
_COUNTS: Final = ("promoters", "passives", "detractors", "top_box")
_CATEGORIES: Final = ("promoters", "passives", "detractors")


def check_summary(reading: Reading) -> None:
    """A reading's distribution summary and category counts must be coherent (issue 15):
    finite numbers; counts whole and not negative; promoters, passives and detractors given
    together and adding up to the sample size n; a top-box count within n; a standard
    deviation not negative; the 90th percentile not below the median; the share meeting the
    threshold within [0, 1]. Each refusal names its field."""
    for name in _SUMMARY:
        number = getattr(reading, name)
        if number is not None and (not isinstance(number, Decimal) or not number.is_finite()):
            raise InvalidInput(f"{name} must be a finite number", field=name)
    for name in _COUNTS:
        count = getattr(reading, name)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise InvalidInput(f"{name} must be a whole number", field=name)
        if count is not None and count < 0:
            raise InvalidInput(f"{name} cannot be negative, got {count}", field=name)
    n = reading.sample_size
    given = [name for name in _CATEGORIES if getattr(reading, name) is not None]
    if given and len(given) < len(_CATEGORIES):
        missing = next(name for name in _CATEGORIES if name not in given)
        raise InvalidInput(f"{missing} is missing: promoters, passives and detractors come "
                           "together", field=missing)
    has_summary = any(getattr(reading, name) is not None for name in (*_SUMMARY, *_COUNTS))
    if has_summary and not n:
        raise InvalidInput("a distribution summary or category counts need the sample size n "
                           "(at least 1)", field="sample_size")
    categories = reading.categories
    if categories is not None and sum(categories) != n:
        raise InvalidInput(f"promoters + passives + detractors = {sum(categories)}, not the "
                           f"sample size {n}", field="sample_size")
    if reading.top_box is not None and n is not None and reading.top_box > n:
        raise InvalidInput(f"top_box {reading.top_box} is more than the sample size {n}",
                           field="top_box")
    if reading.sd is not None and reading.sd < 0:
        raise InvalidInput("sd cannot be negative", field="sd")
    if (reading.p90 is not None and reading.median is not None
            and reading.p90 < reading.median):
        raise InvalidInput(f"p90 {reading.p90} is below the median {reading.median}",
                           field="p90")
    share = reading.share_meeting
    if share is not None and not Decimal(0) <= share <= Decimal(1):
        raise InvalidInput(f"share_meeting must be within [0, 1], got {share}",
                           field="share_meeting")


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
