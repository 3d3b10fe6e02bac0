"""The living demo on PostgreSQL: Harborview and its seeded history through the PostgreSQL
event store and views; the published ranking as of the first decision point, and "you said,
we did" the same live, as of the end, and after a rebuild of the views from the log."""

from __future__ import annotations

import json

import pytest

from governance.app import Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.entrypoints.demo_history import apply_history
from governance.stores.readside import in_process_postgres, rebuild
from projections.loop_source import ReadSideSignals
from tests.builders import harborview_path

pytestmark = pytest.mark.pg


def test_the_living_demo_on_postgresql(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        views = in_process_postgres(gov, pg_env)
        gov.signal_source = ReadSideSignals(views.read_models)
        company = bundled_company()
        import_company(gov, company)
        report = apply_history(gov, company)
        models = views.read_models()

        expected = json.loads(harborview_path().read_text())["expected"]["ranking"]
        assert [r.code for r in models.ranking("FY2027", as_of=report.decision_point)] == (
            expected)
        live = models.you_said_we_did()
        assert sum(1 for s in live if s.deliveries) == 8
        assert models.you_said_we_did(as_of=report.last_position) == live
        assert all(not s.deliveries
                   for s in models.you_said_we_did(as_of=report.decision_point))
        assert "grey" not in {c.status for c in models.scorecard("FY2027")}

        rebuild(gov, pg_env)
        assert in_process_postgres(gov, pg_env).read_models().you_said_we_did() == live
    finally:
        gov.close()
