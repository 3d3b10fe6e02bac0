"""The last-funds race on PostgreSQL: 40 approvals, threads in two processes, room for K."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from uuid import UUID

import pytest

from domain.pool import FundingPool
from governance.app import Governance
from tests.builders import CX_CHIEF, M, World
from tests.pg.racing import race

pytestmark = pytest.mark.pg

RACERS = 40
PROCESSES = 2
ROOM = 7  # the pool funds exactly K = 7 of the 40 identical initiatives


def approve_all(env: dict[str, str], ids: list[str], start_at: float) -> list[str]:
    """In one process: one thread per initiative, all released together; returns outcomes."""

    def approve(app: Governance, n: int) -> str:
        app.decide(CX_CHIEF, initiative_id=UUID(ids[n]), outcome="approve",
                   rationale="race: funding whatever fits")
        return "approved"

    return race(env, len(ids), approve, start_at)


def test_forty_racing_approvals_commit_exactly_the_k_that_fit(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    world = World(gov, opex_m=str(ROOM * 10), four_eyes_m="100")
    ids = [str(world.submit(f"I{n:02d}", cost_m="1")) for n in range(1, RACERS + 1)]
    assert gov.pool("FY2027").amount == ROOM * M

    start_at = time.time() + 3.0
    share = RACERS // PROCESSES
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(approve_all, pg_env, ids[p * share:(p + 1) * share], start_at)
                   for p in range(PROCESSES)]
        outcomes = [o for f in futures for o in f.result(timeout=300)]

    crashes = [o for o in outcomes if o not in {"approved", "pool.insufficient_funds"}]
    assert crashes == []
    assert outcomes.count("approved") == ROOM
    assert outcomes.count("pool.insufficient_funds") == RACERS - ROOM
    pool_state = gov.pool("FY2027")
    assert pool_state.net_committed == ROOM * M == pool_state.amount
    commitments = gov.recorder.select_notifications(
        start=None, limit=1000, topics=["cxgov.FundingPool.FundsCommitted"])
    assert len(commitments) == ROOM
    assert sum(gov.initiative(UUID(i)).status == "approved" for i in ids) == ROOM
    assert FundingPool.create_id("FY2027") == pool_state.id
    assert sum((gov.initiative(UUID(i)).committed_amount for i in ids), Decimal(0)) == ROOM * M
    gov.close()
