"""The live projection coalesces: it writes once per run of events, with the same rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from queue import Queue
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from domain.values import ImpactClaim, Reading
from governance.stores.library_hooks import _FlushWhenIdle
from governance.stores.readside import bound_portfolio_projection
from projections import projection, render
from projections.codec import canonical
from projections.log import ApplicationLog
from projections.projection import AuditLogProjection, catch_up, rebuild_all, replay
from projections.state import PortfolioState
from projections.views import MemoryAuditLogView, MemoryPortfolioView
from tests.app.test_fold_snapshots import two_periods
from tests.builders import INGESTER, RB_OWNER, World


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection, "FOLD_SNAPSHOT_EVERY", 7)


def a_long_history(world: World) -> None:
    """Two periods, claims revised onto another metric, and observations of both metrics."""
    two_periods(world)
    first = world.gov.initiative_id("FY2028", "J02")
    world.gov.revise_initiative(RB_OWNER, initiative_id=first, changes={
        "expected_impacts": [ImpactClaim("M2", Decimal(80), Decimal("0.5")),
                             ImpactClaim("M1", Decimal(60), Decimal("0.2"))]})
    for n in range(6):
        world.gov.record_observations(INGESTER, metric=("M1", "M2")[n % 2], batch_key=f"c{n}",
                                      readings=[Reading(Decimal(70 + n),
                                                        datetime(2026, 4 + n, 1, tzinfo=UTC),
                                                        100)], source="s")


def documents_at(world: World, position: int) -> list[tuple[str, str, str]]:
    state = replay(ApplicationLog(world.gov), upto=position)
    return sorted((k[0], k[1], canonical(d[4])) for k, d in render.documents(state).items())


@pytest.mark.parametrize("flush_every", [1, 2, 5, 1000])
def test_a_coalescing_projection_writes_what_a_per_event_one_and_a_rebuild_write(
        world: World, monkeypatch: pytest.MonkeyPatch, flush_every: int) -> None:
    a_long_history(world)
    monkeypatch.setattr(projection, "FLUSH_EVERY", flush_every)
    log = ApplicationLog(world.gov)
    bound = bound_portfolio_projection(None, world.gov)
    eager_view, lazy_view, rebuilt = (MemoryPortfolioView(), MemoryPortfolioView(),
                                      MemoryPortfolioView())
    eager, lazy = bound(eager_view), bound(lazy_view)
    lazy.coalescing = True
    for position, event in log.read(after=0):
        tracking = Tracking("cxgov", position)
        eager.process_event(event, tracking)
        lazy.process_event(event, tracking)
        written = lazy_view.max_tracking_id("cxgov") or 0
        # Whatever is written is the documents at the written position, never a mix.
        assert lazy_view.dump() == documents_at(world, written), position
        if position % 3 == 0:  # the caller ran out of events
            lazy.flush()
            assert lazy_view.max_tracking_id("cxgov") == position
    lazy.flush()
    rebuild_all(log, rebuilt, None)
    assert lazy_view.dump() == eager_view.dump() == rebuilt.dump()
    assert lazy_view._parts == eager_view._parts == rebuilt._parts


def test_a_projection_restarted_before_a_flush_replays_from_the_written_position(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a_long_history(world)
    monkeypatch.setattr(projection, "FLUSH_EVERY", 4)
    log = ApplicationLog(world.gov)
    bound = bound_portfolio_projection(None, world.gov)
    view, steady = MemoryPortfolioView(), MemoryPortfolioView()
    crashed = bound(view)
    crashed.coalescing = True
    for position, event in log.read(after=0, upto=world.gov.position() - 3):
        crashed.process_event(event, Tracking("cxgov", position))  # never flushed: a crash
    catch_up(log, bound(view))
    catch_up(log, bound(steady))
    assert view.dump() == steady.dump() == documents_at(world, world.gov.position())


def test_catch_up_of_the_audit_log_writes_every_row_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a_long_history(world)
    monkeypatch.setattr(projection, "FLUSH_EVERY", 4)
    log = ApplicationLog(world.gov)
    batched, rebuilt = MemoryAuditLogView(), MemoryAuditLogView()
    catch_up(log, AuditLogProjection(batched))
    rebuild_all(log, None, rebuilt)
    assert batched.max_tracking_id("cxgov") == world.gov.position()
    assert batched.rows(limit=10_000) == rebuilt.rows(limit=10_000)


def test_the_claim_index_follows_every_event(world: World) -> None:
    a_long_history(world)
    state = PortfolioState()
    for position, event in ApplicationLog(world.gov).read(after=0):
        state.apply(position, event)
        for period in state.periods:
            for metric in ("M1", "M2", "M9"):
                scanned = [i for i in state.period_initiatives(period)
                           if any(c.metric == metric for c in i.proposal.expected_impacts)]
                assert state.claimants(period, metric) == scanned, (position, period, metric)


class _Inner:
    def __init__(self, batches: list[list[int]]) -> None:
        self._notifications: list[int] = []
        self._notifications_index = 0
        self._notifications_queue: Queue[list[int]] = Queue()
        for batch in batches:
            self._notifications_queue.put(batch)


class _Subscription:
    """The shape of eventsourcing 9.5's ApplicationSubscription over ListenNotifySubscription."""

    def __init__(self, batches: list[list[int]]) -> None:
        self.subscription = _Inner(batches)

    def __next__(self) -> Any:
        inner = self.subscription
        if inner._notifications_index == len(inner._notifications):
            if inner._notifications_queue.empty():
                raise StopIteration
            inner._notifications = inner._notifications_queue.get()
            inner._notifications_index = 0
        inner._notifications_index += 1
        return inner._notifications[inner._notifications_index - 1]


class _Recorder:
    coalescing = False

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def flush(self) -> None:
        self.seen.append("flush")


def test_the_runner_flushes_only_when_no_fetched_event_is_left() -> None:
    recorder = _Recorder()
    wrapped = _FlushWhenIdle(_Subscription([[1, 2, 3], [4], [5, 6]]), recorder)
    assert recorder.coalescing is True
    for item in wrapped:
        recorder.seen.append(item)
    assert recorder.seen == [1, 2, 3, 4, 5, 6, "flush"]  # fetched events first, then idle


def test_an_audit_batch_another_projector_wrote_is_dropped_not_retried(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a_long_history(world)
    monkeypatch.setattr(projection, "FLUSH_EVERY", 1000)
    log = ApplicationLog(world.gov)
    view, rebuilt = MemoryAuditLogView(), MemoryAuditLogView()
    ours = AuditLogProjection(view)
    end = world.gov.position()
    for position, event in log.read(after=0, upto=end - 2):
        ours.fold_event(event, Tracking("cxgov", position))
    catch_up(log, AuditLogProjection(view))  # another projector got there first
    with pytest.raises(IntegrityError):
        ours.flush()
    catch_up(log, ours)  # nothing left over from the failed batch
    rebuild_all(log, None, rebuilt)
    assert view.rows(limit=10_000) == rebuilt.rows(limit=10_000)
