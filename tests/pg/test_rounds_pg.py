"""Funding rounds on PostgreSQL (issue 16, part 4): the schedule's aware times and the
feasibility marks survive the real store and a rebuild of the views; a submission outside the
intake window and a decision before the decision phase are refused writing nothing; the round
reads live at the app's clock and as of a position before the marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import RoundNotInDecision, RoundOutsideIntake
from governance.app import Governance
from governance.stores.readside import rebuild, served_read_models
from tests.builders import CX_CHIEF, FINANCE_LEAD, World, rejected_without_writing

pytestmark = pytest.mark.pg

OPENS = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def test_a_round_in_the_postgresql_store_and_views(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        world = World(gov)
        now = [OPENS - timedelta(hours=1)]
        gov.clock = lambda: now[0]
        gov.open_round(FINANCE_LEAD, period="FY2027", intake_opens=OPENS,
                       intake_closes=OPENS + timedelta(days=14),
                       review_deadline=OPENS + timedelta(days=21),
                       decision_deadline=OPENS + timedelta(days=28))
        rejected_without_writing(gov, RoundOutsideIntake, lambda: world.submit("I01"))
        now[0] = OPENS
        first = world.submit("I01")
        rejected_without_writing(gov, RoundNotInDecision, lambda: gov.decide(
            CX_CHIEF, initiative_id=first, outcome="approve"))
        before = gov.position()
        now[0] = OPENS + timedelta(days=14)
        gov.mark_feasibility(CX_CHIEF, period="FY2027", code="I01",
                             verdict="needs_information", note="Which vendor?")
        now[0] = OPENS + timedelta(days=21)
        gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
        rebuild(gov, pg_env)
        models = served_read_models(gov, pg_env)
        _, found = models.funding_round("FY2027", now=now[0])
        assert found is not None
        assert (found.phase, found.intake_opens) == ("decision", OPENS.isoformat())
        assert [(m.code, m.verdict, m.note) for m in found.feasibility] == [
            ("I01", "needs_information", "Which vendor?")]
        _, then = models.funding_round("FY2027", as_of=before)
        assert then is not None and then.feasibility == []
    finally:
        gov.close()
