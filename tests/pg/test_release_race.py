"""Releasing funds races on PostgreSQL (issue 14 acceptance): 100 concurrent stop, descope,
approve and spend commands on one pool, threads in two processes, never overspend; afterwards
the pool's committed - released <= amount, every commitment the pool holds is what its
initiative says it holds, and the ledger read model agrees with the aggregates."""

from __future__ import annotations

import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from auditverify.live import verify_database
from domain.errors import CxgovError
from domain.initiative import Gate
from governance.app import Governance
from governance.stores.database import connect
from governance.stores.readside import in_process_postgres
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, M, World
from tests.pg.racing import race

pytestmark = pytest.mark.pg

PROCESSES = 2
FUNDED = 30  # approved before the race, 2 M each, 0.5 M spent on each
CANDIDATES = 40  # submitted, 1.5 M each: more than the pool can take at first
POOL_M = 70  # 60 M committed before the race, 10 M available
OK = {"stop": "stopped", "descope": "descoped", "approve": "approved", "spend": "spent"}
REFUSALS = {"pool.insufficient_funds", "state.invalid_transition",
            "validation.descope_out_of_range"}

Command = tuple[str, str]  # (kind, initiative id)


def run_commands(env: dict[str, str], commands: list[Command], start_at: float) -> list[str]:
    """In one process: one thread per command, all released together; their outcomes."""

    def act(app: Governance, n: int) -> str:
        kind, raw = commands[n]
        initiative_id = UUID(raw)
        if kind == "stop":
            app.stop_initiative(CX_CHIEF, initiative_id=initiative_id, reason="race: stop")
        elif kind == "descope":
            app.descope_initiative(CX_DEPUTY, initiative_id=initiative_id,
                                   new_cost=Decimal("0.75") * M, reason="race: descope")
        elif kind == "approve":
            app.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve",
                       rationale="race: funding whatever fits")
        else:
            app.record_spend(FINANCE_LEAD, initiative_id=initiative_id,
                             amount=Decimal("0.25") * M, spent_on=date(2026, 3, 31))
        return OK[kind]

    return race(env, len(commands), act, start_at)


def test_a_hundred_racing_stops_descopes_approvals_and_spends_never_overspend(
        pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    world = World(gov, opex_m=str(POOL_M * 10), four_eyes_m="100")
    funded = [world.submit(f"F{n:02d}", cost_m="2") for n in range(FUNDED)]
    for initiative_id in funded:
        gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="setup")
        gov.record_spend(FINANCE_LEAD, initiative_id=initiative_id, amount=Decimal("0.5") * M,
                         spent_on=date(2026, 1, 31))
    candidates = [world.submit(f"C{n:02d}", cost_m="1.5") for n in range(CANDIDATES)]
    assert gov.pool("FY2027").available == (POOL_M - 2 * FUNDED) * M

    # 100 commands: every funded initiative is stopped (15 of them) or descoped (15), and each
    # gets a spend racing the re-decision; 40 approvals race for what is released.
    commands: list[Command] = [("stop" if n % 2 else "descope", str(i))
                               for n, i in enumerate(funded)]
    commands += [("spend", str(i)) for i in funded]
    commands += [("approve", str(i)) for i in candidates]
    assert len(commands) == 100
    commands = commands[::2] + commands[1::2]  # each process gets every kind
    start_at = time.time() + 3.0
    share = len(commands) // PROCESSES
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_commands, pg_env, commands[p * share:(p + 1) * share],
                               start_at) for p in range(PROCESSES)]
        outcomes = [o for f in futures for o in f.result(timeout=600)]

    crashes = [o for o in outcomes if o not in {*OK.values(), *REFUSALS}]
    assert crashes == []
    assert outcomes.count("stopped") == FUNDED // 2  # a stop has no condition that can fail
    assert outcomes.count("descoped") == FUNDED // 2  # spend (<= 0.75 M) never blocks them
    assert outcomes.count("approved") >= 1

    pool = gov.pool("FY2027")
    assert pool.committed - pool.released <= pool.amount
    everyone = [*funded, *candidates]
    initiatives = {i: gov.initiative(i) for i in everyone}
    held = {i: a.committed_amount for i, a in initiatives.items() if a.committed_amount}
    assert pool.commitments == held
    assert pool.net_committed == sum(held.values(), Decimal(0))
    approved = [i for i in candidates if initiatives[i].status == "approved"]
    assert len(approved) == outcomes.count("approved")
    # every stop released what was committed and not spent when it ran; spend is kept
    spent = sum((a.spent for a in initiatives.values()), Decimal(0))
    assert spent == FUNDED * Decimal("0.5") * M + outcomes.count("spent") * Decimal("0.25") * M
    for n, initiative_id in enumerate(funded):
        state = initiatives[initiative_id]
        if n % 2:
            assert state.status == "cancelled" and state.committed_amount == state.spent
        else:
            assert state.status == "approved" and state.committed_amount == Decimal("0.75") * M

    models = in_process_postgres(gov, pg_env).read_models()
    ledger = models.ledger("FY2027", min_position=gov.position())
    assert ledger is not None
    assert Decimal(ledger.committed) == pool.committed
    assert Decimal(ledger.released) == pool.released
    assert Decimal(ledger.net_committed) == pool.net_committed
    assert Decimal(ledger.available) == pool.available >= 0
    assert Decimal(ledger.spent) == spent
    assert sum((Decimal(v) for v in ledger.by_pnl.values()), Decimal(0)) == pool.net_committed
    gov.close()


@pytest.mark.parametrize("seed", [3, 8])
def test_histories_with_spend_stops_and_descopes_verify_offline_with_no_finding(
        pg_env: dict[str, str], pg_url: str, seed: int) -> None:
    """The offline verifier replays partial releases (a stop after spend, a descope): the rest
    of a commitment stays committed, and a clean history has no pool_arithmetic finding."""
    rnd = random.Random(seed)
    gov = Governance(env=pg_env)
    world = World(gov, opex_m="300", four_eyes_m="100")
    ids = [world.submit(f"I{n:02d}", cost_m=str(rnd.randint(2, 9))) for n in range(1, 9)]
    for _ in range(40):
        op, target = rnd.random(), rnd.choice(ids)
        try:
            if op < 0.35:
                gov.decide(CX_CHIEF, initiative_id=target, outcome="approve", rationale="go")
            elif op < 0.6:
                gov.record_spend(FINANCE_LEAD, initiative_id=target,
                                 amount=Decimal(rnd.randint(1, 4)) * M / 2,
                                 spent_on=date(2026, 3, 31))
            elif op < 0.8:
                spent = gov.initiative(target).spent
                gov.descope_initiative(CX_DEPUTY, initiative_id=target,
                                       new_cost=spent + M / 4, reason="smaller")
            else:
                gov.stop_initiative(CX_DEPUTY, initiative_id=target, reason="stopped")
        except CxgovError:
            pass
    for code, stop in (("J1", False), ("J2", True)):  # each kind at least once
        target = world.submit(code, cost_m="2")
        gov.decide(CX_CHIEF, initiative_id=target, outcome="approve", rationale="go")
        gov.record_spend(FINANCE_LEAD, initiative_id=target, amount=M / 2,
                         spent_on=date(2026, 3, 31))
        if stop:
            gov.stop_initiative(CX_DEPUTY, initiative_id=target, reason="stopped")
        else:
            gov.descope_initiative(CX_DEPUTY, initiative_id=target, new_cost=M,
                                   reason="smaller")
    report = verify_database(pg_url, public_keys=[])
    with connect(pg_url) as conn:
        topics = {r[0] for r in conn.execute("SELECT DISTINCT topic FROM cxgov_events")}
    gov.close()
    assert report.ok and report.errors == (), report.errors
    assert {"cxgov.Initiative.SpendRecorded", "cxgov.Initiative.Descoped",
            "cxgov.Initiative.Cancelled", "cxgov.FundingPool.FundsReleased"} <= topics


def race_tranches(env: dict[str, str], commands: list[Command], start_at: float) -> list[str]:
    """In one process: tranche releases, stops and approvals, one thread each."""

    def act(app: Governance, n: int) -> str:
        kind, raw = commands[n]
        if kind == "release":
            app.release_tranche(CX_DEPUTY, initiative_id=UUID(raw), gate="rollout",
                                rationale="race: release")
        elif kind == "stop":
            app.stop_initiative(CX_CHIEF, initiative_id=UUID(raw), reason="race: stop")
        else:
            app.decide(CX_CHIEF, initiative_id=UUID(raw), outcome="approve",
                       rationale="race: funding whatever fits")
        return {"release": "released", "stop": "stopped"}.get(kind, "approved")

    return race(env, len(commands), act, start_at)


def test_a_hundred_racing_tranche_releases_stops_and_approvals_never_overspend(
        pg_env: dict[str, str]) -> None:
    """30 tranche releases (each gate asks 1 M), 20 stops releasing 2 M each, and 50
    approvals (1.5 M each) race for a pool with 5 M left: the cap holds, every release and
    approval that went through is committed once, and the ledger agrees."""
    gov = Governance(env=pg_env)
    world = World(gov, opex_m="1000", four_eyes_m="100")  # a 100 M pool
    gated = [world.submit(f"G{n:02d}", cost_m="2") for n in range(30)]
    for initiative_id in gated:
        gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="setup",
                   first_tranche=M, gates=[Gate("rollout", M)])
    stoppable = [world.submit(f"S{n:02d}", cost_m="2") for n in range(20)]
    for initiative_id in stoppable:
        gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="setup")
    filler = world.submit("F00", cost_m="25")
    gov.decide(CX_CHIEF, initiative_id=filler, outcome="approve", rationale="setup")
    candidates = [world.submit(f"C{n:02d}", cost_m="1.5") for n in range(50)]
    assert gov.pool("FY2027").available == 5 * M  # 30 + 40 + 25 committed of 100

    commands: list[Command] = [("release", str(i)) for i in gated]
    commands += [("stop", str(i)) for i in stoppable]
    commands += [("approve", str(i)) for i in candidates]
    assert len(commands) == 100
    commands = commands[::2] + commands[1::2]
    start_at = time.time() + 3.0
    share = len(commands) // PROCESSES
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(race_tranches, pg_env, commands[p * share:(p + 1) * share],
                               start_at) for p in range(PROCESSES)]
        outcomes = [o for f in futures for o in f.result(timeout=600)]

    crashes = [o for o in outcomes
               if o not in {"released", "stopped", "approved", "pool.insufficient_funds"}]
    assert crashes == []
    assert outcomes.count("stopped") == 20
    pool_state = gov.pool("FY2027")
    assert pool_state.committed - pool_state.released <= pool_state.amount
    everyone = [*gated, *stoppable, filler, *candidates]
    held = {i: a.committed_amount for i in everyone if (a := gov.initiative(i)).committed_amount}
    assert pool_state.commitments == held
    released = [i for i in gated if gov.initiative(i).gates[0]["released"]]
    assert len(released) == outcomes.count("released")
    assert all(gov.initiative(i).committed_amount == 2 * M for i in released)
    approved = [i for i in candidates if gov.initiative(i).status == "approved"]
    assert len(approved) == outcomes.count("approved")
    assert pool_state.net_committed == (30 + len(released) + 25) * M + len(approved) * (
        Decimal("1.5") * M)

    models = in_process_postgres(gov, pg_env).read_models()
    ledger = models.ledger("FY2027", min_position=gov.position())
    assert ledger is not None
    assert Decimal(ledger.net_committed) == pool_state.net_committed
    assert Decimal(ledger.available) == pool_state.available >= 0
    assert Decimal(ledger.gated) == (30 - len(released)) * M
    gov.close()
