"""Re-decisions through the application and the read side (issue 14, item 5): carrying an
initiative into the next period, and retargeting or re-baselining a metric with its history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from auditverify.model import EventRow, Row
from auditverify.replay import check_decisions
from domain.errors import (
    InvalidInput,
    InvalidTransition,
    PeriodClosed,
    PeriodNotFound,
    SelfApproval,
)
from domain.initiative import Initiative
from governance.app import Governance
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from projections.codec import dump_state, load_state
from projections.render import target_history
from tests.builders import (
    AUDITOR_ONE,
    CX_CHIEF,
    CX_DEPUTY,
    FINANCE_LEAD,
    RB_OWNER,
    M,
    World,
    rejected_without_writing,
)

NEXT = "FY2028"


def open_next(world: World) -> None:
    world.gov.open_period(FINANCE_LEAD, code=NEXT, currency="USD", opex_total=1000 * M,
                          cap_percent=Decimal(10))


def deferred(world: World, code: str = "I01", **fields: object) -> UUID:
    initiative_id = world.submit(code, **fields)  # type: ignore[arg-type]
    world.gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="defer",
                     rationale="not this year")
    return initiative_id


# --- carry-over ----------------------------------------------------------------------------


def test_a_deferred_initiative_is_carried_into_the_next_period_linked_both_ways(
        world: World) -> None:
    gov = world.gov
    original = deferred(world)
    open_next(world)
    before = gov.position()

    result = gov.carry_over(CX_DEPUTY, initiative_id=original, to_period=NEXT,
                            reason="deferred for budget; the problem remains",
                            cost=Decimal(4) * M)

    successor = Initiative.create_id(NEXT, "I01")
    assert (result.id, result.status) == (successor, "submitted")
    assert gov.initiative(original).status == "carried_over"
    assert gov.pool(NEXT).initiatives == [successor]
    models = in_memory(gov).read_models()
    old, new = models.initiative(str(original)), models.initiative(str(successor))
    assert old is not None and new is not None
    assert (old.status, old.carried_to, old.carry_reason) == (
        "carried_over", "FY2028/I01", "deferred for budget; the problem remains")
    assert (new.status, new.carried_from, new.proposal.cost) == (
        "submitted", "FY2027/I01", str(4 * M))
    assert new.proposal.title == old.proposal.title
    assert [r.code for r in models.ranking(NEXT)] == ["I01"]
    assert [r.code for r in models.ranking("FY2027")] == []  # no longer in contention there
    assert Decimal(models.ledger("FY2027").requested) == 0  # type: ignore[union-attr]
    # every event of the carry-over is in the audit log, in one transaction's positions
    rows = models.audit_events(after=before)
    assert [r.topic for r in rows] == ["cxgov.FundingPool.InitiativeEnlisted",
                                       "cxgov.Initiative.CarriedOver",
                                       "cxgov.Initiative.Submitted"]
    assert "to_period=FY2028" in rows[1].summary and "to_code=I01" in rows[1].summary
    assert "reason=deferred for budget" in rows[1].summary
    assert "carried_from=FY2027/I01" in rows[2].summary
    # as of the position before, the original is deferred and unlinked
    then = models.initiative(str(original), as_of=before)
    assert then is not None and (then.status, then.carried_to) == ("deferred", None)


def test_the_carrier_is_the_successors_author_so_another_executive_decides_it(
        world: World) -> None:
    original = deferred(world)
    open_next(world)
    successor = world.gov.carry_over(CX_DEPUTY, initiative_id=original, to_period=NEXT,
                                     reason="carry").id
    rejected_without_writing(world.gov, SelfApproval, lambda: world.gov.decide(
        CX_DEPUTY, initiative_id=successor, outcome="approve"))
    world.gov.decide(CX_CHIEF, initiative_id=successor, outcome="approve")
    assert world.status(successor) == "approved"


def test_the_original_can_no_longer_be_decided_or_carried_again(world: World) -> None:
    original = deferred(world)
    open_next(world)
    world.gov.carry_over(CX_DEPUTY, initiative_id=original, to_period=NEXT, reason="carry")
    error = rejected_without_writing(world.gov, InvalidTransition, lambda: world.gov.decide(
        CX_DEPUTY, initiative_id=original, outcome="approve"))
    assert "carried_over" in str(error)
    rejected_without_writing(world.gov, InvalidTransition, lambda: world.gov.carry_over(
        CX_DEPUTY, initiative_id=original, to_period=NEXT, reason="again", code="I09"))


def test_undecided_work_is_carried_only_once_its_period_is_closed(world: World) -> None:
    initiative_id = world.submit("I01")
    open_next(world)
    error = rejected_without_writing(world.gov, InvalidTransition, lambda: world.gov.carry_over(
        CX_CHIEF, initiative_id=initiative_id, to_period=NEXT, reason="unfunded"))
    assert "only deferred work is carried before its period closes" in str(error)
    world.gov.close_period(FINANCE_LEAD, period="FY2027", reason="year end")
    world.gov.carry_over(CX_CHIEF, initiative_id=initiative_id, to_period=NEXT,
                         reason="left unfunded at year end")
    assert world.status(initiative_id) == "carried_over"


def test_rejected_work_is_not_carried_over(world: World) -> None:
    initiative_id = world.submit("I01")
    world.gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="reject",
                     rationale="not worth it")
    open_next(world)
    world.gov.close_period(FINANCE_LEAD, period="FY2027", reason="year end")
    rejected_without_writing(world.gov, InvalidTransition, lambda: world.gov.carry_over(
        CX_CHIEF, initiative_id=initiative_id, to_period=NEXT, reason="try again"))


@pytest.mark.parametrize(("setup", "kwargs", "error"), [
    ("none", {"to_period": "FY2030"}, PeriodNotFound),
    ("closed", {}, PeriodClosed),
    ("none", {"to_period": "FY2027"}, InvalidInput),
    ("none", {"reason": " "}, InvalidInput),
    ("none", {"cost": Decimal(0)}, InvalidInput),
    ("none", {"dependencies": ("I02",)}, InvalidInput),  # FY2028 has no I02
    ("taken", {"code": "I01"}, Exception),
])
def test_a_refused_carry_over_writes_nothing(world: World, setup: str,
                                             kwargs: dict[str, object],
                                             error: type[Exception]) -> None:
    original = deferred(world)
    open_next(world)
    if setup == "closed":
        world.gov.close_period(FINANCE_LEAD, period=NEXT, reason="frozen")
    if setup == "taken":
        world.gov.submit_initiative(RB_OWNER, period=NEXT, kind="pnl", pnl="RB",
                                    proposal=world.gov.initiative(original).proposal, code="I01")
    values: dict[str, object] = {"to_period": NEXT, "reason": "carry", **kwargs}
    rejected_without_writing(world.gov, error, lambda: world.gov.carry_over(
        CX_CHIEF, initiative_id=original, **values))  # type: ignore[arg-type]
    assert world.status(original) == "deferred"


@pytest.mark.parametrize("who", [RB_OWNER, FINANCE_LEAD, AUDITOR_ONE])
def test_only_a_cx_executive_carries_work_over(world: World, who: object) -> None:
    original = deferred(world)
    open_next(world)
    rejected_without_writing(world.gov, Forbidden, lambda: world.gov.carry_over(
        who, initiative_id=original, to_period=NEXT, reason="carry"))  # type: ignore[arg-type]


# --- retarget and re-baseline --------------------------------------------------------------


def test_a_retarget_keeps_what_it_does_not_name_and_the_history_records_each_version(
        world: World) -> None:
    gov = world.gov
    gov.retarget_metric(CX_CHIEF, code="M1", target=Decimal(36), target_date=date(2028, 6, 30),
                        reason="24 h needs a core-banking change")
    gov.retarget_metric(CX_DEPUTY, code="M1", baseline=Decimal(110),
                        reason="the 120 h baseline counted weekends twice")
    metric = gov.metric("M1")
    assert (metric.baseline, metric.target, metric.target_date) == (
        Decimal(110), Decimal(36), date(2028, 6, 30))
    row = in_memory(gov).read_models().snapshot().metric("M1")
    assert row is not None
    assert [(t.kind, t.baseline, t.target, t.target_date, t.actor) for t in row.targets] == [
        ("definition", "120", "24", None, "test|chris"),
        ("retarget", "120", "36", "2028-06-30", "test|chris"),
        ("rebaseline", "110", "36", "2028-06-30", "test|dana")]
    assert row.targets[2].reason == "the 120 h baseline counted weekends twice"
    positions = [t.position for t in row.targets]
    assert positions == sorted(positions) and None not in positions


def test_clearing_the_target_date_and_moving_both_is_one_version(world: World) -> None:
    world.gov.retarget_metric(CX_CHIEF, code="M2", target=Decimal(80), target_date=date(2028, 1, 1),
                              reason="dated")
    world.gov.retarget_metric(CX_CHIEF, code="M2", baseline=Decimal(70), target=Decimal(90),
                              clear_target_date=True, reason="new survey")
    metric = world.gov.metric("M2")
    assert (metric.baseline, metric.target, metric.target_date) == (70, 90, None)
    row = in_memory(world.gov).read_models().snapshot().metric("M2")
    assert row is not None and row.targets[-1].kind == "rebaseline+retarget"


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"target": Decimal(24)}, InvalidInput),  # nothing changes
    ({"target": Decimal(130)}, InvalidInput),  # a decrease metric's target above its baseline
    ({"target": Decimal(30), "reason": "  "}, InvalidInput),
])
def test_a_refused_retarget_writes_nothing(world: World, kwargs: dict[str, object],
                                           error: type[Exception]) -> None:
    values: dict[str, object] = {"reason": "because", **kwargs}
    rejected_without_writing(world.gov, error, lambda: world.gov.retarget_metric(
        CX_CHIEF, code="M1", **values))  # type: ignore[arg-type]


@pytest.mark.parametrize("who", [RB_OWNER, FINANCE_LEAD, AUDITOR_ONE])
def test_only_a_cx_executive_retargets(world: World, who: object) -> None:
    rejected_without_writing(world.gov, Forbidden, lambda: world.gov.retarget_metric(
        who, code="M1", target=Decimal(30), reason="because"))  # type: ignore[arg-type]


def test_the_scorecard_shows_which_ranking_used_which_target_as_of_any_position(
        world: World) -> None:
    gov = world.gov
    first = world.submit("I01", cost_m="5")
    second = world.submit("I02", cost_m="6")
    gov.decide(CX_CHIEF, initiative_id=first, outcome="approve")
    before = gov.position()
    gov.retarget_metric(CX_CHIEF, code="M1", target=Decimal(48), reason="ambition reset")
    gov.decide(CX_CHIEF, initiative_id=second, outcome="defer", rationale="next round")
    models = in_memory(gov).read_models()

    card = next(c for c in models.scorecard("FY2027") if c.metric == "M1")
    assert card.target == "48"
    old, new = card.targets
    assert (old.version, old.target, old.in_force_until) == (1, "24", new.in_force_from)
    assert (new.version, new.target, new.kind, new.in_force_until) == (2, "48", "retarget",
                                                                      None)
    assert [(d.code, d.outcome) for d in old.decisions] == [("I01", "approve")]
    assert [(d.code, d.outcome) for d in new.decisions] == [("I02", "defer")]
    assert all(old.in_force_from is not None and d.ranking_position < new.in_force_from  # type: ignore[operator]
               for d in old.decisions)

    then = next(c for c in models.scorecard("FY2027", as_of=before) if c.metric == "M1")
    assert then.target == "24" and [t.target for t in then.targets] == ["24"]
    assert [(d.code, d.outcome) for d in then.targets[0].decisions] == [("I01", "approve")]
    assert then.targets[0].in_force_until is None


def test_a_fold_snapshot_older_than_the_history_starts_it_from_the_metrics_values(
        world: World) -> None:
    gov = world.gov
    at = gov.position()
    gov.retarget_metric(CX_CHIEF, code="M1", target=Decimal(48), reason="ambition reset")
    models = in_memory(gov).read_models()
    state = models.state_at(at)
    state.metrics["M1"].targets = []  # as a fold snapshot written before this release holds it
    (notification,) = gov.notification_log.select(at + 1, 1)
    state.apply(notification.id, gov.mapper.to_domain_event(notification))
    history = target_history(state, "FY2027", state.metrics["M1"])
    assert [(t["kind"], t["target"], t["position"]) for t in history] == [
        ("definition", Decimal(24), None), ("retarget", Decimal(48), notification.id)]
    assert (history[0]["in_force_from"], history[0]["in_force_until"]) == (None,
                                                                          notification.id)
    blank = models.state_at(at)
    blank.metrics["M1"].targets = []  # never retargeted since: one version, position unknown
    (only,) = target_history(blank, "FY2027", blank.metrics["M1"])
    assert (only["version"], only["target"], only["position"]) == (1, Decimal(24), None)


def test_the_fold_snapshot_codec_keeps_the_links_and_the_history(world: World) -> None:
    original = deferred(world)
    open_next(world)
    world.gov.carry_over(CX_DEPUTY, initiative_id=original, to_period=NEXT, reason="carry")
    world.gov.retarget_metric(CX_CHIEF, code="M2", baseline=Decimal(70), reason="resurveyed")
    state = in_memory(world.gov).read_models().state_at(world.gov.position())
    again = load_state(dump_state(state))
    assert again.initiatives[str(original)].carried_to == "FY2028/I01"
    assert again.initiatives[str(original)].carry_reason == "carry"
    successor = str(Initiative.create_id(NEXT, "I01"))
    assert again.initiatives[successor].carried_from == "FY2027/I01"
    assert again.metrics["M2"].targets == state.metrics["M2"].targets
    assert [t["kind"] for t in again.metrics["M2"].targets] == ["definition", "rebaseline"]


def test_the_offline_verifier_replays_ranks_and_rules_across_a_carry_over(
        world: World) -> None:
    """auditverify's own copy of the lifecycle words knows `carried_over`: a carried
    initiative leaves its period's ranking, so later decisions there verify."""
    gov = world.gov
    first = deferred(world, cost_m="2")  # the best value for money: ranked first
    second = world.submit("I02", cost_m="5")
    third = world.submit("I03", cost_m="6")
    open_next(world)
    successor = gov.carry_over(CX_DEPUTY, initiative_id=first, to_period=NEXT,
                               reason="next year").id
    gov.decide(CX_CHIEF, initiative_id=second, outcome="approve")
    gov.decide(CX_CHIEF, initiative_id=third, outcome="approve")
    gov.decide(CX_CHIEF, initiative_id=successor, outcome="approve")
    assert [d.rank for d in gov.initiative(second).decisions] == [1]  # I01 no longer ranks
    notifications = gov.recorder.select_notifications(start=1, limit=10_000)
    rows = [Row(n.id, EventRow(str(n.originator_id), n.originator_version, n.topic, n.state),
                None) for n in notifications]
    assert check_decisions(lambda: rows) == (4, [])


def test_carry_over_and_retarget_on_either_store(any_gov: Governance) -> None:
    """The three events of a carry-over land in one transaction, on the in-memory store and
    on PostgreSQL; a refused one (the target closed) writes nothing."""
    world = World(any_gov)
    original = deferred(world)
    open_next(world)
    other = world.submit("I02")
    world.gov.decide(CX_CHIEF, initiative_id=other, outcome="defer", rationale="later")
    before = any_gov.position()
    result = any_gov.carry_over(CX_DEPUTY, initiative_id=original, to_period=NEXT,
                                reason="carry", cost=Decimal(3) * M)
    assert result.position == before + 3  # enlisted, carried over, submitted: one save
    assert any_gov.initiative(original).carried_to == "FY2028/I01"
    assert any_gov.initiative(result.id).carried_from == "FY2027/I01"
    assert any_gov.pool(NEXT).initiatives == [result.id]
    any_gov.close_period(FINANCE_LEAD, period=NEXT, reason="frozen")
    rejected_without_writing(any_gov, PeriodClosed, lambda: any_gov.carry_over(
        CX_DEPUTY, initiative_id=other, to_period=NEXT, reason="too late"))
    any_gov.retarget_metric(CX_CHIEF, code="M1", target=Decimal(30), reason="closer")
    assert any_gov.metric("M1").target == 30
