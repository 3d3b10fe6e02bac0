"""FundingPool: a fiscal period's CX budget, capped at a share of company OpEx."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    AlreadyExists,
    CapOutOfRange,
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    PeriodClosed,
    RestatementBelowCommitted,
)
from domain.ids import natural_id
from domain.values import MAX_CAP_PERCENT, require_amount, require_code, require_text

HUNDRED = Decimal(100)


def pool_amount(opex_total: Decimal, cap_percent: Decimal) -> Decimal:
    """The pool is the cap percent of company OpEx."""
    return opex_total * cap_percent / HUNDRED


class FundingPool(Aggregate):
    """Holds the invariant: committed - released <= pool amount, always."""

    TOPIC = "cxgov.FundingPool"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.FundingPool.Created"

    class Opened(Created):
        TOPIC = "cxgov.FundingPool.Opened"
        period: str
        currency: str
        opex_total: Decimal
        cap_percent: Decimal
        actor: str

    class OpexRestated(Aggregate.Event):
        TOPIC = "cxgov.FundingPool.OpexRestated"
        opex_total: Decimal
        previous_opex_total: Decimal
        reason: str
        actor: str

    class InitiativeEnlisted(Aggregate.Event):
        TOPIC = "cxgov.FundingPool.InitiativeEnlisted"
        initiative_id: UUID
        code: str
        actor: str

    class FundsCommitted(Aggregate.Event):
        TOPIC = "cxgov.FundingPool.FundsCommitted"
        initiative_id: UUID
        amount: Decimal
        decision_id: UUID
        available_before: Decimal
        available_after: Decimal
        actor: str

    class FundsReleased(Aggregate.Event):
        TOPIC = "cxgov.FundingPool.FundsReleased"
        initiative_id: UUID
        amount: Decimal
        reason: str
        available_before: Decimal
        available_after: Decimal
        actor: str

    class Closed(Aggregate.Event):
        TOPIC = "cxgov.FundingPool.Closed"
        reason: str
        committed: Decimal
        actor: str

    @staticmethod
    def create_id(period: str) -> UUID:
        """Pool ids are derived from the fiscal period code."""
        return natural_id("pool", period)

    @classmethod
    def open(
        cls,
        *,
        period: str,
        currency: str,
        opex_total: Decimal,
        cap_percent: Decimal,
        actor: str,
    ) -> FundingPool:
        """Open a period's pool after checking its terms."""
        period = require_code(period, field="code")
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise InvalidInput("currency must be an ISO 4217 code such as USD", field="currency")
        require_amount(opex_total, field="opex_total")
        if not isinstance(cap_percent, Decimal) or not cap_percent.is_finite():
            raise CapOutOfRange("cap percent must be a number in (0, 10]", field="cap_percent")
        if not Decimal(0) < cap_percent <= MAX_CAP_PERCENT:
            raise CapOutOfRange(
                f"cap percent must be in (0, {MAX_CAP_PERCENT}], got {cap_percent}",
                field="cap_percent",
            )
        created: FundingPool = cls(
            period=period,
            currency=currency,
            opex_total=opex_total,
            cap_percent=cap_percent,
            actor=actor,
        )
        return created

    @event(Opened)
    def __init__(
        self, *, period: str, currency: str, opex_total: Decimal, cap_percent: Decimal, actor: str
    ) -> None:
        self.period = period
        self.currency = currency
        self.opex_total = opex_total
        self.cap_percent = cap_percent
        self.committed = Decimal(0)
        self.released = Decimal(0)
        self.commitments: dict[UUID, Decimal] = {}
        self.initiatives: list[UUID] = []
        self.codes: dict[str, UUID] = {}
        self.closed = False

    @property
    def amount(self) -> Decimal:
        """The pool: cap percent of company OpEx."""
        return pool_amount(self.opex_total, self.cap_percent)

    @property
    def net_committed(self) -> Decimal:
        """Funds committed and not released."""
        return self.committed - self.released

    @property
    def available(self) -> Decimal:
        """What can still be committed."""
        return self.amount - self.net_committed

    def _require_open(self) -> None:
        if self.closed:
            raise PeriodClosed(f"period {self.period} is closed")

    def require_funds(self, amount: Decimal) -> None:
        """Raise InsufficientFunds unless `amount` is still available (the one wording)."""
        if amount > self.available:
            raise InsufficientFunds(
                f"{amount} requested but only {self.available} of {self.amount} is available",
                requested=str(amount),
                available=str(self.available),
                pool=str(self.amount),
            )

    # --- commands -------------------------------------------------------------------------

    def restate_opex(self, *, opex_total: Decimal, reason: str, actor: str) -> None:
        """Restate company OpEx; refused if the pool would fall below what is committed."""
        self._require_open()
        require_amount(opex_total, field="opex_total")
        reason = require_text(reason, field="reason")
        new_amount = pool_amount(opex_total, self.cap_percent)
        if new_amount < self.net_committed:
            raise RestatementBelowCommitted(
                f"restated pool {new_amount} would be below the {self.net_committed} "
                "already committed",
                field="opex_total",
                pool_after=str(new_amount),
                committed=str(self.net_committed),
            )
        self._opex_restated(
            opex_total=opex_total, previous_opex_total=self.opex_total, reason=reason, actor=actor
        )

    def check_dependencies(self, dependencies: Iterable[str], *, code: str) -> None:
        """An initiative depends only on other initiatives of this period."""
        for dependency in dependencies:
            if dependency not in self.codes or dependency == code:
                raise InvalidInput(f"dependency {dependency} is not an initiative of "
                                   f"{self.period}", field="dependencies")

    def next_code(self) -> str:
        """Propose the next free initiative code (I01, I02, ...)."""
        n = len(self.initiatives) + 1
        while f"I{n:02d}" in self.codes:
            n += 1
        return f"I{n:02d}"

    def enlist(self, *, initiative_id: UUID, code: str, actor: str) -> None:
        """Record that an initiative competes for this pool (submission order = list order)."""
        self._require_open()
        if code in self.codes:
            raise AlreadyExists(f"initiative {code} already exists in {self.period}", field="code")
        self._enlisted(initiative_id=initiative_id, code=code, actor=actor)

    def commit(
        self, *, initiative_id: UUID, amount: Decimal, decision_id: UUID, actor: str,
        tranche: bool = False,
    ) -> None:
        """Commit funds to an approved initiative (`tranche`: a later tranche of one that
        holds a commitment already); never beyond the pool."""
        self._require_open()
        require_amount(amount, field="amount")
        if (initiative_id in self.commitments) != tranche:
            raise InvalidTransition("funds are already committed to this initiative"
                                    if not tranche else
                                    "a tranche is released only to funded work")
        self.require_funds(amount)
        self._committed(
            initiative_id=initiative_id,
            amount=amount,
            decision_id=decision_id,
            available_before=self.available,
            available_after=self.available - amount,
            actor=actor,
        )

    def release(self, *, initiative_id: UUID, reason: str, actor: str,
                amount: Decimal | None = None) -> Decimal:
        """Release what was committed to an initiative (all of it, or `amount` of it: a stop
        after spend, a descope); returns the amount released."""
        held = self.commitments.get(initiative_id)
        if held is None:
            raise InvalidTransition("no funds are committed to this initiative")
        if amount is None:
            amount = held
        require_amount(amount, field="amount")
        if amount > held:
            raise InvalidTransition(f"only {held} is committed to this initiative; "
                                    f"{amount} cannot be released")
        self._released(
            initiative_id=initiative_id,
            amount=amount,
            reason=require_text(reason, field="reason"),
            available_before=self.available,
            available_after=self.available + amount,
            actor=actor,
        )
        return amount

    def close(self, *, reason: str, actor: str) -> None:
        """Close the period; no further submissions or commitments."""
        self._require_open()
        self._closed(reason=require_text(reason, field="reason"), committed=self.net_committed,
                     actor=actor)

    # --- events ---------------------------------------------------------------------------

    @event(OpexRestated)
    def _opex_restated(
        self, *, opex_total: Decimal, previous_opex_total: Decimal, reason: str, actor: str
    ) -> None:
        self.opex_total = opex_total

    @event(InitiativeEnlisted)
    def _enlisted(self, *, initiative_id: UUID, code: str, actor: str) -> None:
        self.initiatives.append(initiative_id)
        self.codes[code] = initiative_id

    @event(FundsCommitted)
    def _committed(
        self,
        *,
        initiative_id: UUID,
        amount: Decimal,
        decision_id: UUID,
        available_before: Decimal,
        available_after: Decimal,
        actor: str,
    ) -> None:
        self.committed += amount
        # a later tranche adds to the commitment (before tranches: nothing held, as before)
        self.commitments[initiative_id] = self.commitments.get(initiative_id, Decimal(0)) + amount

    @event(FundsReleased)
    def _released(
        self,
        *,
        initiative_id: UUID,
        amount: Decimal,
        reason: str,
        available_before: Decimal,
        available_after: Decimal,
        actor: str,
    ) -> None:
        self.released += amount
        # Before partial releases every release was the whole commitment: deleted, as before.
        left = self.commitments.pop(initiative_id) - amount
        if left > 0:
            self.commitments[initiative_id] = left

    @event(Closed)
    def _closed(self, *, reason: str, committed: Decimal, actor: str) -> None:
        self.closed = True
