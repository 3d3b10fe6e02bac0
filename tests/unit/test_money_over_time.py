"""Money over time on the aggregates: spend actuals, stop (spend-aware release), descope and
the pool's partial release; old events fold exactly as before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DescopeOutOfRange, InvalidInput, InvalidTransition
from domain.initiative import Initiative
from domain.lifecycle import Status
from domain.pool import FundingPool
from tests.unit.aggregates import CHIEF, OWNER, M, a_pool, a_record, submitted

NOW = datetime(2027, 6, 30, 12, tzinfo=UTC)


def funded(cost_m: str = "5") -> tuple[FundingPool, Initiative]:
    pool = a_pool()
    initiative = submitted(pool, "I01", cost_m=cost_m)
    pool.commit(initiative_id=initiative.id, amount=initiative.cost, decision_id=uuid4(),
                actor=CHIEF)
    initiative.approve(decision=a_record(), actor=CHIEF)
    return pool, initiative


def spend(initiative: Initiative, amount: Decimal, *, on: date = date(2027, 3, 31),
          reference: str = "INV-1", note: str = "") -> None:
    initiative.record_spend(amount=amount, spent_on=on, reference=reference, note=note,
                            actor="test|fiona", now=NOW)


# --- spend ----------------------------------------------------------------------------------


def test_spend_accumulates_on_approved_and_delivered_work() -> None:
    _, initiative = funded()
    spend(initiative, 1 * M)
    initiative.deliver(delivered_on=date(2027, 4, 1), note="", actor=OWNER)
    spend(initiative, Decimal("250000.50"), reference=" INV-2 ")
    assert initiative.spent == Decimal("1250000.50")
    events = [e for e in initiative.collect_events()
              if isinstance(e, Initiative.SpendRecorded)]
    assert [(e.amount, e.reference) for e in events] == [(1 * M, "INV-1"),
                                                         (Decimal("250000.50"), "INV-2")]


def test_spend_beyond_the_commitment_is_recorded_not_refused() -> None:
    _, initiative = funded("1")
    spend(initiative, Decimal("1500000"))
    assert initiative.spent == Decimal("1500000") > initiative.committed_amount
    assert initiative.unspent == 0


@pytest.mark.parametrize("status", ["submitted", "rejected", "cancelled"])
def test_spend_on_work_that_is_not_funded_is_refused_and_writes_nothing(status: str) -> None:
    pool = a_pool()
    initiative = submitted(pool, "I01")
    if status == "rejected":
        initiative.reject(decision=a_record(), actor=CHIEF)
    if status == "cancelled":
        initiative.approve(decision=a_record(), actor=CHIEF)
        initiative.cancel(reason="stop", amount_released=initiative.cost, actor=CHIEF)
    version = initiative.version
    with pytest.raises(InvalidTransition):
        spend(initiative, 1 * M)
    assert initiative.version == version and initiative.spent == 0


@pytest.mark.parametrize(("amount", "on", "field"), [
    (Decimal(0), date(2027, 3, 1), "amount"),
    (Decimal(-5), date(2027, 3, 1), "amount"),
    (Decimal("NaN"), date(2027, 3, 1), "amount"),
    (Decimal(5), date(1969, 12, 31), "spent_on"),
    (Decimal(5), date(2027, 7, 2), "spent_on"),
])
def test_bad_spend_is_refused_naming_the_field(amount: Decimal, on: date, field: str) -> None:
    _, initiative = funded()
    version = initiative.version
    with pytest.raises(InvalidInput) as refused:
        spend(initiative, amount, on=on)
    assert refused.value.field == field and initiative.version == version


def test_spend_dated_tomorrow_is_accepted_for_clock_skew() -> None:
    _, initiative = funded()
    spend(initiative, 1 * M, on=date(2027, 7, 1))
    assert initiative.spent == 1 * M


def test_a_reference_with_control_characters_is_refused() -> None:
    _, initiative = funded()
    with pytest.raises(InvalidInput) as refused:
        spend(initiative, 1 * M, reference="INV\x001")
    assert refused.value.field == "reference"


# --- stop -------------------------------------------------------------------------------------


def test_stop_releases_what_is_committed_and_not_spent() -> None:
    pool, initiative = funded("5")
    spend(initiative, 2 * M)
    released = pool.release(initiative_id=initiative.id, reason="stop", actor=CHIEF,
                            amount=initiative.unspent)
    initiative.cancel(reason="stop", amount_released=released, actor=CHIEF)
    assert released == 3 * M
    assert initiative.status == Status.CANCELLED and initiative.committed_amount == 2 * M
    assert pool.net_committed == 2 * M and pool.commitments[initiative.id] == 2 * M


def test_stop_after_overspend_releases_nothing() -> None:
    _, initiative = funded("1")
    spend(initiative, 3 * M)
    assert initiative.unspent == 0


def test_an_old_cancellation_folds_to_nothing_committed_as_before() -> None:
    pool, initiative = funded("5")
    amount = pool.release(initiative_id=initiative.id, reason="stop", actor=CHIEF)
    initiative.cancel(reason="stop", amount_released=amount, actor=CHIEF)
    assert amount == 5 * M and initiative.committed_amount == 0
    assert initiative.id not in pool.commitments and pool.net_committed == 0
    # replayed from its events, the same state
    replayed: FundingPool | None = None
    for event in pool.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.commitments == {} and replayed.released == 5 * M


# --- the pool's partial release -------------------------------------------------------------


def test_a_partial_release_keeps_the_rest_committed() -> None:
    pool = a_pool()
    target = uuid4()
    pool.commit(initiative_id=target, amount=10 * M, decision_id=uuid4(), actor=CHIEF)
    pool.release(initiative_id=target, reason="descope", actor=CHIEF, amount=4 * M)
    assert pool.commitments[target] == 6 * M and pool.net_committed == 6 * M
    pool.release(initiative_id=target, reason="stop", actor=CHIEF)
    assert target not in pool.commitments and pool.net_committed == 0


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-1), 11 * M])
def test_a_release_of_nothing_or_more_than_is_committed_is_refused(amount: Decimal) -> None:
    pool = a_pool()
    target = uuid4()
    pool.commit(initiative_id=target, amount=10 * M, decision_id=uuid4(), actor=CHIEF)
    version = pool.version
    with pytest.raises((InvalidInput, InvalidTransition)):
        pool.release(initiative_id=target, reason="x", actor=CHIEF, amount=amount)
    assert pool.version == version and pool.commitments[target] == 10 * M


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.decimals(min_value=0, max_value=30, places=2)),
                max_size=30))
def test_partial_releases_never_break_the_invariant(steps: list[tuple[int, Decimal]]) -> None:
    pool = FundingPool.open(period="FY2027", currency="USD", opex_total=Decimal(1000),
                            cap_percent=Decimal(10), actor="f")
    ids = [uuid4() for _ in range(5)]
    for index, amount in steps:
        target = ids[index]
        try:
            if target in pool.commitments:
                pool.release(initiative_id=target, reason="r", actor="c", amount=amount)
            else:
                pool.commit(initiative_id=target, amount=amount, decision_id=uuid4(),
                            actor="c")
        except (InvalidInput, InvalidTransition):
            pass
        except Exception as exc:  # InsufficientFunds: a refused commit
            assert type(exc).__name__ == "InsufficientFunds"
        assert pool.committed - pool.released <= pool.amount
        assert pool.net_committed == sum(pool.commitments.values(), Decimal(0))


# --- descope --------------------------------------------------------------------------------


def test_descope_cuts_the_commitment_and_returns_what_it_releases() -> None:
    _, initiative = funded("5")
    spend(initiative, 1 * M)
    released = initiative.descope(new_cost=3 * M, reason="phase 2 dropped", actor=CHIEF)
    assert released == 2 * M and initiative.committed_amount == 3 * M
    assert initiative.status == Status.APPROVED
    event = initiative.collect_events()[-1]
    assert isinstance(event, Initiative.Descoped)
    assert (event.previous_commitment, event.new_cost, event.amount_released) == (
        5 * M, 3 * M, 2 * M)


@pytest.mark.parametrize("new_cost_m", ["5", "6", "0.5"])
def test_descope_outside_spent_to_commitment_is_refused(new_cost_m: str) -> None:
    _, initiative = funded("5")
    spend(initiative, 1 * M)
    version = initiative.version
    with pytest.raises(DescopeOutOfRange) as refused:
        initiative.descope(new_cost=Decimal(new_cost_m) * M, reason="x", actor=CHIEF)
    assert refused.value.code == "validation.descope_out_of_range"
    assert refused.value.field == "new_cost" and initiative.version == version


def test_descope_to_nothing_is_refused_stop_instead() -> None:
    _, initiative = funded("5")
    with pytest.raises(InvalidInput) as refused:
        initiative.descope(new_cost=Decimal(0), reason="x", actor=CHIEF)
    assert refused.value.field == "new_cost"


def test_descope_needs_a_written_reason() -> None:
    _, initiative = funded("5")
    with pytest.raises(InvalidInput) as refused:
        initiative.descope(new_cost=2 * M, reason="  ", actor=CHIEF)
    assert refused.value.field == "reason"


def test_descope_of_undecided_or_stopped_work_is_refused() -> None:
    pool = a_pool()
    initiative = submitted(pool, "I01")
    with pytest.raises(InvalidTransition):
        initiative.descope(new_cost=1 * M, reason="x", actor=CHIEF)
