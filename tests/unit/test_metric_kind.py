"""Employee-experience metrics (issue 15, part 4): a metric's `kind` says whose experience it
measures ("customer" or "employee"); `Defined` v3 carries it, and v1 and v2 definitions
already in the log load as customer metrics (upcast), their other fields intact."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from domain.errors import InvalidInput
from domain.ids import natural_id
from domain.metric import METRIC_KINDS, CustomerSuccessMetric
from governance.app import Governance


def _define(**extra: Any) -> CustomerSuccessMetric:
    return CustomerSuccessMetric.define(
        code="STAFF", customer_phrasing="I have what I need to help customers",
        operational_metric="Share agreeing in the monthly pulse", scenario=None, pnl=None,
        unit="%", direction="increase", baseline=Decimal(58), target=Decimal(80),
        actor="test|chris", **extra)


def _stored(app: Governance, version: int | None, **fields: Any) -> CustomerSuccessMetric:
    """A definition written as an older version wrote it, then loaded."""
    metric_id = natural_id("metric", "M1")
    state: dict[str, Any] = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-05T09:00:00+00:00"},
        "originator_topic": "cxgov.CustomerSuccessMetric",
        "code": "M1", "customer_phrasing": "Usable account within a day",
        "operational_metric": "Median hours to first transaction", "scenario": None,
        "pnl": "RB", "unit": "hours", "direction": "decrease",
        "baseline": {"_type_": "decimal_str", "_data_": "120"},
        "target": {"_type_": "decimal_str", "_data_": "24"},
        "importance": None, "satisfaction": None, "actor": "legacy|import", **fields,
    }
    if version is not None:
        state["class_version"] = version
    app.recorder.insert_events([StoredEvent(
        originator_id=metric_id, originator_version=1,
        topic="cxgov.CustomerSuccessMetric.Defined", state=json.dumps(state).encode())])
    loaded = app.repository.get(metric_id)
    assert isinstance(loaded, CustomerSuccessMetric)
    return loaded


def test_an_employee_metric_is_stored_as_version_three_with_its_kind() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    metric = _define(kind="employee")
    app.save(metric)
    stored = json.loads(app.recorder.select_events(metric.id)[0].state)
    assert (stored["class_version"], stored["kind"]) == (3, "employee")
    assert app.repository.get(metric.id).kind == "employee"
    assert _define().kind == "customer"  # the default
    app.close()


@pytest.mark.parametrize("kind", ["robot", "", "Employee", "customer "])
def test_an_unknown_kind_is_refused_naming_the_field(kind: str) -> None:
    assert kind not in METRIC_KINDS
    with pytest.raises(InvalidInput) as refused:
        _define(kind=kind)
    assert refused.value.field == "kind"


def test_a_v2_definition_loads_as_a_customer_metric() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    loaded = _stored(app, 2, target_date={"_type_": "date_iso", "_data_": "2027-06-30"},
                     customer_threshold={"_type_": "decimal_str", "_data_": "24"})
    assert loaded.kind == "customer"
    assert loaded.customer_threshold == Decimal(24) and loaded.baseline == Decimal(120)
    assert str(loaded.target_date) == "2027-06-30"
    app.close()


def test_a_v1_definition_is_upcast_twice() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    loaded = _stored(app, None)
    assert loaded.kind == "customer"
    assert loaded.target_date is None and loaded.customer_threshold is None
    app.close()
