"""Rules the use cases used to hold and now ask the domain for: cancelling, a period's
dependencies, the policy's confidence tiers, the limits and repeats of a bulk call."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import InvalidInput, InvalidTransition
from domain.metric import ObservationBatch, check_bulk, refuse_repeated
from domain.values import Reading
from tests.unit.aggregates import CHIEF, TERMS, a_pool, a_record, submitted

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_only_approved_work_is_cancellable() -> None:
    pool = a_pool()
    initiative = submitted(pool, "I01")
    with pytest.raises(InvalidTransition, match="cannot cancel I01 while it is submitted"):
        initiative.check_cancellable()
    initiative.approve(decision=a_record(), actor=CHIEF)
    initiative.check_cancellable()


def test_dependencies_name_other_initiatives_of_the_period() -> None:
    pool = a_pool()
    submitted(pool, "I01")
    pool.check_dependencies(["I01"], code="I02")
    for bad in (["I99"], ["I02"]):
        with pytest.raises(InvalidInput) as caught:
            pool.check_dependencies(bad, code="I02")
        assert caught.value.field == "dependencies"


def test_confidence_is_one_of_the_policy_tiers() -> None:
    tier = next(iter(TERMS.confidence_tiers.values()))
    TERMS.check_confidence(tier)
    with pytest.raises(InvalidInput, match="one of the policy's tiers") as caught:
        TERMS.check_confidence(Decimal("0.123"))
    assert caught.value.field == "confidence"


@pytest.mark.parametrize(("batches", "readings", "message"), [
    (0, 0, "send at least one batch"),
    (3, 1, "at most 2 batches per call, got 3"),
    (2, 11, "at most 10 readings per call, got 11"),
])
def test_a_bulk_call_has_limits(batches: int, readings: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_bulk(batches, readings, most_batches=2, most_readings=10)
    check_bulk(2, 10, most_batches=2, most_readings=10)


def test_a_bulk_call_names_each_batch_once() -> None:
    def batch(key: str) -> ObservationBatch:
        return ObservationBatch.record(
            metric="M1", batch_key=key, source="crm", actor="test|bot", now=NOW,
            readings=(Reading(Decimal(1), NOW, 10),))

    refuse_repeated([batch("a"), batch("b")])
    with pytest.raises(InvalidInput, match=r"1 batch key\(s\) appear more than once.*M1/a"):
        refuse_repeated([batch("a"), batch("b"), batch("a")])
