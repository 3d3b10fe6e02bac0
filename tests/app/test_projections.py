"""Read models through the projections: Harborview, as-of determinism, rebuild, fold snapshots."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.values import Reading
from governance.app import Governance
from governance.entrypoints.company import import_company, load_company_file
from governance.stores.readside import in_memory
from projections.codec import dump_state, load_state
from projections.log import ApplicationLog
from projections.projection import rebuild_audit_log, rebuild_portfolio, replay
from projections.query import AsOfOutOfRange
from projections.views import MemoryAuditLogView, MemoryPortfolioView
from tests.builders import CX_CHIEF, CX_DEPUTY, INGESTER, RB_OWNER, M, World, harborview_path


@pytest.fixture
def harborview(gov: Governance) -> Governance:
    import_company(gov, load_company_file(harborview_path()))
    return gov


def test_harborview_ranking_through_the_projections_equals_the_published_one(
        harborview: Governance) -> None:
    expected = json.loads(harborview_path().read_text())["expected"]
    rows = in_memory(harborview).read_models().ranking("FY2027")
    assert [r["code"] for r in rows] == expected["ranking"]
    assert {r["code"]: {"cip": r["cip_display"], "score": r["score_display"]}
            for r in rows} == expected["scores"]
    recommended = sum(Decimal(r["cost"]) for r in rows if r["recommended"])
    assert recommended == Decimal(expected["greedy_funded_musd"]) * M


def test_harborview_recommendation_reports_an_optimum_never_below_greedy(
        harborview: Governance) -> None:
    rec = in_memory(harborview).read_models().recommendation("FY2027")
    assert Decimal(rec["greedy"]["total_cost"]) == Decimal("118.8") * M
    assert Decimal(rec["optimal"]["total_value"]) >= Decimal(rec["greedy"]["total_value"])
    assert Decimal(rec["value_left_by_greedy"]) >= 0
    assert len(rec["frontier"]) >= 20
    values = [Decimal(p["value"]) for p in rec["frontier"]]
    assert values == sorted(values)
    assert {u["code"] for u in rec["unfunded"]} == {
        "I03", "I09", "I23", "I14", "I06", "I29", "I30", "I28"}
    flagged = {c["metric"] for c in rec["overclaims"] if c["overclaimed"]}
    assert {"M4", "M5", "M8", "M6", "M9", "M2", "M7"} <= flagged


def test_the_ledger_follows_approvals_by_pnl_and_kind(world: World) -> None:
    i = world.submit("I01", cost_m="5")
    world.submit("I02", by=CX_CHIEF, pnl=None, kind="cx_process", cost_m="3")
    world.gov.decide(CX_DEPUTY, initiative_id=i, outcome="approve")
    ledger = in_memory(world.gov).read_models().ledger("FY2027")
    assert ledger is not None
    assert Decimal(ledger["net_committed"]) == 5 * M
    assert ledger["by_pnl"] == {"RB": str(5 * M)}
    assert ledger["by_kind"] == {"pnl": str(5 * M)}
    assert Decimal(ledger["available"]) == 95 * M


def test_the_scorecard_shows_progress_status_and_who_is_working_on_it(world: World) -> None:
    i = world.submit("I01", cost_m="5", impacts=(("M1", "48", "0.7"),))
    world.gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    world.gov.record_observations(INGESTER, metric="M1", batch_key="2027-01", readings=[
        Reading(Decimal(96), datetime(2026, 1, 31, tzinfo=UTC), 400)], source="core")
    cards = {c["metric"]: c for c in in_memory(world.gov).read_models().scorecard("FY2027")}
    m1 = cards["M1"]
    assert Decimal(m1["current"]) == 96
    assert Decimal(m1["progress"]) == Decimal("0.25")
    assert m1["status"] in {"green", "amber", "red"}
    assert [a["code"] for a in m1["initiatives"]] == ["I01"]
    assert cards["M2"]["status"] == "grey"


def a_busy_history(world: World, after_each: Callable[[int], None] = lambda _: None) -> list[int]:
    """A mix of commands; returns the log position after each (and calls `after_each`)."""
    positions: list[int] = Watched(after_each)
    for n in range(1, 6):
        world.submit(f"I{n:02d}", cost_m=str(4 * n))
        positions.append(world.gov.position())
    ids = [world.gov.initiative_id("FY2027", f"I{n:02d}") for n in range(1, 6)]
    world.gov.decide(CX_CHIEF, initiative_id=ids[0], outcome="approve")
    positions.append(world.gov.position())
    world.gov.revise_initiative(RB_OWNER, initiative_id=ids[1], changes={"cost": 7 * M})
    positions.append(world.gov.position())
    world.gov.decide(CX_CHIEF, initiative_id=ids[4], outcome="reject", rationale="no")
    positions.append(world.gov.position())
    world.gov.record_observations(INGESTER, metric="M1", batch_key="b1", readings=[
        Reading(Decimal(100), datetime(2026, 2, 1, tzinfo=UTC), 200)], source="s")
    positions.append(world.gov.position())
    world.gov.cancel_initiative(CX_CHIEF, initiative_id=ids[0], reason="vendor")
    positions.append(world.gov.position())
    return list(positions)


class Watched(list[int]):
    """A list that reports each appended position."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        super().__init__()
        self.callback = callback

    def append(self, position: int) -> None:
        super().append(position)
        self.callback(position)


def test_views_captured_live_equal_the_as_of_replay_at_those_positions(world: World) -> None:
    read_side = in_memory(world.gov)
    models = read_side.read_models()
    live: dict[int, list[tuple[str, str, str]]] = {}

    def capture(position: int) -> None:
        models.wait(position)
        live[position] = read_side.portfolio.dump()

    a_busy_history(world, capture)
    assert len(live) == 10
    for position, captured in live.items():
        assert models.snapshot(as_of=position).dump() == captured, position


def test_a_rebuild_equals_the_live_views(world: World) -> None:
    a_busy_history(world)
    read_side = in_memory(world.gov)
    read_side.refresh()
    fresh_portfolio, fresh_audit = MemoryPortfolioView(), MemoryAuditLogView()
    log = ApplicationLog(world.gov)
    assert rebuild_portfolio(log, fresh_portfolio) == world.gov.position()
    rebuild_audit_log(log, fresh_audit)
    assert fresh_portfolio.dump() == read_side.portfolio.dump()
    assert fresh_audit.rows(limit=10_000) == read_side.audit.rows(limit=10_000)


def test_a_fold_snapshot_round_trip_renders_the_same_documents(world: World) -> None:
    a_busy_history(world)
    state = replay(ApplicationLog(world.gov), upto=None)
    assert dump_state(load_state(dump_state(state))) == dump_state(state)


def test_as_of_a_time_resolves_to_the_last_position_at_or_before_it(world: World) -> None:
    models = in_memory(world.gov).read_models()
    models.wait(world.gov.position())
    events = models.audit_events(limit=1000)
    middle = events[len(events) // 2]
    assert models.resolve(middle["at"]) >= middle["position"]
    assert models.resolve("1999-01-01T00:00:00Z") == 0


def test_an_as_of_beyond_the_log_is_refused(world: World) -> None:
    models = in_memory(world.gov).read_models()
    with pytest.raises(AsOfOutOfRange):
        models.snapshot(as_of=world.gov.position() + 1)


def test_every_event_appears_once_in_the_audit_log_with_its_actor(world: World) -> None:
    a_busy_history(world)
    models = in_memory(world.gov).read_models()
    rows = models.audit_events(limit=10_000, min_position=world.gov.position())
    assert [r["position"] for r in rows] == sorted({r["position"] for r in rows})
    assert len(rows) == world.gov.position()
    assert all(r["actor"] for r in rows)


def test_a_decision_is_explained_with_the_ranking_it_was_taken_against(world: World) -> None:
    world.submit("I01", cost_m="60", impacts=(("M1", "24", "1.0"),))
    weak = world.submit("I02", cost_m="50", impacts=(("M1", "110", "0.2"),))
    decided = world.gov.decide(CX_CHIEF, initiative_id=weak, outcome="approve",
                               rationale="Regulator expects it")
    world.submit("I03", cost_m="1", impacts=(("M1", "24", "1.0"),))  # changes today's ranking
    models = in_memory(world.gov).read_models()
    assert decided.decision is not None
    explained = models.explain_decision(str(decided.decision.decision_id))
    assert explained is not None
    assert [r["code"] for r in explained["ranking_then"]] == ["I01", "I02"]
    assert explained["entry_then"]["rank"] == 2 and not explained["entry_then"]["recommended"]
    assert explained["departure"] and explained["justification"] == "Regulator expects it"
    assert explained["approvers"] == ["test|chris"]
    assert [d["code"] for d in models.departures("FY2027")] == ["I02"]
    assert models.ranking("FY2027")[0]["code"] == "I03"
