"""Last-funds race over HTTP (2+ API processes), and a broken check-then-act control."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import httpx

from domain.errors import InsufficientFunds
from domain.initiative import DecisionRecord, Gate
from domain.lifecycle import Outcome
from governance.app import CommandResult, Governance
from governance.principal import Principal
from ops.bench.history import FINANCE_LEAD, M, proposal, setup_world
from ops.bench.infra import ApiServer, env_for, scratch_database
from ops.reliability.common import OWNER, Report, bearer, ledger_violations

CX = bearer("race.cx", ["cx_exec"])
RATIONALE = "race: funding whatever fits"


class CheckThenAct(Governance):
    """DELIBERATELY BROKEN (negative control only): checks funds on a loaded pool, saves the
    approval, then commits on a reloaded pool in a second transaction, ignoring refusals."""

    name = "cxgov"  # same tables as the real application

    def decide(self, principal: Principal, *, initiative_id: UUID, outcome: str,
               rationale: str = "", first_tranche: Decimal | None = None,
               gates: Sequence[Gate] = (), review: UUID | None = None) -> CommandResult:
        """Approve without saving the pool in the same transaction as the initiative
        (no tranches, no review: `first_tranche`, `gates` and `review` are ignored)."""
        initiative = self.initiative(initiative_id)
        pool = self.pool(initiative.period)
        if initiative.cost > pool.available:
            raise InsufficientFunds("no room")
        decision = DecisionRecord(
            decision_id=uuid4(), outcome=Outcome.APPROVE, rationale=rationale, departure=False,
            recommended=True, rank=None, score=Decimal(0), cip=Decimal(0), policy_version=1,
            available_before=pool.available, available_after=pool.available - initiative.cost,
            ranking_position=0, cut_line_rank=None, approvals=(principal.actor,))
        initiative.approve(decision=decision, actor=principal.actor)
        self.save(initiative)
        reloaded = self.pool(initiative.period)
        try:
            reloaded.commit(initiative_id=initiative.id, amount=initiative.cost,
                            decision_id=decision.decision_id, actor=principal.actor)
            self.save(reloaded)
        except Exception:  # the bug: the approval stands without its commitment
            pass
        return CommandResult(id=initiative.id, version=initiative.version, position=0)


def open_round(gov: Governance, period: str, *, racers: int, room: int) -> list[UUID]:
    """A pool of `room` M and `racers` identical 1 M initiatives."""
    gov.open_period(FINANCE_LEAD, code=period, currency="USD",
                    opex_total=Decimal(room * 10) * M, cap_percent=Decimal(10))
    ids = []
    for n in range(racers):
        same = replace(proposal(random.Random(n), f"Racer {n}"), cost=M)
        written = gov.submit_initiative(OWNER, period=period, kind="pnl", pnl="RB",
                                        proposal=same, code=f"R{n:03d}")
        ids.append(written.id)
    return ids


def http_round(servers: list[ApiServer], ids: list[UUID]) -> list[tuple[int, str]]:
    """Every racer approves its own initiative at once, spread over the servers:
    (status, problem code or transport error) per racer."""
    barrier = threading.Barrier(len(ids))

    def approve(n: int) -> tuple[int, str]:
        with httpx.Client(base_url=servers[n % len(servers)].base, timeout=600) as client:
            barrier.wait()
            try:
                response = client.post(f"/v1/initiatives/{ids[n]}/decisions", headers=CX,
                                       json={"outcome": "approve", "rationale": RATIONALE})
            except httpx.TransportError as exc:
                return 599, type(exc).__name__
            try:
                code = str(response.json().get("code", ""))
            except ValueError:
                code = response.text[:80]
            return response.status_code, code

    with ThreadPoolExecutor(len(ids)) as pool:
        return list(pool.map(approve, range(len(ids))))


def race_drill(admin: str, data_dir: Path, *, racers: int, rounds: int, room: int,
               servers: int = 2) -> Report:
    """`rounds` rounds of `racers` concurrent HTTP approvals for `room` slots."""
    report = Report("last-funds race over HTTP")
    with scratch_database(admin, "cxgov_rel_race") as url:
        gov = Governance(env=env_for(url, pool_size=1, overflow=4))
        setup_world(gov)
        # No request deadline: a slow approval under load must still be answered, not 503ed
        # (the deadline is an operational policy; this drill is about the funds).
        started = [ApiServer(url, data_dir, pool_size=2, overflow=20,
                             extra_env={"CXGOV_REQUEST_TIMEOUT_SECONDS": "0"})
                   for _ in range(servers)]
        try:
            for server in started:
                server.start()
            slowest = 0.0
            for r in range(rounds):
                period = f"RACE{r:03d}"
                ids = open_round(gov, period, racers=racers, room=room)
                start = time.perf_counter()
                answers = http_round(started, ids)
                statuses = [status for status, _ in answers]
                slowest = max(slowest, time.perf_counter() - start)
                report.operations += len(statuses)
                wins = statuses.count(201)
                errors = [s for s in statuses if s >= 500]
                if wins != room:
                    report.violations.append(f"{period}: {wins} successes, expected {room}")
                if errors:
                    codes = sorted({f"{s} {c}" for s, c in answers if s >= 500})
                    report.violations.append(
                        f"{period}: {len(errors)} 5xx/transport errors {codes}")
                pool = gov.pool(period)
                if pool.net_committed != pool.amount:
                    report.violations.append(
                        f"{period}: committed {pool.net_committed} != cap {pool.amount}")
                report.violations += ledger_violations(gov, period)
        finally:
            for server in started:
                server.stop()
            gov.close()
    report.notes.append(f"{rounds} rounds x {racers} racers for K={room} over {servers} API "
                        f"processes; slowest round {slowest:.1f} s")
    return report


def negative_control(admin: str, data_dir: Path, *, racers: int, room: int,
                     servers: int = 2) -> Report:
    """The broken variant, behind the same HTTP API and raced the same way, must be caught
    overspending by the same checker."""
    report = Report("negative control (check-then-act over HTTP, must be caught)")
    with scratch_database(admin, "cxgov_rel_broken") as url:
        broken = CheckThenAct(env=env_for(url, pool_size=1, overflow=4))
        setup_world(broken)
        ids = open_round(broken, "BROKEN", racers=racers, room=room)
        started = [ApiServer(url, data_dir, pool_size=2, overflow=20,
                             extra_env={"CXGOV_REQUEST_TIMEOUT_SECONDS": "0"})
                   for _ in range(servers)]
        try:
            for server in started:
                server.start("ops.reliability.broken_api:serve")
            answers = http_round(started, ids)
        finally:
            for server in started:
                server.stop()
        wins = [status for status, _ in answers].count(201)
        caught = ledger_violations(broken, "BROKEN")
        broken.close()
    report.operations = racers
    report.notes.append(f"{wins} approvals acknowledged for K={room} by {servers} API processes "
                        f"running the broken variant; checker findings: {len(caught)} "
                        f"({'; '.join(caught)[:200]})")
    if not caught:
        report.violations.append("the broken variant was NOT caught overspending")
    return report
