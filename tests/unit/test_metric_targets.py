"""Retarget and re-baseline on the metric aggregate alone (issue 14): one event for both, its
kind named from what changed; a version that changes nothing, or points the wrong way, is
refused and records nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.metric import CustomerSuccessMetric, change_kind


def a_metric(**fields: object) -> CustomerSuccessMetric:
    values: dict[str, object] = {
        "code": "M1", "customer_phrasing": "Usable account within a day",
        "operational_metric": "Median hours", "scenario": None, "pnl": None, "unit": "hours",
        "direction": "decrease", "baseline": Decimal(120), "target": Decimal(24),
        "target_date": date(2027, 12, 31), "actor": "test|chris", **fields}
    metric = CustomerSuccessMetric.define(**values)  # type: ignore[arg-type]
    metric.collect_events()
    return metric


def test_a_retarget_records_before_and_after_with_its_reason() -> None:
    metric = a_metric()
    metric.retarget(baseline=Decimal(110), target=Decimal(36), target_date=None,
                    reason="  weekends counted twice  ", actor="test|dana")
    (event,) = metric.collect_events()
    assert isinstance(event, CustomerSuccessMetric.Retargeted)
    assert (event.previous_baseline, event.previous_target) == (120, 24)
    assert (event.baseline, event.target, event.target_date) == (110, 36, None)
    assert (event.reason, event.actor) == ("weekends counted twice", "test|dana")
    assert (metric.baseline, metric.target, metric.target_date) == (110, 36, None)


@pytest.mark.parametrize(("baseline", "target", "when"), [
    (Decimal(120), Decimal(24), date(2027, 12, 31)),  # the same three values
    (Decimal("120.0"), Decimal("24.00"), date(2027, 12, 31)),  # equal decimals
])
def test_a_version_that_changes_nothing_is_refused(baseline: Decimal, target: Decimal,
                                                   when: date) -> None:
    metric = a_metric()
    with pytest.raises(InvalidInput) as caught:
        metric.retarget(baseline=baseline, target=target, target_date=when, reason="again",
                        actor="test|chris")
    assert caught.value.field == "target" and "nothing changes" in str(caught.value)
    assert metric.collect_events() == []


def test_moving_only_the_target_date_is_a_change() -> None:
    metric = a_metric()
    metric.retarget(baseline=Decimal(120), target=Decimal(24), target_date=date(2028, 6, 30),
                    reason="later", actor="test|chris")
    assert metric.target_date == date(2028, 6, 30)


@pytest.mark.parametrize(("fields", "field"), [
    ({"target": Decimal(130)}, "target"),  # a decrease metric aims below its baseline
    ({"baseline": Decimal(10)}, "target"),  # ... and the baseline above the target
    ({"target": Decimal("NaN")}, "target"),
    ({"reason": " "}, "reason"),
])
def test_a_refused_retarget_records_nothing(fields: dict[str, object], field: str) -> None:
    metric = a_metric()
    values: dict[str, object] = {"baseline": Decimal(120), "target": Decimal(30),
                                 "target_date": None, "reason": "why", "actor": "test|chris",
                                 **fields}
    with pytest.raises(InvalidInput) as caught:
        metric.retarget(**values)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert metric.collect_events() == [] and metric.target == 24


@pytest.mark.parametrize(("baseline", "target", "kind"), [
    (True, False, "rebaseline"), (False, True, "retarget"), (True, True, "rebaseline+retarget"),
    (False, False, "retarget"),  # not recorded (a version changes something); named safely
])
def test_the_kind_of_a_version_is_named_from_what_it_changed(baseline: bool, target: bool,
                                                             kind: str) -> None:
    assert change_kind(baseline_changed=baseline, target_changed=target) == kind
