"""Partitioned fold snapshots on PostgreSQL: live and rebuilt parts agree; as-of uses them."""

from __future__ import annotations

import random
import threading

import psycopg
import pytest

from governance.app import Governance
from governance.stores.projectors import run_projectors
from governance.stores.readside import postgres_views, rebuild, served_read_models
from projections import projection, render
from projections.codec import canonical, dump_state
from projections.log import ApplicationLog
from projections.projection import replay
from tests.pg.test_projector import write_history

pytestmark = pytest.mark.pg


def parts(pg_url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(pg_url) as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            "SELECT part, position, state FROM rm_fold_snapshot_parts ORDER BY part, position")]


def test_live_fold_snapshots_equal_rebuilt_ones_and_as_of_equals_a_full_replay(
        pg_env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection, "FOLD_SNAPSHOT_EVERY", 50)
    gov = Governance(env=pg_env)
    stop = threading.Event()
    runner = threading.Thread(target=run_projectors, args=(pg_env,), kwargs={"stop": stop})
    runner.start()
    try:
        write_history(gov, events=600)
        served_read_models(gov, pg_env).wait(gov.position(), timeout=60)
    finally:
        stop.set()
        runner.join(timeout=30)
    live = parts(pg_url)
    assert len({p for _, p, _ in live}) >= 10
    portfolio, _ = postgres_views(pg_env)
    live_docs = portfolio.dump()
    rebuild(gov, pg_env)
    assert portfolio.dump() == live_docs
    assert parts(pg_url) == live
    models = served_read_models(gov, pg_env)
    log = ApplicationLog(gov)
    for position in random.Random(5).sample(range(1, gov.position() + 1), 12):
        state = replay(log, upto=position)
        snap = models.snapshot(as_of=position)
        assert snap.documents("ranking", period="FY2027") == render.ranking(state, "FY2027")
        assert dump_state(models.state_at(position)) == dump_state(state)
        assert snap.dump() == sorted((d[0], d[1], canonical(d[4]))
                                     for d in render.documents(state).values())
    gov.close()


def test_an_old_whole_state_fold_snapshot_row_is_not_used(pg_env: dict[str, str],
                                                       pg_url: str) -> None:
    """Revision 0002's whole-state row predates what the fold has gained since (decision
    153): as-of queries replay from the start and agree with a full replay."""
    gov = Governance(env=pg_env)
    write_history(gov, events=300)
    rebuild(gov, pg_env)  # no partitioned fold snapshot below 4,000 positions
    log = ApplicationLog(gov)
    old = replay(log, upto=200)
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO rm_fold_snapshots VALUES (%s, %s)", (200, dump_state(old)))
    models = served_read_models(gov, pg_env)
    for position in (200, 250, gov.position()):
        assert dump_state(models.state_at(position)) == dump_state(replay(log, upto=position))
    gov.close()
