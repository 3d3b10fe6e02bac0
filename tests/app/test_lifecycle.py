"""One initiative's whole life, on the in-memory store and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from governance.app import Governance
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, RB_OWNER, M, World, proposal


def test_an_initiative_goes_from_submission_to_outcome_and_the_pool_follows(
        any_gov: Governance) -> None:
    world = World(any_gov)
    i = world.submit("I01", cost_m="12")
    any_gov.revise_initiative(RB_OWNER, initiative_id=i, changes={"cost": 11 * M},
                              reason="vendor quote")
    any_gov.decide(CX_CHIEF, initiative_id=i, outcome="approve")
    any_gov.decide(CX_DEPUTY, initiative_id=i, outcome="approve")
    any_gov.report_delivery(RB_OWNER, initiative_id=i, delivered_on=date(2027, 6, 30))
    any_gov.record_outcome(RB_OWNER, initiative_id=i, metric="M1", observed_value=Decimal(60),
                           observed_at=datetime(2026, 9, 30, tzinfo=UTC))

    initiative = any_gov.initiative(i)
    pool = any_gov.pool("FY2027")
    assert initiative.status == "delivered"
    assert initiative.committed_amount == 11 * M
    assert [d.outcome for d in initiative.decisions] == ["approve", "approve"]
    assert pool.net_committed == 11 * M
    assert pool.available == 89 * M


def test_positions_increase_with_every_write(any_gov: Governance) -> None:
    world = World(any_gov)
    first = any_gov.submit_initiative(RB_OWNER, period="FY2027", kind="pnl", pnl="RB",
                                      proposal=proposal(),
                                      code="I01")
    second = any_gov.restate_opex(FINANCE_LEAD, period="FY2027", opex_total=900 * M,
                                  reason="forecast")
    assert 0 < first.position < second.position == any_gov.position()
    assert world.status(first.id) == "submitted"
