"""Projectors on PostgreSQL: live runners, SIGKILL at random moments, rebuild equality."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from domain.errors import CxgovError
from domain.values import Reading
from governance.app import Governance
from governance.stores.projectors import run_projectors
from governance.stores.readside import postgres_views, rebuild, served_read_models
from tests.builders import CX_CHIEF, INGESTER, World

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]


def write_history(gov: Governance, *, events: int, stop_at: threading.Event | None = None) -> None:
    """A reproducible mix: mostly observations, some submissions and decisions."""
    rng = random.Random(7)
    world = World(gov)
    day = datetime(2025, 1, 1, tzinfo=UTC)
    n = 0
    while gov.position() < events and not (stop_at and stop_at.is_set()):
        n += 1
        roll = rng.random()
        if roll < 0.03:
            world.submit(f"I{n:05d}", cost_m=str(rng.randint(1, 9)),
                         impacts=(("M1", str(rng.randint(30, 110)), "0.5"),))
        elif roll < 0.04 and n > 20:
            pending = [i for i in world.gov.pool("FY2027").initiatives
                       if gov.initiative(i).status == "submitted"]
            if pending:
                with contextlib.suppress(CxgovError):  # e.g. the pool ran out: refused, no event
                    gov.decide(CX_CHIEF, initiative_id=rng.choice(pending), rationale="mix",
                               outcome=rng.choice(["approve", "reject", "defer"]))
        else:
            metric = rng.choice(["M1", "M2"])
            gov.record_observations(INGESTER, metric=metric, batch_key=f"b{n}", source="load",
                                    readings=[Reading(Decimal(rng.randint(60, 120)),
                                                      day + timedelta(days=n % 400), 250)])


@contextlib.contextmanager
def projecting(env: dict[str, str]) -> Iterator[None]:
    """The live projectors in a thread while the block runs (stopped and joined after)."""
    stop = threading.Event()
    runner = threading.Thread(target=run_projectors, args=(env,), kwargs={"stop": stop})
    runner.start()
    try:
        yield
    finally:
        stop.set()
        runner.join(timeout=30)


def test_live_projectors_equal_a_fresh_rebuild(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    with projecting(pg_env):
        write_history(gov, events=600)
        models = served_read_models(gov, pg_env)
        models.wait(gov.position(), timeout=60)
        portfolio, audit = postgres_views(pg_env)
        live_docs = portfolio.dump()
        live_audit = audit.rows(limit=100_000)
    assert len(live_audit) == len({r["position"] for r in live_audit}) > 0
    rebuild(gov, pg_env)
    assert portfolio.dump() == live_docs
    assert audit.rows(limit=100_000) == live_audit
    gov.close()


def projector(pg_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CXGOV_DATABASE_URL": pg_url, "CXGOV_DATA_DIR": str(data_dir)}
    return subprocess.Popen([sys.executable, "-m", "governance.entrypoints.cli", "project"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_projector_killed_twenty_times_ends_equal_to_a_rebuild(
        pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> None:
    gov = Governance(env=pg_env)
    writer = threading.Thread(target=write_history, args=(gov,), kwargs={"events": 10_000})
    writer.start()
    rng = random.Random(11)
    kills = 0
    process = projector(pg_url, tmp_path)
    try:
        while kills < 20:
            time.sleep(rng.uniform(0.5, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            process = projector(pg_url, tmp_path)
        writer.join()
        served_read_models(gov, pg_env).wait(gov.position(), timeout=180)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        writer.join()
    assert kills == 20 and gov.position() >= 10_000
    portfolio, audit = postgres_views(pg_env)
    live_docs, live_audit = portfolio.dump(), audit.rows(limit=100_000)
    rebuild(gov, pg_env)
    assert portfolio.dump() == live_docs
    assert audit.rows(limit=100_000) == live_audit
    assert [r["position"] for r in live_audit] == sorted({r["position"] for r in live_audit})
    gov.close()


def test_views_captured_live_at_twenty_positions_equal_the_as_of_replay(
        pg_env: dict[str, str], pg_url: str) -> None:
    import psycopg
    from psycopg.rows import dict_row

    from projections.codec import canonical

    gov = Governance(env=pg_env)
    stop = threading.Event()
    runner = threading.Thread(target=run_projectors, args=(pg_env,), kwargs={"stop": stop})
    writer = threading.Thread(target=write_history, args=(gov,), kwargs={"events": 700})
    runner.start()
    writer.start()
    captured: dict[int, list[tuple[str, str, str]]] = {}
    try:
        with psycopg.connect(pg_url, autocommit=True, row_factory=dict_row) as conn:
            while len(captured) < 20:
                time.sleep(0.05)  # a projector that keeps up moves with the writer only
                with conn.transaction():  # one snapshot: tracking position and rows together
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    row = conn.execute("SELECT notification_id FROM portfolio_tracking "
                                       "WHERE application_name = 'cxgov'").fetchone()
                    docs = conn.execute("SELECT model, key, payload FROM rm_documents").fetchall()
                if row is not None:
                    captured[row["notification_id"]] = sorted(
                        (d["model"], d["key"], canonical(d["payload"])) for d in docs)
                if not writer.is_alive() and len(captured) < 20:
                    break
    finally:
        writer.join()
        stop.set()
        runner.join(timeout=30)
    assert len(captured) >= 20, f"only {len(captured)} distinct positions captured"
    models = served_read_models(gov, pg_env)
    for position, docs in captured.items():
        assert models.snapshot(as_of=position).dump() == docs, position
    gov.close()


def test_served_rows_are_kept_by_their_stored_text(pg_env: dict[str, str]) -> None:
    """Decision 273 on PostgreSQL: the texts `document_texts` reads are the documents
    `documents` reads, in the same order, and a served read at a new position keeps the typed
    row of every document whose text did not change (the very object), while a decided
    initiative's card and ranking row are read anew and equal a fresh reader's."""
    gov = Governance(env=pg_env)
    with contextlib.closing(gov), projecting(pg_env):
        write_history(gov, events=300)
        models = served_read_models(gov, pg_env)
        models.wait(gov.position(), timeout=60)
        portfolio, _ = postgres_views(pg_env)
        for model in ("ranking", "initiative", "ledger", "scorecard", "pnl", "metric"):
            texts = portfolio.document_texts(model)
            assert [json.loads(t) for t in texts] == portfolio.documents(model), model
        assert portfolio.document_texts("ranking", period="FY2027")
        cards = models.snapshot().initiatives("FY2027")
        undecided = next(c for c in cards if c.status == "submitted")
        gov.decide(CX_CHIEF, initiative_id=UUID(str(undecided.id)), outcome="reject",
                   rationale="Read.")
        models.wait(gov.position(), timeout=60)
        now = models.snapshot().initiatives("FY2027")
        changed = [a for a, b in zip(now, cards, strict=True) if a is not b]
        assert [c.id for c in changed] == [undecided.id] and changed[0].status == "rejected"
        fresh = served_read_models(gov, pg_env)
        assert now == fresh.snapshot().initiatives("FY2027")
        assert models.snapshot().ranking("FY2027") == fresh.snapshot().ranking("FY2027")
