"""What every drill shares: personas, a report line, and the ledger checker."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.lifecycle import FUNDED
from domain.pool import FundingPool
from governance.app import Governance
from governance.identity import mint_token
from governance.principal import PNL_OWNER, Principal
from ops.bench.infra import JWT_SECRET

OWNER = Principal(subject="bench.owner", roles=frozenset({PNL_OWNER}), pnls=frozenset({"RB"}),
                  issuer="bench")


def bearer(sub: str, roles: list[str], pnls: tuple[str, ...] = ()) -> dict[str, str]:
    """Authorization headers for a persona (API issuer, so actors are `cxgov|sub`)."""
    token = mint_token(JWT_SECRET, sub=sub, roles=roles, pnls=pnls, ttl=6 * 3600)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Report:
    """Figures of one drill."""

    name: str
    operations: int = 0
    faults: int = 0
    violations: list[str] = field(default_factory=list)
    lost_writes: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the summary (the quick test parses it)."""
        return (f"drill | {self.name} | operations {self.operations} | faults {self.faults} | "
                f"violations {len(self.violations)} | lost writes {self.lost_writes} | "
                + "; ".join(self.notes))


def ledger_violations(gov: Governance, period: str) -> list[str]:
    """Committed <= cap in force; approved initiatives' costs (per P&L) equal the commitments."""
    pool: FundingPool = gov.pool(period)
    found: list[str] = []
    if pool.net_committed > pool.amount:
        found.append(f"{period}: committed {pool.net_committed} > cap {pool.amount}")
    by_pnl: dict[str, Decimal] = {}
    for initiative in gov.initiatives(period):
        if initiative.status in FUNDED:
            key = initiative.pnl or "-"
            by_pnl[key] = by_pnl.get(key, Decimal(0)) + initiative.cost
    funded = sum(by_pnl.values(), Decimal(0))
    if funded != pool.net_committed:
        found.append(f"{period}: funded initiatives {funded} != pool committed "
                     f"{pool.net_committed} (per P&L {by_pnl})")
    if funded > pool.amount:
        found.append(f"{period}: funded initiatives {funded} > cap {pool.amount} (overspend)")
    return found
