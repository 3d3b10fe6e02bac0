"""Money over time through the application and its read side (in memory): spend actuals
(single and bulk), stop, descope, the ledger and the initiative card, as of any position."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import (
    DescopeOutOfRange,
    InitiativeNotFound,
    InvalidInput,
    InvalidTransition,
)
from domain.pool import FundingPool
from governance.app import Governance
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from governance.usecases.finance import SpendItem
from tests.builders import (
    CX_CHIEF,
    CX_DEPUTY,
    FINANCE_LEAD,
    INGESTER,
    RB_OWNER,
    M,
    World,
    rejected_without_writing,
)

SPRING = date(2027, 3, 31)


@pytest.fixture
def funded(world: World) -> tuple[UUID, UUID]:
    """I01 (RB, 5 M) and I02 (CX process, 3 M) approved; I03 submitted."""
    world.gov.clock = lambda: datetime(2027, 6, 30, tzinfo=UTC)
    first = world.submit("I01", cost_m="5")
    second = world.submit("I02", by=CX_DEPUTY, pnl=None, kind="cx_process", cost_m="3")
    world.submit("I03", cost_m="2")
    world.gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
    world.gov.decide(CX_CHIEF, initiative_id=second, outcome="approve", rationale="ok")
    return first, second


def pool_of(gov: Governance) -> FundingPool:
    pool = gov.repository.get(FundingPool.create_id("FY2027"))
    assert isinstance(pool, FundingPool)
    return pool


def test_spend_stop_and_descope_show_on_the_ledger_and_the_card(
        world: World, funded: tuple[UUID, UUID]) -> None:
    first, second = funded
    gov = world.gov
    gov.record_spend(FINANCE_LEAD, initiative_id=first, amount=2 * M, spent_on=SPRING,
                     reference="INV-1", note="milestone 1")
    before_stop = gov.position()
    gov.record_spend(INGESTER, initiative_id=second, amount=Decimal("500000"),
                     spent_on=SPRING)
    gov.stop_initiative(CX_CHIEF, initiative_id=first, reason="the pilot did not move M1")
    gov.descope_initiative(CX_CHIEF, initiative_id=second, new_cost=1 * M,
                           reason="phase 2 dropped")
    pool = pool_of(gov)
    assert pool.net_committed == 2 * M + 1 * M  # I01's spent part, I02's new cost
    models = in_memory(gov).read_models()
    ledger = models.ledger("FY2027")
    assert ledger is not None
    assert Decimal(ledger.spent) == Decimal("2500000")
    assert Decimal(ledger.released) == 3 * M + 2 * M
    assert Decimal(ledger.net_committed) == pool.net_committed
    assert Decimal(ledger.available) == pool.available == 97 * M
    assert Decimal(ledger.unspent) == Decimal("500000")  # I01 spent all it keeps
    assert ledger.spent_by_pnl == {"CX": "500000", "RB": str(2 * M)}
    assert ledger.spent_by_kind == {"cx_process": "500000", "pnl": str(2 * M)}
    assert ledger.released_by_pnl == {"CX": str(2 * M), "RB": str(3 * M)}
    assert ledger.released_by_touchpoint == {"Mobile": str(5 * M), "Web": str(5 * M)}
    assert ledger.by_pnl == {"CX": str(1 * M), "RB": str(2 * M)}
    assert ledger.over_plan == []
    card = models.initiative(str(first))
    assert card is not None and card.status == "cancelled"
    assert (Decimal(card.committed), Decimal(card.spent), Decimal(card.released)) == (
        2 * M, 2 * M, 3 * M)
    assert [(s.amount, s.spent_on, s.reference, s.note) for s in card.spend] == [
        (str(2 * M), "2027-03-31", "INV-1", "milestone 1")]
    other = models.initiative(str(second))
    assert other is not None and other.status == "approved"
    assert [(d.previous_commitment, d.new_cost, d.amount_released, d.reason)
            for d in other.descopes] == [(str(3 * M), str(1 * M), str(2 * M),
                                          "phase 2 dropped")]
    # as of before the stop: I01 still fully committed, only its first spend
    earlier = models.ledger("FY2027", as_of=str(before_stop))
    assert earlier is not None
    assert (Decimal(earlier.spent), Decimal(earlier.released)) == (2 * M, 0)
    assert Decimal(earlier.net_committed) == 8 * M
    # the audit log records every command, readable
    summaries = [e.summary for e in models.audit_events(limit=500)]
    assert any(s.startswith("Initiative.SpendRecorded: amount=2000000 spent_on=2027-03-31 "
                            "reference=INV-1") for s in summaries)
    assert any(s.startswith("Initiative.Descoped: reason=phase 2 dropped new_cost=1000000")
               for s in summaries)


def test_spend_over_the_commitment_is_recorded_and_reported(
        world: World, funded: tuple[UUID, UUID]) -> None:
    _, second = funded
    world.gov.record_spend(FINANCE_LEAD, initiative_id=second, amount=4 * M, spent_on=SPRING)
    ledger = in_memory(world.gov).read_models().ledger("FY2027")
    assert ledger is not None and ledger.over_plan == ["I02"]
    world.gov.stop_initiative(CX_CHIEF, initiative_id=second, reason="over budget")
    assert pool_of(world.gov).commitments[second] == 3 * M  # nothing left to release


def test_stop_keeps_the_old_cancel_name_and_releases_everything_without_spend(
        world: World, funded: tuple[UUID, UUID]) -> None:
    first, _ = funded
    world.gov.cancel_initiative(CX_CHIEF, initiative_id=first, reason="vendor collapsed")
    assert first not in pool_of(world.gov).commitments
    assert pool_of(world.gov).available == 97 * M


def test_refusals_write_nothing(world: World, funded: tuple[UUID, UUID]) -> None:
    first, _ = funded
    gov = world.gov
    waiting = gov.initiative_id("FY2027", "I03")
    rejected_without_writing(gov, Forbidden, lambda: gov.record_spend(
        RB_OWNER, initiative_id=first, amount=M, spent_on=SPRING))
    rejected_without_writing(gov, InvalidTransition, lambda: gov.record_spend(
        FINANCE_LEAD, initiative_id=waiting, amount=M, spent_on=SPRING))
    future = rejected_without_writing(gov, InvalidInput, lambda: gov.record_spend(
        FINANCE_LEAD, initiative_id=first, amount=M, spent_on=date(2027, 7, 5)))
    assert isinstance(future, InvalidInput) and future.field == "spent_on"
    rejected_without_writing(gov, Forbidden, lambda: gov.stop_initiative(
        FINANCE_LEAD, initiative_id=first, reason="x"))
    rejected_without_writing(gov, InvalidInput, lambda: gov.stop_initiative(
        CX_CHIEF, initiative_id=first, reason=""))
    rejected_without_writing(gov, InvalidTransition, lambda: gov.stop_initiative(
        CX_CHIEF, initiative_id=waiting, reason="x"))
    rejected_without_writing(gov, DescopeOutOfRange, lambda: gov.descope_initiative(
        CX_CHIEF, initiative_id=first, new_cost=6 * M, reason="x"))
    rejected_without_writing(gov, InvalidInput, lambda: gov.descope_initiative(
        CX_CHIEF, initiative_id=first, new_cost=2 * M, reason=" "))
    rejected_without_writing(gov, Forbidden, lambda: gov.descope_initiative(
        RB_OWNER, initiative_id=first, new_cost=2 * M, reason="x"))


def test_bulk_spend_is_all_or_nothing_and_names_the_item(
        world: World, funded: tuple[UUID, UUID]) -> None:
    first, second = funded
    gov = world.gov
    waiting = gov.initiative_id("FY2027", "I03")
    good = [SpendItem(first, M, SPRING, "INV-1"), SpendItem(second, M, SPRING),
            SpendItem(first, Decimal("0.50"), SPRING, "INV-2")]
    bad_date = rejected_without_writing(gov, InvalidInput, lambda: gov.record_spend_batch(
        FINANCE_LEAD, items=[*good, SpendItem(second, M, date(1969, 1, 1))]))
    assert isinstance(bad_date, InvalidInput) and bad_date.field == "items.3.spent_on"
    bad_state = rejected_without_writing(gov, InvalidTransition, lambda: gov.record_spend_batch(
        FINANCE_LEAD, items=[*good, SpendItem(waiting, M, SPRING)]))
    assert bad_state.details["field"] == "items.3.initiative_id"
    missing = rejected_without_writing(gov, InitiativeNotFound, lambda: gov.record_spend_batch(
        FINANCE_LEAD, items=[SpendItem(UUID(int=7), M, SPRING), *good]))
    assert missing.details["field"] == "items.0.initiative_id"
    rejected_without_writing(gov, InvalidInput, lambda: gov.record_spend_batch(
        FINANCE_LEAD, items=[SpendItem(first, M, SPRING)] * 1001))
    rejected_without_writing(gov, InvalidInput, lambda: gov.record_spend_batch(
        FINANCE_LEAD, items=[]))
    result = gov.record_spend_batch(INGESTER, items=good)
    assert result.id == first  # the last item's initiative
    card = in_memory(gov).read_models().initiative(str(first))
    assert card is not None and Decimal(card.spent) == Decimal("1000000.50")
    assert [s.reference for s in card.spend] == ["INV-1", "INV-2"]
