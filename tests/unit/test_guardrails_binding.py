"""Guardrails that bind, and guardrail sets that cannot be met, against HiGHS (issue 16).

Seeded instances (12-28 items, dependencies, a few mandates) where a minimum share forces in
low-value work (its group's values are scaled down) and a maximum share cuts the P&L that the
unguarded optimum favours: the unguarded optimum breaks a guardrail (so they bind), and our
optimum equals HiGHS's (`highspy`, model in ops/bench/guardrails.py) and is feasible in exact
Decimal arithmetic. Sets that no selection meets are refused with `InfeasibleGuardrails`
naming the guardrails in conflict, exactly when HiGHS proves the model infeasible.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from domain.optimize import GroupLimit, InfeasibleGuardrails, SelectionItem, optimal

highspy = pytest.importorskip("highspy")
from ops.bench.guardrails import highs_optimum  # noqa: E402
from tests.unit.test_guardrails_highs import _feasible  # noqa: E402

SEEDS = range(60)


def _items(rng: random.Random, n: int, low: frozenset[int]) -> list[SelectionItem]:
    items = []
    for k in range(n):
        requires: tuple[str, ...] = ()
        if k and rng.random() < 0.1:
            requires = (f"I{rng.randrange(k):02d}",)
        value = Decimal(rng.randint(0, 9000)) / 100
        if k in low:  # the cross-P&L work: low value per cost
            value = (value / 20).quantize(Decimal("0.01"))
        items.append(
            SelectionItem(
                f"I{k:02d}",
                Decimal(rng.randint(1, 40) * 25_000),
                value,
                k + 1,
                mandatory=rng.random() < 0.02,
                requires=requires,
            )
        )
    return items


def binding_instance(seed: int) -> tuple[list[SelectionItem], Decimal, list[GroupLimit]]:
    rng = random.Random(1000 + seed)
    n = rng.randint(12, 28)
    cross = frozenset(k for k in range(n) if rng.random() < 0.3)
    items = _items(rng, n, cross)
    total = sum((it.cost for it in items), Decimal(0))
    budget = (total * Decimal(rng.uniform(0.2, 0.5))).quantize(Decimal(25_000))
    plain = optimal(items, budget)
    pnl = {it.key: rng.choice("wxyz") for it in items}
    spend = {
        p: sum((it.cost for it in items if it.key in plain.keys and pnl[it.key] == p), Decimal(0))
        for p in "wxyz"
    }
    favoured = max("wxyz", key=spend.__getitem__)
    limits = [
        GroupLimit(
            "kind cross_pnl",
            frozenset(items[k].key for k in cross),
            minimum=budget * rng.randint(15, 35) / 100,
        ),
        GroupLimit(
            f"pnl {favoured}",
            frozenset(k for k, p in pnl.items() if p == favoured),
            maximum=(spend[favoured] * Decimal(rng.uniform(0.4, 0.8))).quantize(Decimal(1)),
        ),
    ]
    if rng.random() < 0.5:
        other = rng.choice([p for p in "wxyz" if p != favoured])
        limits.append(
            GroupLimit(
                f"pnl {other}",
                frozenset(k for k, p in pnl.items() if p == other),
                minimum=budget * rng.randint(5, 15) / 100,
                maximum=budget * rng.randint(30, 50) / 100,
            )
        )
    return items, budget, limits


def test_binding_guardrails_give_highs_optimum_on_60_instances() -> None:
    compared = binding = 0
    for seed in SEEDS:
        items, budget, limits = binding_instance(seed)
        expected, _ = highs_optimum(items, budget, limits)
        plain = optimal(items, budget)
        binding += not _feasible(items, budget, limits, plain.keys)
        if expected is None:
            with pytest.raises(InfeasibleGuardrails):
                optimal(items, budget, guardrails=limits)
            continue
        ours = optimal(items, budget, guardrails=limits)
        assert abs(ours.total_value - expected) <= Decimal("1e-6"), seed
        assert _feasible(items, budget, limits, ours.keys), seed
        assert ours.total_value <= plain.total_value
        compared += 1
    assert compared >= 50 and binding >= 50  # the guardrails bind on nearly every instance


def _flat(n: int) -> list[SelectionItem]:
    return [SelectionItem(f"I{k}", Decimal(100), Decimal(10 + k), k + 1) for k in range(n)]


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        # two minimums on disjoint groups that together pass the budget
        (
            [
                GroupLimit("kind cross_pnl", frozenset({"I0", "I1", "I2"}), minimum=Decimal(300)),
                GroupLimit("pnl retail", frozenset({"I3", "I4", "I5"}), minimum=Decimal(300)),
            ],
            ("kind cross_pnl", "pnl retail"),
        ),
        # a minimum inside a group whose maximum is lower
        (
            [
                GroupLimit("kind infrastructure", frozenset({"I0", "I1"}), minimum=Decimal(200)),
                GroupLimit("pnl retail", frozenset({"I0", "I1", "I6"}), maximum=Decimal(100)),
            ],
            ("kind infrastructure", "pnl retail"),
        ),
        # a minimum the whole budget cannot reach
        (
            [
                GroupLimit(
                    "kind cross_pnl",
                    frozenset({"I0", "I1", "I2", "I3", "I4", "I5", "I6"}),
                    minimum=Decimal(600),
                )
            ],
            ("kind cross_pnl",),
        ),
        # a band whose steps skip it: members cost 100 each, the band is 150..199
        (
            [
                GroupLimit(
                    "pnl digital",
                    frozenset({"I2", "I3"}),
                    minimum=Decimal(150),
                    maximum=Decimal(199),
                )
            ],
            ("pnl digital",),
        ),
    ],
)
def test_guardrails_no_selection_meets_are_refused_naming_the_conflict(
    limits: list[GroupLimit], named: tuple[str, ...]
) -> None:
    items, budget = _flat(8), Decimal(500)
    assert highs_optimum(items, budget, limits)[0] is None
    with pytest.raises(InfeasibleGuardrails) as refused:
        optimal(items, budget, guardrails=limits)
    assert refused.value.guardrails == named
    for name in named:
        assert name in str(refused.value)


def test_minimum_that_forces_in_zero_value_work_is_met_exactly() -> None:
    items = [
        *_flat(6),
        SelectionItem("Z0", Decimal(50), Decimal(0), 7),
        SelectionItem("Z1", Decimal(150), Decimal(0), 8),
    ]
    limit = GroupLimit("kind cross_pnl", frozenset({"Z0", "Z1"}), minimum=Decimal(150))
    ours = optimal(items, Decimal(500), guardrails=[limit])
    expected, _ = highs_optimum(items, Decimal(500), [limit])
    assert ours.total_value == expected
    assert "Z1" in ours.keys and ours.total_cost <= Decimal(500)
