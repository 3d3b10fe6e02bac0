"""The recommendation planned once per read position and shared by its readers (decision 161):
the same answers as the selection computed from scratch, page by page, live and as of every
earlier position, on generated histories."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from domain.lifecycle import UNDECIDED
from domain.optimize import SelectionItem, frontier, greedy, optimal
from domain.optimize.items import InfeasibleGuardrails, InfeasibleMandatory
from domain.policy import Guardrail
from governance.app import Governance
from governance.stores.readside import in_memory
from projections.query import ReadModels
from projections.recommend import FRONTIER_POINTS, PAGES_KEPT, Planned, _limits
from projections.rows import Ledger, RankingRow, Recommendation
from tests.app.test_guarded_decisions import _adopt, _period
from tests.builders import CX_CHIEF

SEEDS = range(10)


def _guardrails(models: ReadModels, **at: Any) -> list[Guardrail]:
    policy = models.snapshot(**at).policy()
    return [Guardrail(g.dimension, g.value,
                      *(None if x is None else Decimal(x)
                        for x in (g.min_share, g.max_share, g.min_amount, g.max_amount)))
            for g in (policy.terms.guardrails if policy else [])]


def _reference(rows: list[RankingRow], ledger: Ledger,
               guardrails: list[Guardrail]) -> dict[str, Any]:
    """The selection from scratch, by the domain's functions: the greedy walk explaining every
    unfunded item at once (no page), the exact optimum, the frontier."""
    available = Decimal(ledger.available)
    funded = frozenset(r.code for r in rows if r.funded and r.code is not None)
    items = [SelectionItem(key=r.code, cost=Decimal(r.cost), value=Decimal(r.cip), rank=r.rank,
                           mandatory=r.mandatory, requires=tuple(r.dependencies))
             for r in rows if r.status in UNDECIDED and r.code is not None]
    limits = _limits(rows, ledger, guardrails)
    walk = greedy(items, available, already_funded=funded, guardrails=limits)
    try:
        best: frozenset[str] | None = frozenset(
            optimal(items, available, already_funded=funded, guardrails=limits).keys)
    except (InfeasibleMandatory, InfeasibleGuardrails):
        best = None
    requested = sum((i.cost for i in items), Decimal(0))
    curve = frontier(items, points=FRONTIER_POINTS, budget_max=max(requested, available),
                     already_funded=funded, guardrails=limits) if items and best is not None \
        else []
    return {
        "greedy": list(walk.funded),
        "optimal": None if best is None else sorted(best),
        "frontier": [(Decimal(p.budget), Decimal(p.value), list(p.keys)) for p in curve],
        "unfunded": [(u.key, str(u.reason), u.extra_budget,
                      best is not None and u.key in best) for u in walk.unfunded],
    }


def _read(rec: Recommendation) -> dict[str, Any]:
    return {
        "greedy": list(rec.greedy.keys),
        "optimal": None if rec.optimal is None else sorted(k or "" for k in rec.optimal.keys),
        "frontier": [(Decimal(p.budget), Decimal(p.value), list(p.keys)) for p in rec.frontier],
        "unfunded": [(u.code, u.reason_code,
                      None if u.extra_budget is None else Decimal(u.extra_budget), u.in_optimum)
                     for u in rec.unfunded],
    }


def _check(models: ReadModels, period: str, seed: int, **at: Any) -> Recommendation:
    """The whole recommendation and every page of two equal the reference at that position."""
    snapshot = models.snapshot(**at)
    ledger = snapshot.ledger(period)
    assert ledger is not None
    expected = _reference(snapshot.ranking(period), ledger, _guardrails(models, **at))
    whole = models.recommendation(period, **at)
    assert whole is not None
    assert _read(whole) == expected, (seed, at)
    total = len(expected["unfunded"])
    assert whole.unfunded_total == total
    for offset in range(0, total + 1, 2):
        page = models.snapshot(**at).recommendation(period, unfunded_offset=offset,
                                                    unfunded_limit=2)
        assert page is not None and page.unfunded_offset == offset
        assert _read(page)["unfunded"] == expected["unfunded"][offset:offset + 2], (seed, at)
        assert page.model_copy(update={"unfunded": whole.unfunded, "unfunded_offset": 0}) \
            == whole
    again = models.snapshot(**at).recommendation(period, unfunded_limit=2)
    assert again is models.snapshot(**at).recommendation(period, unfunded_limit=2)  # kept
    plans = [v[0] for v in models.snapshot(**at)._memo.values()
             if v and isinstance(v[0], Planned)]
    assert plans and all(len(p.pages) <= PAGES_KEPT for p in plans)
    return whole


@pytest.mark.parametrize("seed", SEEDS)
def test_shared_plans_answer_as_the_selection_from_scratch(seed: int) -> None:
    """One ReadModels (its memo warm) reads every position of a generated history, live as it
    grows and then as of each earlier position, newest first: each answer equals the
    reference, and equals what a fresh ReadModels (no memo) answers."""
    gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        rng = random.Random(seed)
        world = _period(gov, rng)
        if seed % 2:
            _adopt(gov, *world.guardrails)  # type: ignore[attr-defined]
        models = in_memory(gov).read_models()
        positions = []
        for _ in range(rng.randint(3, 6)):
            _check(models, world.period, seed)
            positions.append(models.position())
            undecided = [c for c in models.snapshot().initiatives(world.period)
                         if c.status in UNDECIDED]
            if not undecided:
                break
            card = rng.choice(undecided)
            outcome = rng.choice(["approve", "reject", "defer"])
            ledger = models.ledger(world.period)
            assert ledger is not None
            if outcome == "approve" and Decimal(card.proposal.cost) > Decimal(ledger.available):
                outcome = "reject"
            if outcome == "defer" and card.status == "deferred":
                outcome = "reject"
            gov.decide(CX_CHIEF, initiative_id=card.id, outcome=outcome, rationale="Explained.")
        live = _check(models, world.period, seed)
        assert models.position() > positions[-1]  # the last decision moved the position
        fresh = in_memory(gov).read_models()
        assert fresh.recommendation(world.period) == live
        for position in reversed(positions):
            then = _check(models, world.period, seed, as_of=position)
            assert then == fresh.recommendation(world.period, as_of=position), (seed, position)
    finally:
        gov.close()


def test_a_new_position_is_planned_anew_and_the_memo_keeps_a_few() -> None:
    """A decision moves the position: the next read plans again (no stale answer), and the
    memo holds at most MEMO_POSITIONS positions of each kind."""
    from projections import query

    gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        world = _period(gov, random.Random(3))
        models = in_memory(gov).read_models()
        before = models.recommendation(world.period)
        assert before is not None and before.greedy.keys
        code = before.greedy.keys[0]
        card = next(c for c in models.snapshot().initiatives(world.period) if c.code == code)
        gov.decide(CX_CHIEF, initiative_id=card.id, outcome="reject",
                   rationale="Explained.")
        after = models.recommendation(world.period)
        assert after is not None and code not in after.greedy.keys
        assert models.recommendation(world.period, as_of=models.position() - 1) != after
        for k in range(1, models.position()):
            models.ranking(world.period, as_of=k)
        kinds = [key[2] for key in models._memos]
        assert kinds.count(True) <= query.MEMO_POSITIONS
        assert kinds.count(False) <= query.MEMO_POSITIONS
    finally:
        gov.close()


def test_the_reference_sees_guardrails_and_pages_see_extra_budgets() -> None:
    """The comparison means something: among the seeds, guardrails are read, and unguarded
    periods explain extra budgets."""
    seen_guardrails = seen_extra = False
    for seed in SEEDS:
        gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        try:
            world = _period(gov, random.Random(seed))
            if seed % 2:
                _adopt(gov, *world.guardrails)  # type: ignore[attr-defined]
            models = in_memory(gov).read_models()
            seen_guardrails |= bool(_guardrails(models))
            rec = models.recommendation(world.period)
            assert rec is not None
            seen_extra |= any(u.extra_budget is not None for u in rec.unfunded)
        finally:
            gov.close()
    assert seen_guardrails and seen_extra


def test_a_write_that_leaves_the_period_alone_reuses_its_rows_and_plan() -> None:
    """Decision 162: at a new position, a typed row whose document is unchanged and a plan
    whose ranking and ledger are unchanged are the earlier objects; a changed one is read
    anew and equals what a fresh ReadModels reads."""
    gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        world = _period(gov, random.Random(5))
        models = in_memory(gov).read_models()
        snapshot = models.snapshot()
        ranking, cards = snapshot.ranking(world.period), snapshot.initiatives(world.period)
        plan = models.recommendation(world.period)
        assert plan is not None
        gov.define_scenario(CX_CHIEF, code="S9", name="Claim a refund", pnl="RB")
        later = models.snapshot()
        assert later.position > snapshot.position
        assert all(a is b for a, b in zip(later.ranking(world.period), ranking, strict=True))
        assert all(a is b for a, b in zip(later.initiatives(world.period), cards, strict=True))
        again = models.recommendation(world.period)
        assert again is not None and again.frontier is plan.frontier  # not planned anew
        decided = cards[0]
        gov.decide(CX_CHIEF, initiative_id=decided.id, outcome="reject", rationale="Explained.")
        now = models.snapshot().initiatives(world.period)
        fresh = in_memory(gov).read_models()
        assert now == fresh.snapshot().initiatives(world.period)
        changed = [a for a, b in zip(now, cards, strict=True) if a is not b]
        assert [c.id for c in changed] == [decided.id] and changed[0].status == "rejected"
        after = models.recommendation(world.period)
        assert after == fresh.recommendation(world.period) and after is not None
        assert after.frontier is not plan.frontier
    finally:
        gov.close()


def _plan_of(models: ReadModels) -> Planned:
    plans = [v[0] for v in models.snapshot()._memo.values() if v and isinstance(v[0], Planned)]
    assert len(plans) == 1
    return plans[0]


def test_a_deferral_keeps_the_selection_and_an_approval_selects_anew() -> None:
    """Decision 270: the selection (greedy walk, optimum, frontier, extra budgets) is a
    function of the undecided items, what is funded and available, the limits and the points;
    a deferral changes none of them, so the next position's plan shares it (the very object),
    while its rows are new (the deferral shows); an approval changes them, so it is selected
    anew. Both answer as the selection from scratch does, and as they do with nothing kept."""
    from projections import recommend

    gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        world = _period(gov, random.Random(7))
        models = in_memory(gov).read_models()
        _check(models, world.period, 7)
        before = _plan_of(models)
        assert before.selection is not None and before.selection.curve
        card = next(c for c in models.snapshot().initiatives(world.period)
                    if c.status == "submitted")
        gov.decide(CX_CHIEF, initiative_id=card.id, outcome="defer", rationale="Explained.")
        deferred = _check(models, world.period, 7)
        after = _plan_of(models)
        assert after is not before and after.selection is before.selection
        assert after.rows[card.code].status == "deferred"
        ledger = models.ledger(world.period)
        assert ledger is not None
        funded = next(c for c in models.snapshot().initiatives(world.period)
                      if c.code in deferred.greedy.keys
                      and Decimal(c.proposal.cost) <= Decimal(ledger.available))
        gov.decide(CX_CHIEF, initiative_id=funded.id, outcome="approve",
                   rationale="Explained.")
        approved = _check(models, world.period, 7)
        assert _plan_of(models).selection is not before.selection
        recommend._selections.clear()
        fresh = in_memory(gov).read_models()
        assert fresh.recommendation(world.period) == approved
        assert fresh.recommendation(world.period, as_of=models.position() - 1) is not None
    finally:
        gov.close()
