"""Richer readings (issue 15, part 1): a distribution summary, category counts and segments on
a reading; incoherent counts refused naming the field; old stored readings still decode."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from domain.errors import InvalidInput
from domain.ids import natural_id
from domain.metric import ObservationBatch
from domain.values import Reading
from governance.app import Governance

NOW = datetime(2027, 6, 30, tzinfo=UTC)
AT = datetime(2027, 5, 31, tzinfo=UTC)


def record(*readings: Reading) -> ObservationBatch:
    return ObservationBatch.record(metric="M1", batch_key="b1", readings=readings,
                                   source="survey", actor="test|bot", now=NOW)


def test_a_reading_carries_a_summary_counts_and_segments() -> None:
    nps = Reading(Decimal(25), AT, 200, "RB", "new", channel="app", region="north",
                  promoters=90, passives=70, detractors=40)
    days = Reading(Decimal("4.5"), AT, 120, mean=Decimal("5.2"), sd=Decimal("3.1"),
                   median=Decimal("4.5"), p90=Decimal(11), share_meeting=Decimal("0.62"))
    csat = Reading(Decimal("78.7"), AT, 150, top_box=118)
    batch = record(nps, days, csat)
    assert batch.readings[0].categories == (90, 70, 40)
    assert (batch.readings[0].channel, batch.readings[0].region) == ("app", "north")
    assert batch.readings[1].p90 == 11 and batch.readings[2].top_box == 118


BAD: list[tuple[dict[str, Any], str]] = [
    ({"promoters": -1, "passives": 61, "detractors": 40, "sample_size": 100}, "promoters"),
    ({"promoters": 50, "passives": 20, "detractors": 40}, "sample_size"),  # 110 != 100
    ({"promoters": 50, "detractors": 40}, "passives"),  # one category missing
    ({"top_box": 101}, "top_box"),
    ({"top_box": -3}, "top_box"),
    ({"median": Decimal(9), "p90": Decimal(8)}, "p90"),
    ({"share_meeting": Decimal("1.2")}, "share_meeting"),
    ({"share_meeting": Decimal("-0.1")}, "share_meeting"),
    ({"sd": Decimal(-1)}, "sd"),
    ({"mean": Decimal("NaN")}, "mean"),
    ({"mean": Decimal(4), "sample_size": None}, "sample_size"),  # a summary of how many?
    ({"promoters": 0, "passives": 0, "detractors": 0, "sample_size": 0}, "sample_size"),
]


@pytest.mark.parametrize(("fields", "named"), BAD)
def test_bad_counts_are_refused_naming_the_reading_and_field(fields: dict[str, Any],
                                                             named: str) -> None:
    good = Reading(Decimal(10), AT, 100)
    with pytest.raises(InvalidInput) as refused:
        record(good, replace(good, **{"sample_size": 100, **fields}))
    assert refused.value.field == f"readings.1.{named}"


def test_segment_labels_are_cleaned_free_text() -> None:
    batch = record(Reading(Decimal(1), AT, channel="  web ", region="south\u200b"))
    assert batch.readings[0].channel == "web"
    with pytest.raises(InvalidInput) as refused:
        record(Reading(Decimal(1), AT, region="a\x07b"))
    assert refused.value.field == "readings.0.region"


def _app() -> Governance:
    return Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_a_plain_reading_is_stored_exactly_as_before_and_a_rich_one_with_its_fields() -> None:
    app = _app()
    plain = record(Reading(Decimal(50), AT, 100, "RB", "new"))
    app.save(plain)
    stored = json.loads(app.recorder.select_events(plain.id)[0].state)
    assert stored["readings"][0]["_data_"] == {
        "value": {"_type_": "decimal_str", "_data_": "50"},
        "observed_at": {"_type_": "datetime_iso", "_data_": AT.isoformat()},
        "sample_size": 100, "pnl": "RB", "cohort": "new"}
    rich = ObservationBatch.record(
        metric="M1", batch_key="b2", source="survey", actor="test|bot", now=NOW,
        readings=(Reading(Decimal(25), AT, 200, promoters=90, passives=70, detractors=40),))
    app.save(rich)
    stored = json.loads(app.recorder.select_events(rich.id)[0].state)
    assert set(stored["readings"][0]["_data_"]) == {
        "value", "observed_at", "sample_size", "pnl", "cohort", "promoters", "passives",
        "detractors"}
    assert app.repository.get(rich.id).readings[0].categories == (90, 70, 40)
    app.close()


def test_an_old_stored_batch_still_decodes_with_no_summary() -> None:
    """A Recorded event as releases before issue 15 stored it (no class_version: v1)."""
    app = _app()
    batch_id = natural_id("observations", "M1", "2026-12")
    old_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2027-01-02T09:00:00+00:00"},
        "originator_topic": "cxgov.ObservationBatch",
        "metric": "M1", "batch_key": "2026-12", "source": "crm", "actor": "legacy|import",
        "readings": [{"_type_": "cxgov.Reading", "_data_": {
            "value": {"_type_": "decimal_str", "_data_": "71.5"},
            "observed_at": {"_type_": "datetime_iso", "_data_": "2026-12-31T00:00:00+00:00"},
            "sample_size": 1200, "pnl": "RB", "cohort": None}}],
    }
    app.recorder.insert_events([StoredEvent(
        originator_id=batch_id, originator_version=1, topic="cxgov.ObservationBatch.Recorded",
        state=json.dumps(old_state).encode())])

    loaded = app.repository.get(batch_id)

    assert isinstance(loaded, ObservationBatch)
    (reading,) = loaded.readings
    assert (reading.value, reading.sample_size, reading.pnl) == (Decimal("71.5"), 1200, "RB")
    assert reading.categories is None and reading.mean is None and reading.channel is None
    app.close()
