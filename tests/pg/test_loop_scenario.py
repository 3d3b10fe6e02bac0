"""The loop, end to end, on PostgreSQL (issue 14 acceptance): the scenario of
tests/app/test_loop_scenario.py on the PostgreSQL event store and read views, plus a rebuild of
the views from the log giving the same signals, review and loop time."""

from __future__ import annotations

import pytest

from governance.app import Governance
from governance.stores.readside import in_process_postgres, rebuild
from tests.app.test_loop_scenario import check_scenario, run_scenario

pytestmark = pytest.mark.pg


def test_the_loop_closes_on_postgresql(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        models = in_process_postgres(gov, pg_env).read_models()
        found = run_scenario(gov, models)
        check_scenario(models, found)
        before = models.loop()
        rebuild(gov, pg_env)
        after = in_process_postgres(gov, pg_env).read_models().loop()
        assert after.signals() == before.signals()
        assert after.reviews() == before.reviews()
        assert after.answers() == before.answers()
    finally:
        gov.close()
