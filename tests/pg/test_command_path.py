"""The command path on PostgreSQL: cached reads stay fresh, turns remove the version races,
and the receipt a write returns is the chain entry its save wrote (docs/decisions.md 22-23)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import AlreadyExists, InsufficientFunds
from domain.pool import FundingPool
from governance.app import Governance
from governance.errors import ConcurrencyConflict
from governance.stores.integrity import entry_hash
from governance.stores.postgres import PostgresStore
from governance.stores.turns import StreamTurns, lock_key
from governance.unit_of_work import Idempotency, run
from tests.builders import CX_CHIEF, CX_DEPUTY, RB_OWNER, M, World, proposal


class Counting(Governance):
    """Counts the saves that lost a version race."""

    name = "cxgov"  # the migrated tables carry the application's name
    lost = 0

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        try:
            return super().save(*objs, **kwargs)
        except IntegrityError:
            type(self).lost += 1
            raise


def test_the_receipt_of_a_write_is_the_entry_its_save_chained(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    world = World(gov)
    with gov.idempotent(RB_OWNER, "receipt-1", "fp") as keyed:
        first = keyed.submit_initiative(RB_OWNER, period=world.period, kind="pnl", pnl="RB",
                                      proposal=proposal(), code="R1")
    with gov.idempotent(RB_OWNER, "receipt-1", "fp") as keyed:
        replay = keyed.submit_initiative(RB_OWNER, period=world.period, kind="pnl", pnl="RB",
                                       proposal=proposal(), code="R1")
    assert first.entry_hash is not None
    assert first.entry_hash == entry_hash(gov, first.position)
    assert replay.replayed and replay.position == first.position
    assert replay.entry_hash is None  # a replay wrote nothing: its receipt is read back
    gov.close()


def test_a_cached_pool_sees_what_another_process_wrote(pg_env: dict[str, str]) -> None:
    one, other = Governance(env=pg_env), Governance(env=pg_env)
    world = World(one, opex_m="30")  # a 3 M pool
    first = world.submit("I01", cost_m="2")
    assert [i.code for i in one.initiatives(world.period)] == ["I01"]  # now cached in `one`
    second = World.__new__(World)
    second.gov, second.period = other, world.period
    late = second.submit("I02", cost_m="2")
    assert [i.code for i in one.initiatives(world.period)] == ["I01", "I02"]
    other.decide(CX_CHIEF, initiative_id=late, outcome="approve", rationale="urgent")
    # `one` cached the pool with 3 M available; the approval in `other` left 1 M.
    with pytest.raises(InsufficientFunds):
        one.decide(CX_DEPUTY, initiative_id=first, outcome="approve", rationale="")
    assert one.pool(world.period).available == Decimal(1) * M
    one.close()
    other.close()


def test_changing_a_loaded_aggregate_never_changes_the_shared_copy(
        pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    world = World(gov)
    world.submit("I01")
    pool = gov.pool(world.period)
    pool.close(reason="not saved", actor="test|x")
    assert isinstance(gov.store, PostgresStore)
    shared = gov.store.fetch_at([pool.id])[0][pool.id]
    assert isinstance(shared, FundingPool)
    assert not shared.closed and not shared.pending_events
    assert shared.version == pool.version - 1
    assert shared.initiatives is not pool.initiatives
    gov.close()


def test_concurrent_submissions_queue_for_the_pool_instead_of_losing_races(
        pg_env: dict[str, str]) -> None:
    gov = Counting(env=pg_env)
    world = World(gov)
    Counting.lost = 0
    with ThreadPoolExecutor(4) as threads:
        list(threads.map(lambda n: world.submit(f"Q{n:02d}"), range(40)))
    assert Counting.lost == 0
    assert sorted(gov.pool(world.period).codes) == sorted(f"Q{n:02d}" for n in range(40))
    gov.close()


def test_a_turn_that_cannot_be_had_refuses_the_command_and_writes_nothing(
        pg_env: dict[str, str], pg_url: str) -> None:
    gov = Governance(env=pg_env)
    world = World(gov)
    assert isinstance(gov.store, PostgresStore)
    gov.store.turns = StreamTurns(gov.store.turns.datastore, wait_seconds=0.5)
    before = gov.position()
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)",
                       (lock_key(FundingPool.create_id(world.period)),))
        with pytest.raises(ConcurrencyConflict):
            gov.submit_initiative(RB_OWNER, period=world.period, kind="pnl", pnl="RB",
                                  proposal=proposal(), code="T1")
    assert gov.position() == before
    world.submit("T1")  # the lock is gone with its session: the turn is free again
    gov.close()


def test_a_keyed_request_whose_twin_committed_in_another_process_is_replayed(
        pg_env: dict[str, str]) -> None:
    """The twin writes through another application (another process's view of the same
    database); the request, which read the key before the twin committed, then finds the
    initiative submitted already and answers with the twin's result (tests/app's twin tests
    on the in-memory store)."""
    gov, other = Governance(env=pg_env), Governance(env=pg_env)
    try:
        World(gov)
        twin: list[Any] = []

        def build(unit: object) -> list[Any]:
            if not twin:
                with other.idempotent(RB_OWNER, "pg-race", "fp") as keyed:
                    twin.append(keyed.submit_initiative(RB_OWNER, period="FY2027", kind="pnl",
                                                        pnl="RB", proposal=proposal()))
            raise AlreadyExists("submitted already", field="code")

        result = run(gov, gov.store, build, idempotency=Idempotency(RB_OWNER.actor, "pg-race",
                                                                     "fp"))
        assert result.replayed and (result.id, result.position) == (twin[0].id,
                                                                    twin[0].position)
    finally:
        other.close()
        gov.close()
