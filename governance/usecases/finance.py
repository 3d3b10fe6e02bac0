"""Finance: periods and their pools, P&Ls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import CxgovError, InitiativeNotFound, InvalidInput
from domain.initiative import Initiative
from domain.pool import FundingPool
from domain.registry import PnL
from governance.access import require_role
from governance.principal import FINANCE, INGEST, Principal
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands


@dataclass(frozen=True)
class SpendItem:
    """One spend actual of a bulk call."""

    initiative_id: UUID
    amount: Decimal
    spent_on: date
    reference: str = ""
    note: str = ""


class FinanceUseCases(Commands):
    """What finance does."""

    #: Spend actuals in one `record_spend_batch` call (one transaction).
    max_spend_items: ClassVar[int] = 1_000

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

    def record_spend(self, principal: Principal, *, initiative_id: UUID, amount: Decimal,
                     spent_on: date, reference: str = "", note: str = "") -> CommandResult:
        """Record money spent on approved or delivered work (finance, ingest services).
        Spend beyond the commitment is recorded, not refused (decision 38)."""
        require_role(principal, FINANCE, INGEST, action="recording spend")
        now = self.clock()

        def build(unit: UnitOfWork) -> list[Aggregate]:
            initiative = unit.initiative(initiative_id)
            initiative.record_spend(amount=amount, spent_on=spent_on, reference=reference,
                                    note=note, actor=principal.actor, now=now)
            return [initiative]

        return self.transact(build)

    def record_spend_batch(self, principal: Principal, *,
                           items: Sequence[SpendItem]) -> CommandResult:
        """Record many spend actuals, across initiatives, in one transaction: all or nothing;
        a refused item is named `items.N...`. At most `max_spend_items` items. The result
        names the last initiative written; its position is the call's last event."""
        require_role(principal, FINANCE, INGEST, action="recording spend")
        if not items:
            raise InvalidInput("send at least one item", field="items")
        if len(items) > self.max_spend_items:
            raise InvalidInput(f"at most {self.max_spend_items:,} items per call, got "
                               f"{len(items):,}", field="items")
        now = self.clock()

        def build(unit: UnitOfWork) -> list[Aggregate]:
            ids = list(dict.fromkeys(item.initiative_id for item in items))
            unit.prefetch(ids)
            changed: dict[UUID, Initiative] = {}
            for index, item in enumerate(items):
                initiative = changed.get(item.initiative_id)
                if initiative is None:
                    if not isinstance(unit.seen(item.initiative_id), Initiative):
                        raise InitiativeNotFound(
                            f"items.{index}: no initiative {item.initiative_id}",
                            field=f"items.{index}.initiative_id")
                    initiative = changed[item.initiative_id] = unit.initiative(
                        item.initiative_id)
                try:
                    initiative.record_spend(amount=item.amount, spent_on=item.spent_on,
                                            reference=item.reference, note=item.note,
                                            actor=principal.actor, now=now)
                except InvalidInput as exc:
                    raise exc.within(f"items.{index}") from None
                except CxgovError as exc:
                    raise type(exc)(f"items.{index}: {exc.message}",
                                    **{**exc.details, "field": f"items.{index}.initiative_id"}
                                    ) from None
            # the last item's initiative last, so the result names it
            last = changed.pop(items[-1].initiative_id)
            return [*changed.values(), last]

        return self.transact(build)
