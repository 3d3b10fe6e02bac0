"""Events are forever: explicit topics, actors on every event, v1 payloads still load."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import pkgutil
from datetime import date
from decimal import Decimal

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

import domain
from domain import (
    benefits,
    feedback,
    idempotency,
    initiative,
    jobs,
    metric,
    plans,
    policy,
    pool,
    registry,
    review,
    rounds,
    signals,
    webhooks,
)
from domain.ids import natural_id
from domain.metric import CustomerSuccessMetric
from governance.app import Governance

AGGREGATES = [pool.FundingPool, registry.PnL, registry.Scenario, metric.CustomerSuccessMetric,
              metric.ObservationBatch, policy.ScoringPolicy, initiative.Initiative,
              idempotency.IdempotencyKey, benefits.BenefitPlan, signals.SignalNote,
              review.Review, webhooks.WebhookSubscription, jobs.Job, jobs.ServedJobs,
              feedback.FeedbackBatch, feedback.Evidence, rounds.FundingRound,
              plans.FundingPlan, plans.PlanOfRecord]


def domain_aggregates() -> set[type]:
    """Every aggregate class defined in a module of the domain package."""
    found: set[type] = set()
    for info in pkgutil.walk_packages(domain.__path__, "domain."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (issubclass(value, Aggregate) and value is not Aggregate
                    and value.__module__ == module.__name__):
                found.add(value)
    return found


def test_every_aggregate_of_the_domain_is_listed_so_its_events_are_checked() -> None:
    # an aggregate left out of AGGREGATES escapes every test below and the event catalogue
    assert domain_aggregates() == set(AGGREGATES)


def event_classes() -> list[type]:
    found = []
    for aggregate in AGGREGATES:
        for _, value in inspect.getmembers(aggregate, inspect.isclass):
            if (hasattr(value, "TOPIC") and value.__name__ not in {"Event", "Created"}
                    and value.__qualname__.startswith(aggregate.__name__ + ".")):
                found.append(value)
    return found


def test_every_stored_event_has_an_explicit_stable_topic() -> None:
    classes = event_classes()
    assert len(classes) >= 20
    for cls in classes:
        assert f"cxgov.{cls.__qualname__}" == cls.TOPIC, cls


def test_every_event_records_who_acted() -> None:
    for cls in event_classes():
        assert "actor" in {f.name for f in dataclasses.fields(cls)}, cls


def test_a_v1_metric_definition_is_upcast_when_loaded() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    metric_id = natural_id("metric", "M1")
    v1_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-05T09:00:00+00:00"},
        "originator_topic": "cxgov.CustomerSuccessMetric",
        "code": "M1", "customer_phrasing": "Usable account within a day",
        "operational_metric": "Median hours to first transaction", "scenario": None,
        "pnl": "RB", "unit": "hours", "direction": "decrease",
        "baseline": {"_type_": "decimal_str", "_data_": "120"},
        "target": {"_type_": "decimal_str", "_data_": "24"},
        "importance": None, "satisfaction": None, "actor": "legacy|import",
    }
    app.recorder.insert_events([StoredEvent(
        originator_id=metric_id, originator_version=1,
        topic="cxgov.CustomerSuccessMetric.Defined",
        state=json.dumps(v1_state).encode())])

    loaded = app.repository.get(metric_id)

    assert isinstance(loaded, CustomerSuccessMetric)
    assert loaded.baseline == Decimal(120)
    assert loaded.target_date is None and loaded.customer_threshold is None
    loaded.retarget(baseline=Decimal(110), target=Decimal(24), target_date=date(2027, 12, 31),
                    reason="new data", actor="test|chris")
    app.save(loaded)
    assert app.repository.get(metric_id).baseline == Decimal(110)
    app.close()


def test_new_metric_definitions_are_stored_as_version_three() -> None:
    app = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    m = CustomerSuccessMetric.define(
        code="M2", customer_phrasing="Fast", operational_metric="Days", scenario=None, pnl=None,
        unit="days", direction="decrease", baseline=Decimal(12), target=Decimal(3),
        actor="test|chris")
    app.save(m)
    stored = app.recorder.select_events(m.id)[0]
    assert json.loads(stored.state)["class_version"] == 3
    app.close()
