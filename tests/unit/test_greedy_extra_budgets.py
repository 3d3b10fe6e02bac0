"""The extra budgets from the record search equal the interval search's, item for item."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.optimize import SelectionItem, greedy
from domain.optimize.greedy import _ExtraBudgets, _GreedyPlan
from domain.optimize.items import _exponent, _from_int, _to_int


def reference(
    items: list[SelectionItem], budget: Decimal, funded: frozenset[str]
) -> dict[str, Decimal | None]:
    """The figures as `greedy` computed them before the record search: the interval search
    for every unfunded item, in walk order, with the prefix minimum of the thresholds."""
    plan = _GreedyPlan(items, funded)
    scale = max(plan.scale, -_exponent(budget))
    plan.scale, plan.cost = scale, [_to_int(it.cost, scale) for it in items]
    budget_int = _to_int(budget, scale)
    base = plan.walk(budget_int)
    found: dict[str, Decimal | None] = {}
    prefix_min: int | None = None
    for i in plan.order:
        if not base.funded[i]:
            amount = plan.extra_budget(i, budget_int, base, prefix_min)
            found[items[i].key] = None if amount is None else _from_int(amount, scale)
        t = base.thresholds[i]
        if t is not None:
            prefix_min = t if prefix_min is None else min(prefix_min, t)
    return found


def generated(rng: random.Random, n: int) -> tuple[list[SelectionItem], Decimal]:
    """Ties in cost, zero values, mandatory items, prerequisites above and below (cycles too),
    prerequisites funded elsewhere or missing, ranks unrelated to cost."""
    keys = [f"K{i:03d}" for i in range(n)]
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    costs = [1, 2, 2, 3, 5, 5, 8, 13] if rng.random() < 0.5 else list(range(1, 40))
    items = []
    for i, key in enumerate(keys):
        requires: list[str] = []
        while rng.random() < 0.15:
            requires.append(rng.choice([*keys, "ELSEWHERE", "MISSING"]))
        items.append(
            SelectionItem(
                key,
                Decimal(rng.choice(costs)) / rng.choice([1, 1, 1, 10]),
                Decimal(0) if rng.random() < 0.08 else Decimal(rng.randint(1, 50)),
                ranks[i],
                mandatory=rng.random() < 0.05,
                requires=tuple(r for r in dict.fromkeys(requires) if r != key),
            )
        )
    total = sum((it.cost for it in items), Decimal(0))
    return items, (total * Decimal(rng.choice([0, 2, 5, 10, 30, 60])) / 100).quantize(Decimal(1))


def figures(items: list[SelectionItem], budget: Decimal) -> dict[str, Decimal | None]:
    result = greedy(items, budget, already_funded=frozenset({"ELSEWHERE"}))
    return {u.key: u.extra_budget for u in result.unfunded}


@pytest.fixture(params=["as shipped", "record search only"])
def search_limits(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """As shipped, or with limits so high that the interval search never takes over."""
    if request.param == "record search only":
        monkeypatch.setattr(_ExtraBudgets, "MAX_STEPS", 10**9)
        monkeypatch.setattr(_ExtraBudgets, "MAX_DEPTH", 10**9)


@pytest.mark.usefixtures("search_limits")
@pytest.mark.parametrize("seed", range(300))
def test_extra_budgets_equal_the_interval_search_on_generated_portfolios(seed: int) -> None:
    rng = random.Random(seed)
    items, budget = generated(rng, rng.choice([5, 12, 30, 80]))
    assert figures(items, budget) == reference(items, budget, frozenset({"ELSEWHERE"}))


def small_portfolios() -> st.SearchStrategy[tuple[list[SelectionItem], Decimal]]:
    return st.builds(generated, st.builds(random.Random, st.integers(0, 2**32)), st.integers(0, 25))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_portfolios(), st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(7)]))
def test_extra_budgets_equal_the_interval_search_for_any_budget(
    case: tuple[list[SelectionItem], Decimal], budget: Decimal
) -> None:
    items, _ = case
    assert figures(items, budget) == reference(items, budget, frozenset({"ELSEWHERE"}))


def test_the_record_search_answers_without_the_interval_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items, budget = generated(random.Random(7), 200)
    expected = reference(items, budget, frozenset({"ELSEWHERE"}))
    monkeypatch.setattr(_ExtraBudgets, "MAX_STEPS", 10**9)
    monkeypatch.setattr(_ExtraBudgets, "MAX_DEPTH", 10**9)
    calls: list[int] = []
    search = _GreedyPlan.extra_budget

    def counted(*args: object) -> int | None:
        calls.append(1)
        return search(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_GreedyPlan, "extra_budget", counted)
    assert figures(items, budget) == expected
    assert not calls
