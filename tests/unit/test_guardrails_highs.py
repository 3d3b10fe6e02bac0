"""The exact optimum under up to three guardrails equals HiGHS's on 300 seeded instances.

HiGHS (`highspy`) is the independent MILP solver (model: ops/bench/guardrails.py
`highs_optimum`). Every instance: our optimum's value equals HiGHS's, our selection meets the
budget, every guardrail and every dependency in exact Decimal arithmetic, and an instance HiGHS
proves infeasible is refused by us with `InfeasibleGuardrails` (and only such an instance).
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from domain.optimize import (
    GroupLimit,
    InfeasibleGuardrails,
    InfeasibleMandatory,
    SelectionItem,
    frontier,
    greedy,
    optimal,
)

highspy = pytest.importorskip("highspy")
from ops.bench.guardrails import highs_optimum  # noqa: E402

SEEDS = range(300)


def instance(seed: int) -> tuple[list[SelectionItem], Decimal, list[GroupLimit]]:
    """6-20 items labelled by kind (3) and P&L (4); 1-3 guardrails on kinds or P&Ls, a
    minimum, a maximum or a band, as shares of the budget; dependencies and a few mandates."""
    rng = random.Random(seed)
    n = rng.randint(6, 20)
    items = []
    for k in range(n):
        requires: tuple[str, ...] = ()
        if k and rng.random() < 0.12:
            requires = (f"I{rng.randrange(n):02d}",)
            if requires == (f"I{k:02d}",):
                requires = ()
        value = Decimal(0) if rng.random() < 0.05 else Decimal(rng.randint(0, 9000)) / 100
        items.append(SelectionItem(f"I{k:02d}", Decimal(rng.randint(1, 60) * 50_000), value,
                                   k + 1, mandatory=rng.random() < 0.03, requires=requires))
    kind = {it.key: rng.choice("abc") for it in items}
    pnl = {it.key: rng.choice("wxyz") for it in items}
    total = sum((it.cost for it in items), Decimal(0))
    budget = (total * Decimal(rng.uniform(0.2, 0.7))).quantize(Decimal(10_000))
    limits = []
    for g in range(rng.randint(1, 3)):
        dimension = rng.choice(("kind", "pnl"))
        labels = kind if dimension == "kind" else pnl
        label = rng.choice(sorted(set(labels.values())))
        keys = frozenset(k for k, v in labels.items() if v == label)
        t = rng.random()
        lo = budget * rng.randint(5, 40) / 100 if t < 0.6 else None
        hi = budget * rng.randint(20, 60) / 100 if t > 0.3 else None
        if lo is not None and hi is not None and hi < lo:
            lo, hi = hi, lo
        limits.append(GroupLimit(f"{dimension} {label} #{g}", keys, lo, hi))
    return items, budget, limits


def _feasible(items: list[SelectionItem], budget: Decimal, limits: list[GroupLimit],
              keys: tuple[str, ...]) -> bool:
    chosen = set(keys)
    by_key = {it.key: it for it in items}
    if sum((by_key[k].cost for k in chosen), Decimal(0)) > budget:
        return False
    if any(req not in chosen for k in chosen for req in by_key[k].requires):
        return False
    if any(it.mandatory and it.key not in chosen for it in items):
        return False
    for g in limits:
        spend = sum((by_key[k].cost for k in chosen if k in g.keys), Decimal(0))
        if (g.minimum is not None and spend < g.minimum) or (
            g.maximum is not None and spend > g.maximum
        ):
            return False
    return True


def test_exact_optimum_under_guardrails_equals_highs_on_300_instances() -> None:
    compared = refused = 0
    for seed in SEEDS:
        items, budget, limits = instance(seed)
        expected, _ = highs_optimum(items, budget, limits)
        try:
            ours = optimal(items, budget, guardrails=limits)
        except InfeasibleMandatory:
            assert expected is None, seed
            refused += 1
            continue
        except InfeasibleGuardrails as exc:
            assert expected is None, (seed, str(exc))
            assert exc.guardrails and set(exc.guardrails) <= {g.name for g in limits}
            refused += 1
            continue
        assert expected is not None, seed
        assert abs(ours.total_value - expected) <= Decimal("1e-6"), seed
        assert _feasible(items, budget, limits, ours.keys), seed
        compared += 1
    assert compared > 200 and refused > 10  # both kinds of instance are exercised


def test_no_guardrails_is_the_unguarded_optimum() -> None:
    items, budget, _ = instance(3)
    assert optimal(items, budget) == optimal(items, budget, guardrails=())


def test_infeasible_set_is_refused_naming_the_conflict() -> None:
    items = [SelectionItem(f"I{k}", Decimal(100), Decimal(k + 1), k + 1) for k in range(6)]
    group = frozenset({"I0", "I1"})
    with pytest.raises(InfeasibleGuardrails) as exc:  # a minimum its group cannot reach
        optimal(items, Decimal(600), guardrails=[GroupLimit("kind cross_pnl", group,
                                                            minimum=Decimal(300))])
    assert exc.value.guardrails == ("kind cross_pnl",)
    assert "cannot be reached" in str(exc.value)
    with pytest.raises(InfeasibleGuardrails) as exc:  # a minimum above another's maximum
        optimal(items, Decimal(600), guardrails=[
            GroupLimit("kind cross_pnl", group, minimum=Decimal(200)),
            GroupLimit("pnl retail", group | {"I2"}, maximum=Decimal(100)),
        ])
    assert exc.value.guardrails == ("kind cross_pnl", "pnl retail")


def test_greedy_meets_minimums_first_then_walks_under_maximums() -> None:
    # ranks follow the key; I4 and I5 are the group that needs a minimum of 200
    items = [SelectionItem(f"I{k}", Decimal(100), Decimal(10 - k), k + 1) for k in range(6)]
    cross = GroupLimit("kind cross_pnl", frozenset({"I4", "I5"}), minimum=Decimal(200))
    cap = GroupLimit("pnl retail", frozenset({"I0", "I1"}), maximum=Decimal(100))
    result = greedy(items, Decimal(400), guardrails=[cross, cap])
    assert result.funded == ("I0", "I2", "I4", "I5")
    assert result.unmet == ()
    reasons = {u.key: u.reason for u in result.unfunded}
    assert str(reasons["I1"]) == "above_guardrail"
    assert str(reasons["I3"]) == "does_not_fit"
    short = greedy(items, Decimal(100), guardrails=[cross])
    assert short.unmet == ("kind cross_pnl",)


def test_frontier_honours_guardrails_and_leaves_out_infeasible_levels() -> None:
    items, budget, limits = instance(5)
    points = frontier(items, points=6, budget_max=budget, guardrails=limits)
    for p in points:
        best = optimal(items, p.budget, guardrails=limits)
        assert p.value == best.total_value
        assert _feasible(items, p.budget, limits, p.keys)
