"""Operational metrics with owners on PostgreSQL (issue 15, part 3): the mapping event
survives the real store and a rebuild of the views; the department view and the metric's
register entry read live and as of a position before the second mapping; a refused mapping
writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.values import Reading
from governance.app import Governance
from governance.stores.readside import rebuild, served_read_models
from tests.builders import CX_CHIEF, INGESTER, World

pytestmark = pytest.mark.pg


def om(name: str, department: str) -> dict[str, str]:
    return {"name": name, "source": "core banking events", "aggregation": "median per month",
            "department": department}


def test_departments_in_the_postgresql_store_and_views(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        World(gov)
        gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
            om("Hours to KYC decision", "Onboarding Ops")])
        gov.record_observations(INGESTER, metric="M1", batch_key="m1", source="test",
                                readings=[Reading(Decimal(30),
                                                  datetime(2026, 11, 1, tzinfo=UTC))])
        before = gov.position()
        with pytest.raises(InvalidInput):
            gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
                om("Hours to KYC decision", "Onboarding Ops")])
        assert gov.position() == before
        gov.map_operational_metrics(CX_CHIEF, code="M1", operational_metrics=[
            om("Hours to KYC decision", "Onboarding Ops"), om("Card dispatch days", "Cards")])
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)

        _, listed = models.departments()
        assert [(d.department, d.metrics) for d in listed] == [
            ("Cards", ["M1"]), ("Onboarding Ops", ["M1"])]
        _, ops = models.department("onboarding ops")
        assert ops is not None and ops.outcomes[0].status == "green"
        assert ops.outcomes[0].current == "30"
        _, then = models.departments(as_of=before)
        assert [d.department for d in then] == ["Onboarding Ops"]
        metric = models.snapshot().metric("M1")
        assert metric is not None and len(metric.operational_metrics) == 2
        old = models.snapshot(as_of=before).metric("M1")
        assert old is not None and [m.name for m in old.operational_metrics] == [
            "Hours to KYC decision"]
    finally:
        gov.close()
