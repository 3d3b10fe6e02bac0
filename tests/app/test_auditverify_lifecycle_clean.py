"""The offline verifier's lifecycle replay (auditverify/lifecycle.py) over a history the service
itself made, with every lifecycle event the random decision histories leave out: withdrawal,
delivery, an outcome, a stop, spend, a descope, a deferral carried over at once and undecided
work carried over once its period closed. Every rule, the lifecycle included, finds nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from auditverify.lifecycle import check_lifecycle
from auditverify.replay import check_decisions
from tests.app.decision_histories import rows_of
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, RB_OWNER, M, World

NEXT = "FY2028"


def test_a_service_made_history_through_every_status_has_no_lifecycle_finding(
        world: World) -> None:
    gov = world.gov
    withdrawn, delivered, stopped, deferred, undecided, pending = (
        world.submit(f"I0{n}", cost_m=str(n)) for n in range(1, 7))
    big = world.submit("I07", cost_m="12")
    gov.withdraw_initiative(RB_OWNER, initiative_id=withdrawn, reason="not needed")
    gov.decide(CX_CHIEF, initiative_id=delivered, outcome="approve", rationale="because")
    gov.record_spend(FINANCE_LEAD, initiative_id=delivered, amount=M,
                     spent_on=date(2026, 1, 5))
    gov.report_delivery(RB_OWNER, initiative_id=delivered, delivered_on=date(2026, 1, 20))
    gov.record_outcome(RB_OWNER, initiative_id=delivered, metric="M1",
                       observed_value=Decimal(30), observed_at=datetime(2026, 1, 25, tzinfo=UTC))
    gov.decide(CX_CHIEF, initiative_id=stopped, outcome="approve", rationale="because")
    gov.descope_initiative(CX_CHIEF, initiative_id=stopped, reason="smaller", new_cost=2 * M)
    gov.cancel_initiative(CX_DEPUTY, initiative_id=stopped, reason="stopped")
    gov.decide(CX_CHIEF, initiative_id=deferred, outcome="defer", rationale="next year")
    gov.decide(CX_CHIEF, initiative_id=big, outcome="approve", rationale="because")
    assert world.status(big) == "pending_second_approval"
    gov.open_period(FINANCE_LEAD, code=NEXT, currency="USD", opex_total=1000 * M,
                    cap_percent=Decimal(10))
    gov.carry_over(CX_DEPUTY, initiative_id=deferred, to_period=NEXT, reason="deferred")
    gov.close_period(FINANCE_LEAD, period=world.period, reason="year end")
    gov.carry_over(CX_DEPUTY, initiative_id=undecided, to_period=NEXT, reason="left open")
    gov.carry_over(CX_DEPUTY, initiative_id=big, to_period=NEXT, reason="left pending")
    assert [world.status(i) for i in (withdrawn, delivered, stopped, deferred, undecided,
                                      big, pending)] == [
        "withdrawn", "delivered", "cancelled", "carried_over", "carried_over", "carried_over",
        "submitted"]

    rows = rows_of(gov)
    assert check_lifecycle(rows) == []
    assert check_decisions(lambda: rows)[1] == []
