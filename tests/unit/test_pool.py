"""The pool invariant at aggregate level: committed - released <= pool amount, always."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import CxgovError, InsufficientFunds, RestatementBelowCommitted
from domain.pool import FundingPool


def a_pool(opex: str = "1000", cap: str = "10") -> FundingPool:
    return FundingPool.open(period="FY2027", currency="USD", opex_total=Decimal(opex),
                            cap_percent=Decimal(cap), actor="test|fiona")


def test_the_pool_is_the_cap_share_of_opex() -> None:
    assert a_pool("1200000000", "10").amount == Decimal(120_000_000)


def test_a_commitment_beyond_the_pool_is_refused_and_leaves_no_event() -> None:
    pool = a_pool()
    pool.commit(initiative_id=uuid4(), amount=Decimal(60), decision_id=uuid4(), actor="a")
    version = pool.version
    with pytest.raises(InsufficientFunds):
        pool.commit(initiative_id=uuid4(), amount=Decimal("40.01"), decision_id=uuid4(),
                    actor="a")
    assert pool.version == version and pool.available == 40


def test_a_restatement_below_commitments_is_refused() -> None:
    pool = a_pool()
    pool.commit(initiative_id=uuid4(), amount=Decimal(60), decision_id=uuid4(), actor="a")
    with pytest.raises(RestatementBelowCommitted):
        pool.restate_opex(opex_total=Decimal(599), reason="x", actor="f")
    pool.restate_opex(opex_total=Decimal(600), reason="x", actor="f")
    assert pool.available == 0


operations = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.decimals(min_value=1, max_value=50, places=2)),
        st.tuples(st.just("release"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("restate"), st.decimals(min_value=1, max_value=2000, places=0)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_no_sequence_of_commands_overspends_the_pool(ops: list[tuple[str, object]]) -> None:
    pool = a_pool()
    committed: list = []
    for kind, arg in ops:
        try:
            if kind == "commit":
                initiative = uuid4()
                pool.commit(initiative_id=initiative, amount=arg, decision_id=uuid4(), actor="a")
                committed.append(initiative)
            elif kind == "release" and committed:
                pool.release(initiative_id=committed.pop(int(arg) % len(committed)), reason="r",
                             actor="a")
            elif kind == "restate":
                pool.restate_opex(opex_total=arg, reason="r", actor="f")
        except CxgovError:
            pass
        assert pool.net_committed <= pool.amount
        assert pool.net_committed == sum(pool.commitments.values(), Decimal(0))
