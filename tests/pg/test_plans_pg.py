"""Funding plans on PostgreSQL (issue 16, part 2): a plan's selection (decimals inside its
items) and the plan of record survive the real store and a rebuild of the views; a decision
judged against the plan stores its `plan`, while one taken before stores none; the plans read
live and as of a position before the adoption."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.plans import Forced
from governance.app import Governance
from governance.stores.readside import rebuild, served_read_models
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, M, World

pytestmark = pytest.mark.pg


def test_plans_in_the_postgresql_store_and_views(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        world = World(gov)
        world.submit("I01", impacts=(("M1", "24", "0.9"),))
        world.submit("I02", impacts=(("M1", "48", "0.7"),))
        world.submit("I03", impacts=(("M1", "72", "0.5"),), cost_m="2.5")
        before_plan = gov.decide(CX_CHIEF, initiative_id=gov.initiative_id("FY2027", "I03"),
                                 outcome="defer", rationale="next quarter")
        gov.save_plan(FINANCE_LEAD, period="FY2027", name="Lean", budget=Decimal("7.5") * M,
                      forced_out=[Forced("I01", "overlap")])
        before = gov.position()
        gov.adopt_plan(CX_CHIEF, period="FY2027", name="Lean", rationale="value")
        judged = gov.decide(CX_DEPUTY, initiative_id=gov.initiative_id("FY2027", "I01"),
                            outcome="approve", rationale="the overlap is gone")
        assert judged.decision is not None and judged.decision.plan == "Lean"
        assert gov.initiative(gov.initiative_id("FY2027", "I01")).decisions[-1].plan == "Lean"
        assert before_plan.decision is not None and before_plan.decision.plan is None
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)
        _, listed = models.plans("FY2027")
        assert listed is not None and listed.plan_of_record == "Lean"
        (lean,) = listed.plans
        assert [(i.code, Decimal(i.cost), i.funded) for i in lean.items] == [
            ("I02", 5 * M, False), ("I03", Decimal("2.5") * M, False)]
        assert Decimal(lean.cost) == Decimal("7.5") * M and lean.forced_out[0].code == "I01"
        _, then = models.plans("FY2027", as_of=before)
        assert then is not None and then.plan_of_record is None
        card = models.initiative(str(gov.initiative_id("FY2027", "I01")))
        assert card is not None and card.decisions[-1].plan == "Lean"
        assert card.decisions[-1].departure and not card.decisions[-1].recommended
        earlier = models.initiative(str(gov.initiative_id("FY2027", "I03")))
        assert earlier is not None and earlier.decisions[-1].plan is None
    finally:
        gov.close()
