"""Partitioned fold snapshots: live, rebuild, restart and as-of agree at every position."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.values import Reading
from governance.app import Governance
from governance.entrypoints.company import import_company, load_company_file
from governance.stores.readside import bound_portfolio_projection, in_memory
from projections import projection, render
from projections.audit import audit_record, audit_row
from projections.codec import canonical, dump_state
from projections.log import ApplicationLog
from projections.projection import (
    FoldSnapshots,
    PortfolioProjection,
    catch_up,
    rebuild_all,
    replay,
)
from projections.query import ReadModels
from projections.state import PortfolioState
from projections.views import MemoryAuditLogView, MemoryPortfolioView, PostgresAuditLogView
from tests.app.test_projections import a_busy_history
from tests.builders import CX_CHIEF, FINANCE_LEAD, INGESTER, M, World, harborview_path


@pytest.fixture(autouse=True)
def small_fold_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection, "FOLD_SNAPSHOT_EVERY", 3)


def two_periods(world: World) -> None:
    """The busy history in FY2027, then a second period with its own initiatives."""
    a_busy_history(world)
    world.gov.open_period(FINANCE_LEAD, code="FY2028", currency="USD",
                          opex_total=Decimal(500) * M, cap_percent=Decimal(10))
    world.period = "FY2028"
    first = world.submit("J01", cost_m="3")
    world.submit("J02", cost_m="4")
    world.gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
    world.gov.record_observations(INGESTER, metric="M2", batch_key="b2", readings=[
        Reading(Decimal(70), datetime(2026, 3, 1, tzinfo=UTC), 300)], source="s")
    world.period = "FY2027"
    world.submit("I09", cost_m="2")


def full_documents(world: World, position: int) -> dict[tuple[str, str], str]:
    state = replay(ApplicationLog(world.gov), upto=position)
    return {k: canonical(d[4]) for k, d in render.documents(state).items()}


def test_as_of_every_query_equals_a_replay_from_the_start(world: World) -> None:
    two_periods(world)
    read_side = in_memory(world.gov)
    models = read_side.read_models()
    models.wait(world.gov.position())
    assert read_side.portfolio.fold_snapshot_core() is not None
    for position in range(0, world.gov.position() + 1):
        expected = full_documents(world, position)
        snap = models.snapshot(as_of=position)
        for period in ("FY2027", "FY2028", "FY2099"):
            for model in ("ranking", "scorecard", "initiative"):
                got = [canonical(r) for r in snap.documents(model, period=period)]
                assert got == _filtered(world, position, model, period), (position, model)
            ledger = snap.documents("ledger", key=period)
            assert [canonical(r) for r in ledger] == (
                [expected[("ledger", period)]] if ("ledger", period) in expected else [])
        for model in ("pnl", "scenario", "metric", "policy"):
            got = sorted(canonical(r) for r in snap.documents(model))
            assert got == sorted(v for k, v in expected.items() if k[0] == model), position
        assert snap.dump() == sorted((k[0], k[1], v) for k, v in expected.items()), position
    # The last events touch FY2027 only: its as-of loads no initiative of FY2028 (the
    # replay's own path; ReadModels may answer from its fold cache, whole).
    partial = projection.state_at(ApplicationLog(world.gov), read_side.portfolio,
                                  world.gov.position(), {"FY2027"})
    assert {i.period for i in partial.initiatives.values()} == {"FY2027"}


def _filtered(world: World, position: int, model: str, period: str) -> list[str]:
    state = replay(ApplicationLog(world.gov), upto=position)
    docs = render.documents(state)
    found = [d for d in docs.values() if d[0] == model and d[2] == period]
    return [canonical(d[4]) for d in sorted(found, key=lambda d: (d[3], d[1]))]


def test_a_restarted_projector_writes_fold_snapshots_equal_to_an_uninterrupted_one(
        world: World) -> None:
    two_periods(world)
    log = ApplicationLog(world.gov)
    end = world.gov.position()
    steady, restarted = MemoryPortfolioView(), MemoryPortfolioView()
    catch_up(log, bound(world)(steady))
    for stop in (5, 11, 12, 17, end):  # restart between fold snapshots and right after them
        partial = ReadModels(_Upto(log, stop), restarted, MemoryAuditLogView())
        catch_up(partial.log, bound(world)(restarted))
    assert restarted.dump() == steady.dump()
    for position in range(end + 1):
        a = ReadModels(log, steady, MemoryAuditLogView()).state_at(position)
        b = ReadModels(log, restarted, MemoryAuditLogView()).state_at(position)
        assert dump_state(a) == dump_state(b) == dump_state(replay(log, upto=position))


def test_a_rebuild_writes_the_same_fold_snapshots_as_the_live_projector(world: World) -> None:
    two_periods(world)
    log = ApplicationLog(world.gov)
    live, rebuilt = MemoryPortfolioView(), MemoryPortfolioView()
    catch_up(log, bound(world)(live))
    rebuild_all(log, rebuilt, MemoryAuditLogView())
    assert rebuilt.dump() == live.dump()
    assert rebuilt._parts == live._parts


def test_cached_initiative_texts_equal_a_fresh_encoding(world: World) -> None:
    two_periods(world)
    state = replay(ApplicationLog(world.gov), upto=None)
    cached = FoldSnapshots(dirty=state.periods)
    cached.take(state)  # fills the cache
    cached.dirty.update(state.periods)
    fresh = FoldSnapshots(dirty=state.periods)
    assert cached.take(state) == fresh.take(state)


def test_an_old_whole_state_fold_snapshot_is_not_used(world: World) -> None:
    """Revision 0002's whole-state fold snapshot predates what the fold has gained since
    (decision 153): queries replay from the start and agree with a full replay."""
    two_periods(world)
    log = ApplicationLog(world.gov)
    view = MemoryPortfolioView()
    old = replay(log, upto=10)
    assert old.metrics
    old.metrics = {}  # what it lacks shows if it were used
    view._fold_snapshots[10] = dump_state(old)  # revision 0002's format, no parts
    models = ReadModels(log, view, MemoryAuditLogView())
    for position in (10, 12, world.gov.position()):
        assert dump_state(models.state_at(position)) == dump_state(replay(log, upto=position))
        assert (models.snapshot(as_of=position).documents("ranking", period="FY2028")
                == _rows(replay(log, upto=position), "FY2028"))


def _rows(state: PortfolioState, period: str) -> list[dict[str, object]]:
    return render.ranking(state, period)


class _Upto:
    """A log that ends at a position (a projector stopped there)."""

    def __init__(self, log: ApplicationLog, upto: int) -> None:
        self.inner, self.upto = log, upto

    def max_position(self) -> int:
        return min(self.inner.max_position(), self.upto)

    def read(self, *, after: int, upto: int | None = None):  # type: ignore[no-untyped-def]
        return self.inner.read(after=after, upto=min(upto or self.upto, self.upto))


def bound(world: World) -> type[PortfolioProjection]:
    return bound_portfolio_projection(None, world.gov)


def test_bulk_audit_records_equal_the_audit_rows(world: World) -> None:
    two_periods(world)
    harborview = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    import_company(harborview, load_company_file(harborview_path()))
    columns = PostgresAuditLogView.COLUMNS
    for gov in (world.gov, harborview):
        for position, event in ApplicationLog(gov).read(after=0):
            row, record = audit_row(position, event), audit_record(position, event)
            texts = (record[0], record[1].isoformat(), record[2], str(record[3]), *record[4:-1])
            assert texts == tuple(row[c] for c in columns[:-1]), position
            assert json.loads(record[-1]) == row["details"], position
    harborview.close()


def test_a_fold_snapshot_of_an_older_format_is_not_used(world: World) -> None:
    """A core written by the release before segment series (format 2, no `segments`) would
    serve empty segments until a rebuild: the restored projector and every as-of query replay
    from the start instead, and the next fold snapshot is written in the current format."""
    two_periods(world)
    world.gov.record_observations(INGESTER, metric="M2", batch_key="seg", readings=[
        Reading(Decimal(71), datetime(2026, 4, 1, tzinfo=UTC), 400, channel="web")],
        source="s")
    log = ApplicationLog(world.gov)
    end = world.gov.position()
    view = MemoryPortfolioView()
    catch_up(log, bound(world)(view))
    assert replay(log, upto=end).segments["M2"]["channel"]["web"]
    for key, text in list(view._parts.items()):
        if key[0] == "":  # the core: as the older release wrote it
            found = json.loads(text)
            del found["state"]["f"]["segments"]
            view._parts[key] = json.dumps({**found, "format": 2})
    models = ReadModels(log, view, MemoryAuditLogView())
    for position in range(end + 1):
        assert dump_state(models.state_at(position)) == dump_state(replay(log, upto=position))
        assert (models.snapshot(as_of=position).documents("ranking", period="FY2028")
                == _rows(replay(log, upto=position), "FY2028"))
    restored = bound(world)(view)
    assert dump_state(restored.state) == dump_state(replay(log, upto=end))
    for code in ("I10", "I11", "I12"):  # past the next fold snapshot (every 3 positions)
        world.submit(code, cost_m="1")
    catch_up(log, restored)
    newest = max(p for part, p in view._parts if part == "")
    assert newest > end and json.loads(view._parts[("", newest)])["format"] != 2
    assert _sorted(models.state_at(newest)) == _sorted(replay(log, upto=newest))


def _sorted(state: PortfolioState) -> str:
    """The state's text with its initiatives in id order (a loaded part lists its period's
    initiatives together, a replay in the order they were submitted)."""
    return dump_state(dataclasses.replace(state, initiatives=dict(sorted(
        state.initiatives.items()))))
