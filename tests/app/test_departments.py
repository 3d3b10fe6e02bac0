"""Operational metrics with owners and the department view (issue 15, part 3), in memory:
a metric maps to operational metrics with source, aggregation and department; refusals write
nothing; a department shows the outcomes it serves and the scorecard's status, live and as
of any position."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import InvalidInput, MetricNotFound
from domain.metric import CustomerSuccessMetric
from domain.values import Reading
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from tests.builders import CX_CHIEF, INGESTER, RB_OWNER, World, rejected_without_writing


def om(name: str, department: str, *, source: str = "core banking events",
       aggregation: str = "median per month") -> dict[str, str]:
    return {"name": name, "source": source, "aggregation": aggregation,
            "department": department}


def test_a_metric_maps_to_operational_metrics_replacing_the_mapping_before(
        world: World) -> None:
    gov = world.gov
    gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
        om("Hours to KYC decision", "Onboarding Ops"), om("Card dispatch days", "Cards")])
    gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
        om("  Hours to KYC decision ", "Onboarding Ops")])
    metric = gov.repository.get(CustomerSuccessMetric.create_id("M1"))
    assert metric.operational_metrics == [om("Hours to KYC decision", "Onboarding Ops")]
    events = list(gov.repository.event_store.get(metric.id))
    mapped = [e for e in events if isinstance(e, CustomerSuccessMetric.OperationalMetricsMapped)]
    assert [len(e.previous) for e in mapped] == [0, 2]
    assert metric.operational_metric == "Median hours to first transaction"  # the old label


@pytest.mark.parametrize(("items", "field"), [
    ([], "operational_metrics"),
    ([om("A", "Ops")] * 2, "operational_metrics.1.name"),
    ([om("A", "Ops"), om("a", "Cards")], "operational_metrics.1.name"),
    ([om("A", "\u202eOps")], "operational_metrics.0.department"),
    ([om("A", "Ops", source="   ")], "operational_metrics.0.source"),
    ([om("A", "x" * 81)], "operational_metrics.0.department"),
    ([{**om("A", "Ops"), "owner": "me"}], "operational_metrics.0.owner"),
    ([om(f"A{n}", "Ops") for n in range(21)], "operational_metrics"),
])
def test_a_bad_mapping_is_refused_naming_the_field_and_writes_nothing(
        world: World, items: list[dict[str, str]], field: str) -> None:
    error = rejected_without_writing(world.gov, InvalidInput, lambda: (
        world.gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=items)))
    assert isinstance(error, InvalidInput)
    assert error.field == field


def test_only_a_cx_executive_maps_and_the_metric_must_exist(world: World) -> None:
    gov = world.gov
    items = [om("A", "Ops")]
    rejected_without_writing(gov, Forbidden, lambda: gov.map_operational_metrics(
        RB_OWNER, code="M1", operational_metrics=items))
    rejected_without_writing(gov, MetricNotFound, lambda: gov.map_operational_metrics(
        CX_CHIEF, code="M9", operational_metrics=items))
    gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=items)
    rejected_without_writing(gov, InvalidInput, lambda: gov.map_operational_metrics(
        CX_CHIEF, code="M1", operational_metrics=items))  # nothing changes


def test_the_department_view_live_and_as_of(world: World) -> None:
    gov = world.gov
    models = in_memory(gov).read_models()
    gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
        om("Hours to KYC decision", "Onboarding Ops"), om("Card dispatch days", "Cards")])
    gov.map_operational_metrics(CX_CHIEF, code="M2", operational_metrics=[
        om("First-call fix rate", "onboarding ops", aggregation="share per month")])
    before = gov.position()
    gov.record_observations(INGESTER, metric="M1", batch_key="b1", source="test", readings=[
        Reading(value=Decimal(30), observed_at=datetime(2026, 11, 1, tzinfo=UTC))])

    position, summary = models.departments()
    assert position == gov.position()
    assert [(d.department, d.operational_metrics, d.metrics) for d in summary] == [
        ("Cards", 1, ["M1"]), ("Onboarding Ops", 2, ["M1", "M2"])]
    _, ops = models.department("ONBOARDING ops")
    assert ops is not None
    assert [(o.metric, o.operational_metrics, o.status) for o in ops.outcomes] == [
        ("M1", ["Hours to KYC decision"], "green"), ("M2", ["First-call fix rate"], "grey")]
    assert ops.outcomes[0].current == "30"
    assert ops.statuses == {"green": 1, "amber": 0, "red": 0, "grey": 1}
    assert [(m.name, m.metric, m.status) for m in ops.operational_metrics] == [
        ("Hours to KYC decision", "M1", "green"), ("First-call fix rate", "M2", "grey")]

    _, then = models.department("Onboarding Ops", as_of=before)
    assert then is not None and [o.status for o in then.outcomes] == ["grey", "grey"]
    assert models.department("Cards", as_of=before - 2)[1] is None
    assert models.department("Legal")[1] is None
    metric = models.snapshot().metric("M2")
    assert metric is not None and metric.operational_metrics[0].department == "onboarding ops"


def test_the_audit_log_names_the_metric_and_the_departments(world: World) -> None:
    gov = world.gov
    models = in_memory(gov).read_models()
    gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
        om("Hours to KYC decision", "Onboarding Ops"), om("Card dispatch days", "Cards")])
    row = models.audit_events(after=gov.position() - 1, limit=1)[0]
    assert row.topic == "cxgov.CustomerSuccessMetric.OperationalMetricsMapped"
    assert row.summary == ("CustomerSuccessMetric.OperationalMetricsMapped: metric=M1 "
                           "operational_metrics=2 departments=Cards, Onboarding Ops")


def test_the_company_file_carries_the_mapping_in_json_and_in_csv(tmp_path: Path) -> None:
    from governance.entrypoints.cli import bundled_company
    from governance.entrypoints.csv_import import (
        CsvImportError,
        parse_csv_company,
        write_csv_company,
    )

    company = bundled_company()
    mapped = {m.code: [o.model_dump() for o in m.operational_metrics] for m in company.metrics}
    assert all(mapped.values()) and mapped["M9"][0]["department"] == "Contact Centre"
    write_csv_company(company, tmp_path)
    back = parse_csv_company([tmp_path])
    assert back is not None
    assert {m.code: [o.model_dump() for o in m.operational_metrics]
            for m in back.metrics} == mapped
    path = tmp_path / "operational_metrics.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[2][rows[0].index("metric")] = "M99"
    rows[3][rows[0].index("department")] = "Ops \u202e"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(CsvImportError) as caught:
        parse_csv_company([tmp_path])
    found = [(e.file, e.line) for e in caught.value.errors]
    assert ("operational_metrics.csv", 3) in found and ("operational_metrics.csv", 4) in found
