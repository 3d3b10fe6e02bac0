"""Customers' success metrics and their observations (bounded streams)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.ids import natural_id
from domain.operational import check_operational
from domain.values import DIRECTIONS, Reading, check_reading, require_code, require_text

#: Whose experience a metric measures (issue 15): a customer's, or an employee's (employee
#: experience, EX: e.g. staff satisfaction), so "does EX lead CX" can be asked of the data.
METRIC_KINDS = ("customer", "employee")


class CustomerSuccessMetric(Aggregate):
    """Customer phrasing mapped to the operational metric that monitors it."""

    TOPIC = "cxgov.CustomerSuccessMetric"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.CustomerSuccessMetric.Created"

    class Defined(Created):
        """v2 added `target_date` and `customer_threshold` (v1 stored events have neither);
        v3 added `kind`, whose experience it measures (`METRIC_KINDS`; v1 and v2 events were
        all customer metrics)."""

        TOPIC = "cxgov.CustomerSuccessMetric.Defined"
        class_version = 3
        code: str
        customer_phrasing: str
        operational_metric: str
        scenario: str | None
        pnl: str | None
        unit: str
        direction: str
        baseline: Decimal
        target: Decimal
        target_date: date | None
        customer_threshold: Decimal | None
        importance: Decimal | None
        satisfaction: Decimal | None
        kind: str
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 had no target date or customer threshold."""
            state["target_date"] = None
            state["customer_threshold"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """v2 and before measured customers only."""
            state["kind"] = "customer"

    class Retargeted(Aggregate.Event):
        TOPIC = "cxgov.CustomerSuccessMetric.Retargeted"
        baseline: Decimal
        target: Decimal
        target_date: date | None
        previous_baseline: Decimal
        previous_target: Decimal
        reason: str
        actor: str

    class OperationalMetricsMapped(Aggregate.Event):
        """The metric's whole mapping to operational metrics (issue 15): each with its
        `name`, data `source`, `aggregation` rule and owning `department`; replaces the
        mapping before it (`previous`, empty the first time)."""

        TOPIC = "cxgov.CustomerSuccessMetric.OperationalMetricsMapped"
        metric: str  # the metric's code
        operational_metrics: list[dict[str, str]]
        previous: list[dict[str, str]]
        actor: str

    @staticmethod
    def create_id(code: str) -> UUID:
        """Metric ids are derived from their code."""
        return natural_id("metric", code)

    @classmethod
    def define(
        cls,
        *,
        code: str,
        customer_phrasing: str,
        operational_metric: str,
        scenario: str | None,
        pnl: str | None,
        unit: str,
        direction: str,
        baseline: Decimal,
        target: Decimal,
        target_date: date | None = None,
        customer_threshold: Decimal | None = None,
        importance: Decimal | None = None,
        satisfaction: Decimal | None = None,
        kind: str = "customer",
        actor: str,
    ) -> CustomerSuccessMetric:
        """Define a metric after checking it can be scored; `kind` says whose experience it
        measures (`METRIC_KINDS`)."""
        check_direction(direction, baseline=baseline, target=target)
        if kind not in METRIC_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(METRIC_KINDS)}", field="kind")
        for name, value in (("importance", importance), ("satisfaction", satisfaction)):
            if value is not None and not Decimal(0) <= value <= Decimal(10):
                raise InvalidInput(f"{name} must be in [0, 10]", field=name)
        created: CustomerSuccessMetric = cls(
            code=require_code(code, field="code"),
            customer_phrasing=require_text(customer_phrasing, field="customer_phrasing"),
            operational_metric=require_text(operational_metric, field="operational_metric"),
            scenario=scenario,
            pnl=pnl,
            unit=require_text(unit, field="unit", max_length=40),
            direction=direction,
            baseline=baseline,
            target=target,
            target_date=target_date,
            customer_threshold=customer_threshold,
            importance=importance,
            satisfaction=satisfaction,
            kind=kind,
            actor=actor,
        )
        return created

    @event(Defined)
    def __init__(
        self,
        *,
        code: str,
        customer_phrasing: str,
        operational_metric: str,
        scenario: str | None,
        pnl: str | None,
        unit: str,
        direction: str,
        baseline: Decimal,
        target: Decimal,
        target_date: date | None,
        customer_threshold: Decimal | None,
        importance: Decimal | None,
        satisfaction: Decimal | None,
        kind: str,
        actor: str,
    ) -> None:
        self.code = code
        self.customer_phrasing = customer_phrasing
        self.operational_metric = operational_metric
        self.scenario = scenario
        self.pnl = pnl
        self.unit = unit
        self.direction = direction
        self.baseline = baseline
        self.target = target
        self.target_date = target_date
        self.customer_threshold = customer_threshold
        self.importance = importance
        self.satisfaction = satisfaction
        self.kind = kind

    @property
    def opportunity(self) -> Decimal | None:
        """ODI opportunity score I + max(I - S, 0), when both were surveyed."""
        if self.importance is None or self.satisfaction is None:
            return None
        return self.importance + max(self.importance - self.satisfaction, Decimal(0))

    def retarget(
        self,
        *,
        baseline: Decimal,
        target: Decimal,
        target_date: date | None,
        reason: str,
        actor: str,
    ) -> None:
        """Change baseline or target (or the target date), with a recorded reason; a change
        that changes nothing is refused. One event for both: `change_kind` names it."""
        check_direction(self.direction, baseline=baseline, target=target)
        if (baseline, target, target_date) == (self.baseline, self.target, self.target_date):
            raise InvalidInput(f"metric {self.code} already has baseline {baseline}, target "
                               f"{target} and that target date: nothing changes",
                               field="target")
        self._retargeted(
            baseline=baseline,
            target=target,
            target_date=target_date,
            previous_baseline=self.baseline,
            previous_target=self.target,
            reason=require_text(reason, field="reason"),
            actor=actor,
        )

    @event(Retargeted)
    def _retargeted(
        self,
        *,
        baseline: Decimal,
        target: Decimal,
        target_date: date | None,
        previous_baseline: Decimal,
        previous_target: Decimal,
        reason: str,
        actor: str,
    ) -> None:
        self.baseline = baseline
        self.target = target
        self.target_date = target_date


    @property
    def operational_metrics(self) -> list[dict[str, str]]:
        """The mapped operational metrics (empty until mapped; older metrics have none)."""
        return list(getattr(self, "_operational", []))

    def map_operational(self, *, operational_metrics: list[dict[str, str]], actor: str) -> None:
        """Map the metric to its operational metrics, replacing the mapping before; a mapping
        that changes nothing is refused."""
        mapped = check_operational(operational_metrics)
        if mapped == self.operational_metrics:
            raise InvalidInput(f"metric {self.code} is mapped so already: nothing changes",
                               field="operational_metrics")
        self._mapped(metric=self.code, operational_metrics=mapped,
                     previous=self.operational_metrics, actor=actor)

    @event(OperationalMetricsMapped)
    def _mapped(self, *, metric: str, operational_metrics: list[dict[str, str]],
                previous: list[dict[str, str]], actor: str) -> None:
        self._operational = [dict(m) for m in operational_metrics]


def change_kind(*, baseline_changed: bool, target_changed: bool) -> str:
    """What a `Retargeted` event did, named from what it changed: "rebaseline" (the starting
    point was measured anew), "retarget" (the ambition or its date moved), or both."""
    if baseline_changed and target_changed:
        return "rebaseline+retarget"
    return "rebaseline" if baseline_changed else "retarget"


def check_direction(direction: str, *, baseline: Decimal, target: Decimal) -> None:
    """A target must lie on the improving side of the baseline."""
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}", field="direction")
    for name, value in (("baseline", baseline), ("target", target)):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise InvalidInput(f"{name} must be a finite number", field=name)
    if direction == "decrease" and target > baseline:
        raise InvalidInput("a decrease metric needs target <= baseline", field="target")
    if direction == "increase" and target < baseline:
        raise InvalidInput("an increase metric needs target >= baseline", field="target")


class ObservationBatch(Aggregate):
    """One batch of readings of a metric: a stream of exactly one event, so recording is O(1)."""

    TOPIC = "cxgov.ObservationBatch"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.ObservationBatch.Created"

    class Recorded(Created):
        TOPIC = "cxgov.ObservationBatch.Recorded"
        metric: str
        batch_key: str
        readings: tuple[Reading, ...]
        source: str
        actor: str

    @staticmethod
    def create_id(metric: str, batch_key: str) -> UUID:
        """A batch is identified by its metric and the client's batch key (retries collide)."""
        return natural_id("observations", metric, batch_key)

    @classmethod
    def record(
        cls,
        *,
        metric: str,
        batch_key: str,
        readings: tuple[Reading, ...],
        source: str,
        actor: str,
        now: datetime,
    ) -> ObservationBatch:
        """Record a non-empty batch of readings observed by `now` (the recording clock)."""
        if not readings:
            raise InvalidInput("a batch needs at least one reading", field="readings")
        if len(readings) > 10_000:
            raise InvalidInput("a batch holds at most 10,000 readings", field="readings")
        created: ObservationBatch = cls(
            metric=metric,
            batch_key=require_code(batch_key, field="batch_key"),
            readings=tuple(_checked(readings, now)),
            source=require_text(source, field="source", max_length=200),
            actor=actor,
        )
        return created

    @event(Recorded)
    def __init__(
        self,
        *,
        metric: str,
        batch_key: str,
        readings: tuple[Reading, ...],
        source: str,
        actor: str,
    ) -> None:
        self.metric = metric
        self.batch_key = batch_key
        self.readings = tuple(readings)
        self.source = source


def _checked(readings: tuple[Reading, ...], now: datetime) -> list[Reading]:
    """Each reading checked as a command (`check_reading`), an error naming its index."""
    checked = []
    for index, reading in enumerate(readings):
        try:
            checked.append(check_reading(reading, now=now))
        except InvalidInput as exc:
            raise exc.within(f"readings.{index}") from None
    return checked


def check_bulk(batches: int, readings: int, *, most_batches: int, most_readings: int) -> None:
    """One bulk call: at least one batch, at most `most_batches` batches and `most_readings`
    readings in all (one transaction)."""
    if not batches:
        raise InvalidInput("send at least one batch", field="batches")
    if batches > most_batches:
        raise InvalidInput(f"at most {most_batches:,} batches per call, got {batches:,}",
                           field="batches")
    if readings > most_readings:
        raise InvalidInput(f"at most {most_readings:,} readings per call, got {readings:,}",
                           field="batches")


def refuse_repeated(created: Sequence[ObservationBatch]) -> None:
    """A call names each batch once: refuse it whole, naming every repeated batch."""
    seen: set[UUID] = set()
    repeated = []
    for b in created:
        if b.id in seen:
            repeated.append(b)
        seen.add(b.id)
    if repeated:
        raise InvalidInput(
            f"{len(repeated)} batch key(s) appear more than once in the call: "
            f"{listed(repeated)}; none of the {len(created)} batches was written",
            field="batches", repeated=keys(repeated))


def listed(batches: Sequence[ObservationBatch], most: int = 20) -> str:
    """`metric/batch_key` of the first batches, for an error message."""
    names = [f"{b.metric}/{b.batch_key}" for b in batches]
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


def keys(batches: Sequence[ObservationBatch]) -> list[dict[str, str]]:
    """The batches' metric and batch key, for an error's details."""
    return [{"metric": b.metric, "batch_key": b.batch_key} for b in batches]
