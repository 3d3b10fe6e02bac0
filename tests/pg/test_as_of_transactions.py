"""Transactions as the unit of time (issue 18, part 6): on the chained PostgreSQL store an as-of
position inside a write transaction reads the state before that whole transaction, so no
reader ever sees an approval's funds committed with the initiative not yet approved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governance.app import Governance
from governance.stores.database import connect
from governance.stores.readside import rebuild, served_read_models
from tests.builders import CX_CHIEF, World

pytestmark = pytest.mark.pg


def test_an_as_of_position_inside_a_transaction_reads_the_state_before_it(
    pg_env: dict[str, str], pg_url: str,
) -> None:
    gov = Governance(env=pg_env)
    try:
        world = World(gov)
        initiative = world.submit("I01", cost_m="4")
        before = gov.position()
        approved = gov.decide(CX_CHIEF, initiative_id=initiative, outcome="approve",
                              rationale="go").position
        with connect(pg_url) as conn:
            topics = [r[0] for r in conn.execute(
                "SELECT topic FROM cxgov_events WHERE notification_id > %s "
                "ORDER BY notification_id", (before,))]
        assert topics == ["cxgov.FundingPool.FundsCommitted", "cxgov.Initiative.Approved"]
        inside = approved - 1  # the commitment: the decision's transaction is half-way
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)

        assert models.resolve(inside) == before
        assert models.resolve(approved) == approved
        assert models.resolve(before) == before
        half = models.initiative(str(initiative), as_of=inside)
        whole = models.initiative(str(initiative), as_of=approved)
        assert half is not None and whole is not None
        assert (half.status, whole.status) == ("submitted", "approved")
        assert models.snapshot(as_of=inside).position == before
    finally:
        gov.close()


def test_as_of_a_time_reads_the_time_the_log_recorded(
    pg_env: dict[str, str], pg_url: str,
) -> None:
    gov = Governance(env=pg_env)
    try:
        world = World(gov)
        initiative = world.submit("I01", cost_m="4")
        before = gov.position()
        approved = gov.decide(CX_CHIEF, initiative_id=initiative, outcome="approve",
                              rationale="go").position
        with connect(pg_url) as conn:
            times = dict(conn.execute("SELECT position, recorded_at FROM cxgov_chain "
                                      "WHERE position > %s", (before - 1,)).fetchall())
        assert times[approved - 1] == times[approved]  # one transaction, one log time
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)
        assert models.resolve(times[approved]) == approved
        assert models.resolve(times[approved] - timedelta(microseconds=1)) == before
        assert models.resolve(times[approved].isoformat()) == approved
    finally:
        gov.close()
