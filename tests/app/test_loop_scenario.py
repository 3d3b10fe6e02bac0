"""The loop, end to end (issue 14 acceptance): a metric goes off track -> a signal opens -> a
review acknowledges it and stops the initiative -> funds are released -> the ranking and the
ledger change -> the signal closes; the loop time is measured on the way. In memory here;
tests/pg/test_loop_scenario.py runs the same scenario on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.signals import SignalNote
from domain.values import Reading
from governance.app import Governance
from governance.stores.readside import in_memory
from projections.loop_source import ReadSideSignals
from projections.query import ReadModels
from tests.builders import CX_CHIEF, INGESTER, M, World

KEY = "metric_off_track:FY2027:M2"


def run_scenario(gov: Governance, models: ReadModels) -> dict[str, Any]:
    """Play the scenario on `gov`, reading through `models`; return what a test asserts."""
    gov.signal_source = ReadSideSignals(lambda: models)
    world = World(gov)
    funded = world.submit("I01", cost_m="8", impacts=(("M2", "80", "0.5"),))
    waiting = world.submit("I02", cost_m="3", impacts=(("M2", "75", "0.4"),))
    gov.decide(CX_CHIEF, initiative_id=funded, outcome="approve", rationale="fund it")
    before = {"ranking": models.ranking("FY2027"), "ledger": models.ledger("FY2027")}
    assert models.loop().signals(kind="metric_off_track") == []

    # a metric goes off track: first contact resolution falls to 60% of 400 customers
    # (Wilson 95% interval 55.1-64.7), clearly below its baseline of 68%
    observed = datetime(2026, 11, 30, 12, tzinfo=UTC)
    gov.record_observations(INGESTER, metric="M2", batch_key="2026-11", source="survey",
                            readings=[Reading(Decimal(60), observed, 400)])
    opened = models.loop().signals(kind="metric_off_track")
    assert [(s.key, s.state, s.since, s.role) for s in opened] == [
        (KEY, "open", observed.isoformat(), "cx_exec")]
    assert [i.code for i in opened[0].evidence.initiatives] == ["I01"]

    # a review opens on it, acknowledges it and stops the initiative
    review = gov.open_review(CX_CHIEF, period="FY2027", title="November review").id
    ack = gov.acknowledge_signal(CX_CHIEF, key=KEY, note="I01 is not moving M2; stop it",
                                 review=review)
    stop = gov.cancel_initiative(CX_CHIEF, initiative_id=funded, reason="not moving M2",
                                 review=review)
    gov.close_review(CX_CHIEF, review_id=review, minutes="Stopped I01; M2 to be re-planned.")
    return {"funded": funded, "waiting": waiting, "review": review, "ack": ack, "stop": stop,
            "observed": observed, "before": before}


def check_scenario(models: ReadModels, found: dict[str, Any]) -> None:
    """The assertions the scenario ends on, for any store."""
    before = found["before"]
    # funds are released: the ledger and the ranking change
    ledger = models.ledger("FY2027")
    assert ledger is not None and before["ledger"] is not None
    assert Decimal(ledger.released) - Decimal(before["ledger"].released) == 8 * M
    assert Decimal(ledger.available) - Decimal(before["ledger"].available) == 8 * M
    ranked = {r.code: r.status for r in models.ranking("FY2027")}
    assert {r.code: r.status for r in before["ranking"]}["I01"] == "approved"
    assert ranked.get("I01", "cancelled") == "cancelled"

    # the signal closed (its condition no longer holds: no funded work claims M2)
    loop = models.loop()
    closed = loop.signals(kind="metric_off_track")
    assert [(s.key, s.state) for s in closed] == [(KEY, "closed")]
    assert loop.open_counts().get("metric_off_track", 0) == 0

    # the review recorded what it opened on and what was done in it
    review = loop.review(str(found["review"]))
    assert review is not None and review.closed
    assert [s.key for s in review.signals] == [KEY]
    assert review.ranking[:2] == ["I01", "I02"] or set(review.ranking) == {"I01", "I02"}
    assert [(i.item, i.answers) for i in review.items] == [
        ("acknowledge", [KEY]), ("stop", [KEY])]

    # the loop time: from the reading that raised it to the acknowledgement that answered it
    acked_at = datetime.fromisoformat(next(
        e.at for e in models.audit_events(aggregate_id=str(SignalNote.create_id(KEY)))
        if e.topic == "cxgov.SignalNote.Acknowledged"))
    expected = Decimal(str((acked_at - found["observed"]).total_seconds()))
    answers = loop.answers("FY2027")
    assert [(a.key, a.answered_by, Decimal(a.seconds)) for a in answers] == [
        (KEY, "acknowledged", expected)]
    speed = {row.period: row for row in loop.loop_speed("FY2027")}
    assert Decimal(speed["FY2027"].median_seconds) == expected
    assert Decimal(speed["FY2027"].p90_seconds) == expected

    # as of the acknowledgement, the signal was acknowledged and the initiative still funded
    then = models.loop(as_of=found["ack"].position)
    assert [(s.key, s.state) for s in then.signals(kind="metric_off_track")] == [
        (KEY, "acknowledged")]
    assert then.review(str(found["review"])) is not None


def test_the_loop_closes_in_memory(gov: Governance) -> None:
    models = in_memory(gov).read_models()
    found = run_scenario(gov, models)
    check_scenario(models, found)
