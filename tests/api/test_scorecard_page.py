"""The scorecard page shows a percentage metric's 95% interval (it used to show dashes: the
template indexed the interval as a pair while the row names `low` and `high`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from api.app import create_app
from api.web.session import COOKIE
from domain.values import Reading
from governance.bootstrap import Runtime
from governance.principal import Principal
from governance.stores.sessions import Claims, sessions_of
from projections.rows import ScorecardCard

INGEST = Principal(subject="ingest.bot", roles=frozenset({"ingest"}), pnls=frozenset(),
                   name="Ingest", issuer="cxgov")


def test_the_scorecard_shows_a_percentage_metrics_interval(runtime: Runtime) -> None:
    observed = datetime.now(UTC) - timedelta(days=3)
    runtime.app.record_observations(INGEST, metric="M9", batch_key="first-contact",
                                    readings=[Reading(Decimal("72.5"), observed, 400)],
                                    source="crm")
    cards = [c for c in runtime.read_models().snapshot().scorecard("FY2027")
             if c.metric == "M9"]
    assert len(cards) == 1 and isinstance(cards[0], ScorecardCard)
    interval = cards[0].interval
    assert interval is not None
    session = sessions_of(runtime).start(
        Claims("audit.one", "Auditor", ("auditor",), (), "cxgov"),
        idle=timedelta(minutes=5), lifetime=timedelta(minutes=5))
    with TestClient(create_app(runtime), cookies={COOKIE: session}) as client:
        page = client.get("/dashboard/scorecard")
    assert page.status_code == 200
    shown = f"{Decimal(interval.low):,.1f} \N{EN DASH} {Decimal(interval.high):,.1f}"
    assert shown in page.text, shown
