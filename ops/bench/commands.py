"""The same commands in process (no HTTP): what the API adds on top of the command itself."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from time import perf_counter
from uuid import UUID

from domain.initiative import Proposal
from domain.values import ImpactClaim
from governance.app import Governance
from governance.principal import CX_EXEC, PNL_OWNER, Principal
from ops.bench.history import FINANCE_LEAD

OWNER = Principal(subject="inproc.owner", roles=frozenset({PNL_OWNER}), pnls=frozenset({"RB"}),
                  issuer="bench")
APPROVER = Principal(subject="inproc.approver", roles=frozenset({CX_EXEC}), issuer="bench")
PROPOSAL = Proposal(
    title="Bench in process", problem="Customers wait", scenario="S1", touchpoints=("Web",),
    functional_areas=("IT",), cost=Decimal(1_000_000), confidence=Decimal("0.8"),
    expected_impacts=(ImpactClaim("M1", Decimal(40), Decimal("0.5")),), dependencies=(),
    mandatory=False, mandate_reason=None)


def rates(gov: Governance, *, period: str, commands: int, threads: int,
          round_size: int) -> tuple[float, float]:
    """(submissions/s, approvals/s) from `threads` threads, in rounds like the HTTP rows, in a
    period of their own (opened here like the HTTP rows' one), so both start from an empty
    pool."""
    gov.open_period(FINANCE_LEAD, code=period, currency="USD", opex_total=Decimal(10) ** 12,
                    cap_percent=Decimal(10))

    def submit(code: str) -> UUID:
        with gov.idempotent(OWNER, f"s-{code}", "bench") as keyed:
            return keyed.submit_initiative(OWNER, period=period, kind="pnl", pnl="RB",
                                         proposal=PROPOSAL, code=code).id

    def approve(initiative_id: UUID) -> None:
        with gov.idempotent(APPROVER, f"a-{initiative_id}", "bench") as keyed:
            keyed.decide(APPROVER, initiative_id=initiative_id, outcome="approve",
                       rationale="bench")

    submitting = approving = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for first in range(0, commands, round_size):
            codes = [f"Q{k:05d}" for k in range(first, min(commands, first + round_size))]
            start = perf_counter()
            ids = list(pool.map(submit, codes))
            submitting += perf_counter() - start
            start = perf_counter()
            list(pool.map(approve, ids))
            approving += perf_counter() - start
    return commands / submitting, commands / approving
