"""Re-decisions on PostgreSQL (issue 14): a carry-over and a retarget projected into the
PostgreSQL views (a rebuild, as `cxgov rebuild` does) read the links both ways, the target
history, and the old target as of a position before the retarget."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.initiative import Initiative
from governance.app import Governance
from governance.stores.readside import rebuild, served_read_models
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, M, World

pytestmark = pytest.mark.pg


def test_carry_over_and_target_history_in_the_postgresql_views(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        world = World(gov)
        original = world.submit("I01", cost_m="5")
        claimant = world.submit("I02", cost_m="4")
        gov.decide(CX_CHIEF, initiative_id=original, outcome="defer", rationale="next year")
        gov.open_period(FINANCE_LEAD, code="FY2028", currency="USD", opex_total=1000 * M,
                        cap_percent=Decimal(10))
        successor = gov.carry_over(CX_DEPUTY, initiative_id=original, to_period="FY2028",
                                   reason="still needed").id
        before = gov.position()
        gov.retarget_metric(CX_CHIEF, code="M1", target=Decimal(48), reason="reset")
        gov.decide(CX_CHIEF, initiative_id=claimant, outcome="approve")
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)

        old, new = models.initiative(str(original)), models.initiative(str(successor))
        assert old is not None and new is not None
        assert (old.status, old.carried_to, old.carry_reason) == (
            "carried_over", "FY2028/I01", "still needed")
        assert (new.carried_from, successor) == ("FY2027/I01",
                                                 Initiative.create_id("FY2028", "I01"))
        metric = models.snapshot().metric("M1")
        assert metric is not None
        assert [(t.kind, t.target) for t in metric.targets] == [("definition", "24"),
                                                                 ("retarget", "48")]
        card = next(c for c in models.scorecard("FY2027") if c.metric == "M1")
        assert [[d.code for d in t.decisions] for t in card.targets] == [["I01"], ["I02"]]
        then = next(c for c in models.scorecard("FY2027", as_of=before) if c.metric == "M1")
        assert then.target == "24" and [t.target for t in then.targets] == ["24"]
        assert models.initiative(str(original), as_of=before) is not None
    finally:
        gov.close()
