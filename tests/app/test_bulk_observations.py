"""Bulk observations: many batches in one transaction, all or nothing, never applied twice;
imports save them a hundred at a time."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import AlreadyExists, InvalidInput, MetricNotFound
from domain.idempotency import IdempotencyKeyReused
from domain.metric import ObservationBatch
from domain.values import Reading
from governance.app import CommandResult, Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import (
    CompanyFile,
    ObservationsIn,
    ReadingIn,
    import_company,
    observation_chunks,
)
from governance.errors import Forbidden
from governance.principal import Principal
from tests.builders import (
    AUDITOR_ONE,
    CX_CHIEF,
    FINANCE_LEAD,
    INGESTER,
    RB_OWNER,
    World,
    rejected_without_writing,
)

Batch = tuple[str, str, Sequence[Reading], str]
START = datetime(2026, 1, 1, tzinfo=UTC)


def readings(count: int = 1) -> tuple[Reading, ...]:
    """`count` hourly readings of a percentage."""
    return tuple(Reading(Decimal(70) + n % 5, START + timedelta(hours=n), 250)
                 for n in range(count))


def batches(*keys: str, metric: str = "M2", size: int = 1) -> list[Batch]:
    """One batch per key, each with `size` readings."""
    return [(metric, key, readings(size), "crm") for key in keys]


def record(gov: Governance, given: Sequence[Batch], *,
           by: Principal = INGESTER) -> CommandResult:
    return gov.record_observation_batches(by, batches=given)


@pytest.fixture
def world(any_gov: Governance) -> World:
    """The small world on the in-memory store and on PostgreSQL."""
    return World(any_gov)


def test_many_batches_are_saved_in_one_transaction_of_one_event_each(world: World) -> None:
    gov = world.gov
    before = gov.position()
    written = record(gov, batches("a", "b", "c") + batches("d", metric="M1"))
    assert gov.position() == written.position == before + 4
    for metric, key in (("M2", "a"), ("M2", "b"), ("M2", "c"), ("M1", "d")):
        batch: ObservationBatch = gov.repository.get(ObservationBatch.create_id(metric, key))
        assert (batch.metric, batch.batch_key, batch.version) == (metric, key, 1)
        assert batch.readings == readings(1)
    assert written.id == ObservationBatch.create_id("M1", "d")


def test_one_batch_recorded_already_refuses_the_whole_call_naming_it(world: World) -> None:
    gov = world.gov
    record(gov, batches("b2"))
    error = rejected_without_writing(gov, AlreadyExists, lambda: record(
        gov, batches("b1", "b2", "b3")))
    assert isinstance(error, AlreadyExists)
    assert error.details["duplicates"] == [{"metric": "M2", "batch_key": "b2"}]
    assert "M2/b2" in error.message and "none of the 3 batches was written" in error.message
    assert ObservationBatch.create_id("M2", "b1") not in gov.repository


def test_racing_calls_with_the_same_batches_record_them_once(world: World) -> None:
    gov = world.gov
    before = gov.position()
    same = batches(*(f"r{n}" for n in range(50)))

    def attempt(_: int) -> str:
        try:
            record(gov, same)
        except AlreadyExists:
            return "refused"
        return "recorded"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["recorded", "refused", "refused", "refused"]
    assert gov.position() == before + 50


def test_a_batch_recorded_by_the_single_command_counts_as_recorded(world: World) -> None:
    gov = world.gov
    gov.record_observations(INGESTER, metric="M2", batch_key="old", readings=readings(),
                            source="crm")
    rejected_without_writing(gov, AlreadyExists, lambda: record(gov, batches("new", "old")))


def test_a_batch_key_given_twice_in_one_call_is_refused_before_writing(world: World) -> None:
    error = rejected_without_writing(world.gov, InvalidInput, lambda: record(
        world.gov, batches("x", "y", "x")))
    assert isinstance(error, InvalidInput)
    assert error.field == "batches"
    assert error.details["repeated"] == [{"metric": "M2", "batch_key": "x"}]


def test_the_same_batch_key_on_two_metrics_is_two_batches(world: World) -> None:
    written = record(world.gov, batches("k") + batches("k", metric="M1"))
    assert written.position == world.gov.position()


def test_an_unknown_metric_or_a_bad_batch_refuses_everything(world: World) -> None:
    gov = world.gov
    rejected_without_writing(gov, MetricNotFound, lambda: record(
        gov, batches("a") + batches("b", metric="M99")))
    rejected_without_writing(gov, InvalidInput, lambda: record(
        gov, [*batches("a"), ("M2", "empty", (), "crm")]))
    rejected_without_writing(gov, InvalidInput, lambda: record(
        gov, [*batches("a"), ("M2", "bad key!", readings(), "crm")]))


def test_a_call_holds_one_to_a_thousand_batches_and_at_most_ten_thousand_readings(
        gov: Governance) -> None:
    World(gov)
    rejected_without_writing(gov, InvalidInput, lambda: record(gov, []))
    too_many = batches(*(f"k{n}" for n in range(Governance.max_bulk_batches + 1)))
    error = rejected_without_writing(gov, InvalidInput, lambda: record(gov, too_many))
    assert "1,000 batches" in str(error)
    heavy = batches("h1", size=5_000) + batches("h2", size=5_001)
    error = rejected_without_writing(gov, InvalidInput, lambda: record(gov, heavy))
    assert "10,000 readings" in str(error)
    record(gov, batches(*(f"k{n}" for n in range(Governance.max_bulk_batches))))
    record(gov, batches("h1", size=5_000) + batches("h2", size=5_000))


@pytest.mark.parametrize("who", [FINANCE_LEAD, RB_OWNER, AUDITOR_ONE])
def test_only_ingest_services_and_cx_executives_may_record(gov: Governance,
                                                           who: Principal) -> None:
    World(gov)
    rejected_without_writing(gov, Forbidden, lambda: record(gov, batches("a"), by=who))
    record(gov, batches("a"), by=CX_CHIEF)


def test_a_retry_with_the_same_key_replays_and_never_applies_twice(world: World) -> None:
    gov = world.gov
    with gov.idempotent(INGESTER, "bulk-1", "fp-a") as keyed:
        first = record(keyed, batches("a", "b"))
    position = gov.position()
    with gov.idempotent(INGESTER, "bulk-1", "fp-a") as keyed:
        again = record(keyed, batches("a", "b"))
    assert gov.position() == position
    assert again.replayed and not first.replayed
    assert (again.id, again.position) == (first.id, first.position)
    with pytest.raises(IdempotencyKeyReused), gov.idempotent(INGESTER, "bulk-1", "fp-b") as keyed:
        record(keyed, batches("c"))
    assert gov.position() == position


def company_with(batches_in: list[ObservationsIn]) -> CompanyFile:
    """Harborview with these observation batches."""
    return bundled_company().model_copy(update={"observations": batches_in})


def file_batches(count: int, *, size: int = 1, metric: str = "M1") -> list[ObservationsIn]:
    """`count` batches of `size` readings, as a company file holds them."""
    return [ObservationsIn(metric=metric, batch_key=f"f{n}", readings=[
        ReadingIn(value=Decimal(50), observed_at=START + timedelta(minutes=k), sample_size=40)
        for k in range(size)]) for n in range(count)]


def test_an_import_saves_observation_batches_a_hundred_per_transaction(
        gov: Governance) -> None:
    reference = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    plain = import_company(reference, company_with([]))
    reference.close()
    report = import_company(gov, company_with(file_batches(250)))
    assert report.commands == plain.commands + 3
    assert report.events == report.last_position == plain.last_position + 250
    assert ObservationBatch.create_id("M1", "f249") in gov.repository


def test_import_chunks_hold_at_most_a_hundred_batches_and_ten_thousand_readings() -> None:
    assert [len(c) for c in observation_chunks(file_batches(250))] == [100, 100, 50]
    assert [len(c) for c in observation_chunks(file_batches(5, size=4_000))] == [2, 2, 1]
    assert [len(c) for c in observation_chunks(file_batches(2, size=10_000))] == [1, 1]


def test_an_import_refuses_a_batch_key_given_twice_before_writing_anything(
        gov: Governance) -> None:
    twice = file_batches(3) + file_batches(1)
    error = rejected_without_writing(gov, InvalidInput, lambda: import_company(
        gov, company_with(twice)))
    assert "M1/f0" in str(error)
