"""Reference aggregates: P&Ls and customers' critical scenarios."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import natural_id
from domain.text import optional_text
from domain.values import require_amount, require_code, require_text


class PnL(Aggregate):
    """A profit-and-loss unit whose owners submit initiatives."""

    TOPIC = "cxgov.PnL"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.PnL.Created"

    class Registered(Created):
        TOPIC = "cxgov.PnL.Registered"
        code: str
        name: str
        owners: tuple[str, ...]
        opex: Decimal | None
        actor: str

    @staticmethod
    def create_id(code: str) -> UUID:
        """P&L ids are derived from their code."""
        return natural_id("pnl", code)

    @classmethod
    def register(
        cls, *, code: str, name: str, owners: tuple[str, ...], opex: Decimal | None, actor: str
    ) -> PnL:
        """Register a P&L after checking its fields."""
        if opex is not None:
            require_amount(opex, field="opex")
        created: PnL = cls(
            code=require_code(code, field="code"),
            name=require_text(name, field="name", max_length=200),
            owners=tuple(sorted({require_text(o, field="owners") for o in owners})),
            opex=opex,
            actor=actor,
        )
        return created

    @event(Registered)
    def __init__(
        self, *, code: str, name: str, owners: tuple[str, ...], opex: Decimal | None, actor: str
    ) -> None:
        self.code = code
        self.name = name
        self.owners = tuple(owners)
        self.opex = opex


class Scenario(Aggregate):
    """A customer's critical scenario; it crosses internal boundaries."""

    TOPIC = "cxgov.Scenario"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.Scenario.Created"

    class Defined(Created):
        TOPIC = "cxgov.Scenario.Defined"
        code: str
        name: str
        pnl: str | None
        description: str
        actor: str

    @staticmethod
    def create_id(code: str) -> UUID:
        """Scenario ids are derived from their code."""
        return natural_id("scenario", code)

    @classmethod
    def define(
        cls, *, code: str, name: str, pnl: str | None, description: str, actor: str
    ) -> Scenario:
        """Define a scenario after checking its fields."""
        created: Scenario = cls(
            code=require_code(code, field="code"),
            name=require_text(name, field="name", max_length=300),
            pnl=pnl,
            description=optional_text(description, field="description", max_length=4000),
            actor=actor,
        )
        return created

    @event(Defined)
    def __init__(
        self, *, code: str, name: str, pnl: str | None, description: str, actor: str
    ) -> None:
        self.code = code
        self.name = name
        self.pnl = pnl
        self.description = description
