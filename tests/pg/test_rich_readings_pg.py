"""Richer readings on PostgreSQL (issue 15): NPS counts and a summary survive the real store
and a rebuild of the views; the card's intervals and tested change read live and as of a
position before the second month; a refused batch writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.values import Reading
from governance.app import Governance
from governance.stores.readside import rebuild, served_read_models
from tests.builders import INGESTER, World

pytestmark = pytest.mark.pg


def nps(month: int, promoters: int, passives: int, detractors: int) -> Reading:
    n = promoters + passives + detractors
    return Reading(Decimal(round((promoters - detractors) * 100 / n)),
                   datetime(2026, month, 28, tzinfo=UTC), n, promoters=promoters,
                   passives=passives, detractors=detractors, channel="app")


def test_rich_readings_in_the_postgresql_store_and_views(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        World(gov)
        gov.record_observations(INGESTER, metric="M1", batch_key="m3", source="survey",
                                readings=[nps(3, 90, 70, 40)])
        before = gov.position()
        with pytest.raises(InvalidInput):
            gov.record_observations(INGESTER, metric="M1", batch_key="bad", source="survey",
                                    readings=[nps(4, 10, 10, 10), Reading(
                                        Decimal(5), datetime(2026, 4, 28, tzinfo=UTC), 10,
                                        median=Decimal(5), p90=Decimal(4))])
        assert gov.position() == before
        gov.record_observations(INGESTER, metric="M1", batch_key="m4", source="survey",
                                readings=[nps(4, 1400, 400, 200)])
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)

        card = next(c for c in models.scorecard("FY2027") if c.metric == "M1")
        assert [i.of for i in card.intervals] == ["nps"]
        assert card.change is not None and card.change.method == "nps-difference-z"
        assert card.change.significant and card.trend_basis == "test"
        then = next(c for c in models.scorecard("FY2027", as_of=before) if c.metric == "M1")
        assert then.change is None and [Decimal(i.estimate) for i in then.intervals] == [25]
    finally:
        gov.close()
