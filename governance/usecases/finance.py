"""Finance: periods and their pools, P&Ls."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from eventsourcing.domain import Aggregate

from domain.pool import FundingPool
from domain.registry import PnL
from governance.access import require_role
from governance.principal import FINANCE, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands


class FinanceUseCases(Commands):
    """What finance does."""

    def open_period(self, principal: Principal, *, code: str, currency: str,
                    opex_total: Decimal, cap_percent: Decimal = Decimal(10)) -> CommandResult:
        """Open a fiscal period's pool at cap percent (<= 10) of company OpEx."""
        require_role(principal, FINANCE, action="opening a period")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            pool = FundingPool.open(period=code, currency=currency, opex_total=opex_total,
                                    cap_percent=cap_percent, actor=principal.actor)
            unit.require_absent(pool.id, f"period {code} is already open", field="code")
            return [pool]

        return self.transact(build)

    def restate_opex(self, principal: Principal, *, period: str, opex_total: Decimal,
                     reason: str) -> CommandResult:
        """Restate company OpEx; refused below what is committed."""
        require_role(principal, FINANCE, action="restating OpEx")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            pool = unit.pool(period, writing=True)
            pool.restate_opex(opex_total=opex_total, reason=reason, actor=principal.actor)
            return [pool]

        return self.transact(build)

    def close_period(self, principal: Principal, *, period: str, reason: str) -> CommandResult:
        """Close a period: no more submissions or commitments."""
        require_role(principal, FINANCE, action="closing a period")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            pool = unit.pool(period, writing=True)
            pool.close(reason=reason, actor=principal.actor)
            return [pool]

        return self.transact(build)

    def register_pnl(self, principal: Principal, *, code: str, name: str,
                     owners: Sequence[str] = (), opex: Decimal | None = None) -> CommandResult:
        """Register a P&L and its owners."""
        require_role(principal, FINANCE, action="registering a P&L")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            pnl = PnL.register(code=code, name=name, owners=tuple(owners), opex=opex,
                               actor=principal.actor)
            unit.require_absent(pnl.id, f"P&L {code} exists already", field="code")
            return [pnl]

        return self.transact(build)
