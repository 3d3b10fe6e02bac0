"""Knock-on effects (issue 17) equal the change the decision really makes.

On generated portfolios (seeded: costs, impacts, dependencies, a guardrail on some seeds),
a walk of random decisions: before each one the knock-on is computed from the read models,
then the decision is taken in memory through the application (the second approval too, when
the first is above the four-eyes threshold), and the recommendation after it is compared with
what the knock-on said. A decision the knock-on calls refused must be refused, writing nothing.
The optimum at a budget equals the recommendation's frontier point at the same spendable
amount."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

import pytest

from domain.errors import CxgovError
from domain.policy import Guardrail, PolicyTerms
from governance.bootstrap import Runtime, bootstrap
from projections.knockon import (
    KnockOn,
    budget_bounds,
    guardrails_of,
    knock_on,
    optimum_at,
)
from projections.rows import Recommendation
from projections.snapshot import Snapshot
from tests.api.conftest import harborview_runtime, memory_settings
from tests.builders import CX_CHIEF, CX_DEPUTY, INS_OWNER, RB_OWNER, World

OUTCOMES = ("approve", "reject", "defer")


def generated(seed: int) -> Runtime:
    """A period of 9 to 14 initiatives asking more than the $100M pool."""
    rng = random.Random(seed)
    runtime = bootstrap(memory_settings())
    world = World(runtime.app)
    if seed % 3 == 0:  # a guardrail: Insurance takes at most 20% of the pool
        runtime.app.adopt_policy(CX_CHIEF, terms=PolicyTerms(
            weights={"M1": 60, "M2": 40}, four_eyes_threshold=Decimal(10_000_000),
            guardrails=(Guardrail("pnl", "INS", max_share=Decimal("0.2")),)),
            rationale="guarded")
    codes: list[str] = []
    for n in range(rng.randint(9, 14)):
        code = f"G{n:02d}"
        requires = (rng.choice(codes),) if codes and rng.random() < 0.2 else ()
        owner, pnl = (RB_OWNER, "RB") if rng.random() < 0.6 else (INS_OWNER, "INS")
        world.submit(code, by=owner, pnl=pnl, title=f"Generated {code}",
                     cost_m=str(Decimal(rng.randint(10, 180)) / 10),
                     confidence=rng.choice(("0.5", "0.8", "1.0")),
                     impacts=(("M1", str(rng.randint(30, 110)), str(rng.randint(1, 9) / 10)),
                              ("M2", str(rng.randint(70, 84)), str(rng.randint(1, 9) / 10))),
                     dependencies=requires, scenario=None)
        codes.append(code)
    return runtime


def above(rec: Recommendation, snapshot: Snapshot) -> set[str]:
    """Funded or recommended: what the cut line's label counts."""
    funded = {r.code for r in snapshot.ranking(rec.period) if r.funded and r.code}
    return funded | {k for k in rec.greedy.keys if k}


def predicted(snapshot: Snapshot, code: str, outcome: str) -> KnockOn:
    policy = snapshot.policy()
    assert policy is not None
    ledger = snapshot.ledger(World.period)
    assert ledger is not None
    return knock_on(snapshot.ranking(World.period), ledger, code=code,
                    outcome=outcome,  # type: ignore[arg-type]
                    guardrails=guardrails_of(policy),
                    four_eyes=Decimal(policy.terms.four_eyes_threshold))


def recommendation(snapshot: Snapshot) -> Recommendation:
    found = snapshot.recommendation(World.period, unfunded_limit=0)
    assert found is not None
    return found


@pytest.mark.parametrize("seed", range(8))
def test_the_knock_on_equals_the_change_the_decision_makes(seed: int) -> None:
    runtime = generated(seed)
    gov, rng = runtime.app, random.Random(1000 + seed)
    checked = refused = 0
    try:
        for _ in range(10):
            snap = runtime.read_models().snapshot()
            undecided = [r for r in snap.ranking(World.period)
                         if r.status in ("submitted", "deferred") and r.code]
            if not undecided:
                break
            row = rng.choice(undecided)
            outcome = rng.choices(OUTCOMES, weights=(5, 4, 1))[0]  # defer moves nothing
            said = predicted(snap, row.code or "", outcome)
            before = recommendation(snap)
            position = gov.position()
            if said.effect == "refused":
                with pytest.raises(CxgovError):
                    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id(World.period, said.code),
                               outcome=outcome, rationale="generated")
                assert gov.position() == position
                refused += 1
                continue
            gov.decide(CX_CHIEF, initiative_id=gov.initiative_id(World.period, said.code),
                       outcome=outcome, rationale="generated")
            if said.effect == "at_second_approval":
                pending = runtime.read_models().snapshot()
                assert recommendation(pending).greedy == before.greedy  # nothing moved yet
                gov.decide(CX_DEPUTY, initiative_id=gov.initiative_id(World.period, said.code),
                           outcome=outcome, rationale="generated")
            snap_after = runtime.read_models().snapshot()
            after = recommendation(snap_after)
            was, now = above(before, snap), above(after, snap_after)
            assert {m.code for m in said.moved_in} == now - was - {said.code}
            assert {m.code for m in said.moved_out} == was - now - {said.code}
            ledger = snap_after.ledger(World.period)
            assert ledger is not None
            assert Decimal(said.available_after) == Decimal(ledger.available)
            assert Decimal(said.committed_after) == Decimal(ledger.net_committed)
            assert Decimal(said.committed_before) + Decimal(said.available_before) == (
                Decimal(ledger.amount))  # the ledger page's sum: pool = committed + available
            assert Decimal(said.greedy_value_after) == Decimal(after.greedy.total_value)
            if after.optimal is None:
                assert said.optimum_after is None
            else:
                assert said.optimum_after is not None
                assert said.optimum_after.keys == after.optimal.keys
                assert Decimal(said.optimum_after.total_value) == Decimal(
                    after.optimal.total_value)
            place = {"approve": "funded", "reject": "out"}.get(
                outcome, "recommended" if said.code in after.greedy.keys else "below")
            assert said.place_after == place
            checked += 1
    finally:
        runtime.close()
    assert checked + refused >= 3


@pytest.fixture(scope="module")
def harborview() -> Iterator[Runtime]:
    runtime = harborview_runtime()
    yield runtime
    runtime.close()


def test_approving_i03_moves_i20_below_the_line(harborview: Runtime) -> None:
    """The issue's own example, on the demo company as imported."""
    said = predicted(harborview.read_models().snapshot(), "I03", "approve")
    assert said.effect == "now" and said.departure
    assert [m.code for m in said.moved_out] == ["I20"]
    assert said.place_before == "below" and said.place_after == "funded"
    assert Decimal(said.available_after) == Decimal(said.available_before) - 4_000_000


def test_a_first_approval_above_four_eyes_says_when_it_takes_effect(
        harborview: Runtime) -> None:
    said = predicted(harborview.read_models().snapshot(), "I19", "approve")  # $14M > $10M
    assert said.effect == "at_second_approval"


def test_deferring_moves_nothing_and_the_shown_codes_are_blanked(harborview: Runtime) -> None:
    snap = harborview.read_models().snapshot()
    assert predicted(snap, "I20", "defer").effect == "none"
    ledger = snap.ledger("FY2027")
    assert ledger is not None
    said = knock_on(snap.ranking("FY2027"), ledger, code="I20", outcome="reject",
                    shown={"I20", "I03"})
    assert [(m.code, m.title) for m in said.moved_in][1:] == [(None, None), (None, None)]
    assert said.moved_in[0].code == "I03"


@pytest.mark.parametrize("seed", range(4))
def test_the_optimum_at_a_budget_is_the_frontier_point_there(seed: int) -> None:
    runtime = generated(seed)
    try:
        snap = runtime.read_models().snapshot()
        ledger, rec = snap.ledger(World.period), recommendation(snap)
        policy = snap.policy()
        assert ledger is not None and rec.optimal is not None
        rows = snap.ranking(World.period)
        low, high = budget_bounds(rows, ledger)
        for point in rec.frontier[::4]:
            found = optimum_at(rows, ledger, low + Decimal(point.budget),
                               guardrails=guardrails_of(policy))
            assert found.optimum is not None
            assert found.optimum.keys == point.keys
            assert Decimal(found.optimum.total_value) == Decimal(point.value)
        whole = optimum_at(rows, ledger, Decimal(ledger.amount),
                           guardrails=guardrails_of(policy))
        assert whole.optimum is not None and whole.optimum.keys == rec.optimal.keys
        assert set(whole.added) == set(rec.optimal.keys) - set(rec.greedy.keys)
        with pytest.raises(ValueError, match="outside"):
            optimum_at(rows, ledger, high + 1)
    finally:
        runtime.close()


def test_an_approval_the_pool_cannot_pay_is_refused_in_plain_words(harborview: Runtime) -> None:
    snap = harborview.read_models().snapshot()
    ledger = snap.ledger("FY2027")
    assert ledger is not None
    poor = ledger.model_copy(update={"available": "5000000"})
    said = knock_on(snap.ranking("FY2027"), poor, code="I19", outcome="approve")
    assert said.effect == "refused" and said.moved_in == said.moved_out == []
    assert said.refusal == ("I19 costs $14,000,000, more than the $5,000,000 available: the "
                            "pool is never overspent")
