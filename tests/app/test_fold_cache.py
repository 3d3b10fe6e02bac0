"""The per-process fold cache (issue 17, projections/fold_cache.py): the live state folded on
incrementally and the as-of states it keeps equal a replay from the start at every position,
on generated histories; a state handed out never changes afterwards (a past position never
sees newer state); the fold's core readers answer the same from the whole state."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from governance.app import Governance
from governance.stores.readside import in_memory
from projections import projection
from projections.codec import dump_state
from projections.departments import departments
from projections.drivers import drivers
from projections.feedback import feedback_page
from projections.fold_cache import fold_cache
from projections.jobs import job_map
from projections.log import ApplicationLog
from projections.plans import plans_list
from projections.projection import replay
from projections.query import ReadModels
from projections.rounds import round_view
from projections.state import PortfolioState
from tests.app.decision_histories import generate
from tests.app.test_loop_scenario import check_scenario, run_scenario
from tests.app.test_projections import a_busy_history
from tests.builders import World


@pytest.fixture(autouse=True)
def small_fold_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fold snapshots every 5 positions: as-of reads choose between a kept state and one."""
    monkeypatch.setattr(projection, "FOLD_SNAPSHOT_EVERY", 5)


def fresh(gov: Governance, position: int) -> str:
    """The state at a position, replayed from position 1 by a log reader with no cache."""
    return dump_state(replay(ApplicationLog(gov), upto=position))


class Handed:
    """Every state the cache handed out, with its text then: checked unchanged at the end."""

    def __init__(self) -> None:
        self.states: list[tuple[PortfolioState, str]] = []

    def check(self, gov: Governance, state: PortfolioState, position: int) -> None:
        text = dump_state(state)
        assert state.position == position
        assert text == fresh(gov, position), position
        self.states.append((state, text))

    def unchanged(self) -> None:
        for state, text in self.states:
            assert dump_state(state) == text, state.position


def test_the_live_state_folded_on_equals_a_replay_after_every_command(
        any_gov: Governance) -> None:
    models = in_memory(any_gov).read_models()
    handed = Handed()
    rnd = random.Random(7)

    def after_each(_: int) -> None:
        live = models.position()
        handed.check(any_gov, models.state_at(live), live)
        handed.check(any_gov, models.state_at(live), live)  # the same position again
        past = rnd.randint(0, live)
        handed.check(any_gov, models.state_at(past), past)  # as of: never the newer state

    a_busy_history(World(any_gov), after_each)
    handed.unchanged()


@pytest.mark.parametrize("seed", range(8))
def test_live_and_as_of_reads_in_any_order_equal_a_replay(seed: int) -> None:
    gov, _ = generate(seed)
    models = in_memory(gov).read_models()
    end = models.position()
    rnd = random.Random(seed)
    positions = list(range(end + 1)) * 2
    rnd.shuffle(positions)
    handed = Handed()
    for position in [*positions[:60], end]:
        handed.check(gov, models.state_at(position), position)
        if rnd.random() < 0.3:  # a partial (period) as-of read: at least those periods
            state = models.state_at(position, {"FY2027"})
            whole = replay(ApplicationLog(gov), upto=position)
            assert {i.id for i in whole.initiatives.values() if i.period == "FY2027"} <= set(
                state.initiatives)
    handed.unchanged()
    gov.close()


def test_the_loop_reads_through_the_cache_and_its_core_readers_agree(gov: Governance) -> None:
    read_side = in_memory(gov)
    models = read_side.read_models()
    found = run_scenario(gov, models)
    check_scenario(models, found)
    log = ApplicationLog(gov)
    for position in range(models.position() + 1):
        whole = models.state_at(position)
        core = projection.state_at(log, read_side.portfolio, position, set())
        assert departments(whole) == departments(core), position
        assert job_map(whole) == job_map(core), position
        assert feedback_page(whole) == feedback_page(core), position
        for code in core.metrics:
            assert drivers(whole, code) == drivers(core, code), (position, code)
        for period in core.periods:
            assert plans_list(whole, period) == plans_list(core, period), position
            when = datetime(2027, 1, 1, tzinfo=UTC)
            assert round_view(whole, period, when) == round_view(core, period, when)


def test_read_models_over_one_log_share_its_cache(gov: Governance) -> None:
    """Each request builds its ReadModels; the cache belongs to the log reader, so the live
    state is folded once per new position, not once per request."""
    read_side = in_memory(gov)
    World(gov).submit("I01", cost_m="3")
    first: ReadModels = read_side.read_models()
    second = read_side.read_models()
    position = first.position()
    assert first.state_at(position) is second.state_at(position)


def test_a_period_read_ahead_of_the_working_state_replays_that_period_and_keeps_nothing(
        any_gov: Governance) -> None:
    # an as-of read of one period must not restart the working fold whole from a fold
    # snapshot (every period, then copied to hand out): at 1,000,000 events that cost seconds
    # against the period's own replay (the bench's as-of row read 5.8 s against 1.2 s)
    a_busy_history(World(any_gov), lambda _: None)
    models = in_memory(any_gov).read_models()
    cache = fold_cache(models.log)
    assert cache is not None
    end = models.position()
    for position in (end // 3, end // 2, end - 1):
        state = models.state_at(position, {"FY2027"})
        whole = replay(ApplicationLog(any_gov), upto=position)
        assert state.position == position
        assert {i.id for i in whole.initiatives.values() if i.period == "FY2027"} <= set(
            state.initiatives)
    assert cache._working is None and cache._live is None  # nothing folded whole, nothing kept
    handed = Handed()
    handed.check(any_gov, models.state_at(end), end)  # the whole state still folds and is kept
    assert cache._live is not None and cache._live.position == end
    handed.check(any_gov, models.state_at(end // 2), end // 2)
    handed.unchanged()
