"""Portfolio selection: greedy cut line, exact optimum and efficient frontier."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal
from importlib import resources
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.optimize import (
    InfeasibleMandatory,
    SelectionItem,
    UnfundedReason,
    _Problem,
    frontier,
    greedy,
    optimal,
)
from ops.bench import optimizer as bench

#: The golden company file as the package ships it (no checkout outside this one needed).
HARBORVIEW = resources.files("governance").joinpath("data", "harborview.json")


def an_item(
    key: str, cost: int | str | Decimal, value: int | str | Decimal, rank: int, **kw: object
) -> SelectionItem:
    return SelectionItem(key, Decimal(cost), Decimal(value), rank, **kw)  # type: ignore[arg-type]


@st.composite
def portfolios(draw: st.DrawFn, max_items: int = 15) -> tuple[list[SelectionItem], Decimal]:
    n = draw(st.integers(0, max_items))
    keys = [f"K{i:02d}" for i in range(n)]
    ranks = draw(st.permutations(range(1, n + 1)))
    items = []
    for i, key in enumerate(keys):
        requires = draw(st.lists(st.sampled_from([*keys, "ELSEWHERE", "MISSING"]), max_size=2))
        items.append(
            SelectionItem(
                key,
                Decimal(draw(st.integers(1, 20))) / draw(st.sampled_from([1, 1, 10])),
                Decimal(draw(st.sampled_from([0, 1, 2, 3, 5, 8, 13])))
                + Decimal(draw(st.integers(0, 3))) / 4,
                ranks[i],
                mandatory=draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()),
                requires=tuple(r for r in requires if r != key),
            )
        )
    return items, Decimal(draw(st.integers(0, 100)))


def brute_force(
    items: list[SelectionItem], budget: Decimal, funded: frozenset[str]
) -> tuple[str, ...] | None:
    """Best feasible subset by enumeration: max value, then min cost, then smallest ranks."""
    n = len(items)
    index = {it.key: i for i, it in enumerate(items)}
    need, blocked = [0] * n, 0
    for i, it in enumerate(items):
        for r in it.requires:
            if r in index and r not in funded:
                need[i] |= 1 << index[r]
            elif r not in funded:
                blocked |= 1 << i
    mandatory = sum(1 << i for i, it in enumerate(items) if it.mandatory)
    cost, value, needs = [0], [0], [0]  # per subset mask, built by doubling
    for i, it in enumerate(items):
        c, v, d = int(it.cost * 100), int(it.value * 100), need[i]
        cost += [x + c for x in cost]
        value += [x + v for x in value]
        needs += [x | d for x in needs]
    limit = int(budget * 100)
    feasible = [
        m
        for m in range(1 << n)
        if m & mandatory == mandatory and not m & blocked and not needs[m] & ~m and cost[m] <= limit
    ]
    if not feasible:
        return None
    top = max((value[m], -cost[m]) for m in feasible)
    tied = [m for m in feasible if (value[m], -cost[m]) == top]
    best = min(tied, key=lambda m: sorted(items[i].rank for i in range(n) if m >> i & 1))
    chosen = sorted((i for i in range(n) if best >> i & 1), key=lambda i: items[i].rank)
    return tuple(items[i].key for i in chosen)


def walk(items: list[SelectionItem], budget: Decimal) -> list[str]:
    """The documented greedy rule, for portfolios without mandatory items."""
    funded: list[str] = []
    remaining = budget
    for it in sorted(items, key=lambda it: it.rank):
        if it.value > 0 and all(r in funded for r in it.requires) and it.cost <= remaining:
            funded.append(it.key)
            remaining -= it.cost
    return funded


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios())
def test_optimal_equals_brute_force_enumeration(case: tuple[list[SelectionItem], Decimal]) -> None:
    items, budget = case
    funded = frozenset({"ELSEWHERE"})
    expected = brute_force(items, budget, funded)
    if expected is None:
        with pytest.raises(InfeasibleMandatory):
            optimal(items, budget, already_funded=funded)
        return
    result = optimal(items, budget, already_funded=funded)
    assert result.keys == expected
    chosen = [it for it in items if it.key in expected]
    assert result.total_value == sum((it.value for it in chosen), Decimal(0))
    assert result.total_cost == sum((it.cost for it in chosen), Decimal(0))
    assert result.remaining == budget - result.total_cost


@settings(max_examples=200, deadline=None)
@given(portfolios(max_items=12))
def test_optimal_is_never_worse_than_greedy(case: tuple[list[SelectionItem], Decimal]) -> None:
    items, budget = case
    plain = greedy(items, budget, already_funded=frozenset({"ELSEWHERE"}))
    if any(u.reason is UnfundedReason.MANDATORY_DOES_NOT_FIT for u in plain.unfunded):
        return  # greedy reports what optimal refuses; compared elsewhere
    if any(it.mandatory and it.key not in plain.funded for it in items):
        return
    best = optimal(items, budget, already_funded=frozenset({"ELSEWHERE"}))
    assert best.total_value >= plain.total_value
    assert plain.total_cost <= budget


@settings(max_examples=150, deadline=None)
@given(portfolios(max_items=9))
def test_extra_budget_is_the_smallest_increase_that_funds_the_item(
    case: tuple[list[SelectionItem], Decimal],
) -> None:
    items = [replace(it, mandatory=False) for it in case[0]]
    budget = case[1]
    result = greedy(items, budget)
    assert list(result.funded) == walk(items, budget)
    # the walk only changes where the budget reaches a sum of costs
    levels = {Decimal(0)}
    for it in items:
        levels |= {level + it.cost for level in levels}
    first: dict[str, Decimal] = {}
    for level in sorted(x for x in levels if x > budget):
        for key in walk(items, level):
            first.setdefault(key, level - budget)
    for miss in result.unfunded:
        assert miss.extra_budget == first.get(miss.key), miss


def test_greedy_walks_the_ranking_and_explains_every_unfunded_item() -> None:
    items = [
        an_item("I01", 50, 9, 1),
        an_item("I02", 45, 8, 2),
        an_item("I03", 5, 0, 3),
        an_item("I04", 30, 6, 4, requires=("I07",)),
        an_item("I05", 20, 4, 5),
        an_item("I06", 10, 2, 6, mandatory=True),
        an_item("I07", 60, 5, 7),
    ]
    result = greedy(items, Decimal(100))
    assert result.funded == ("I06", "I01", "I05")
    assert (result.total_cost, result.total_value, result.remaining) == (
        Decimal(80),
        Decimal(15),
        Decimal(20),
    )
    why = {u.key: u for u in result.unfunded}
    assert why["I02"].reason is UnfundedReason.DOES_NOT_FIT
    assert why["I02"].text == "does not fit the remaining $40"
    assert why["I02"].extra_budget == Decimal(5)
    assert why["I03"].reason is UnfundedReason.ZERO_VALUE
    assert why["I03"].text == "declares no customer impact"
    assert why["I03"].extra_budget is None
    assert why["I04"].reason is UnfundedReason.NEEDS_DEPENDENCY
    assert why["I04"].text == "needs I07 first"
    assert why["I04"].extra_budget is None  # I07 ranks below I04, so the walk never gets there
    assert why["I07"].extra_budget == Decimal(85)  # only once everything ranked above fits


def test_extra_budget_accounts_for_items_that_a_bigger_budget_lets_in_first() -> None:
    items = [an_item("A", 6, 6, 1), an_item("B", 5, 4, 2), an_item("C", 4, 3, 3)]
    result = greedy(items, Decimal(5))
    assert result.funded == ("B",)
    why = {u.key: u for u in result.unfunded}
    assert why["A"].extra_budget == Decimal(1)
    # not 4 (C's cost minus the $0 left): at 9 A fits and leaves 3; at 10 A then C fit
    assert why["C"].extra_budget == Decimal(5)


def test_a_mandatory_item_that_does_not_fit_is_reported_not_funded() -> None:
    items = [an_item("M1", 70, 1, 2, mandatory=True), an_item("M2", 50, 1, 1, mandatory=True)]
    result = greedy(items, Decimal(100))
    assert result.funded == ("M2",)
    (miss,) = result.unfunded
    assert miss.reason is UnfundedReason.MANDATORY_DOES_NOT_FIT
    assert miss.text == "mandatory but does not fit the remaining $50"
    assert miss.extra_budget == Decimal(20)


def test_a_dependency_funded_elsewhere_counts_and_an_unknown_one_blocks() -> None:
    items = [an_item("A", 10, 5, 1, requires=("OLD",)), an_item("B", 10, 5, 2, requires=("X",))]
    result = greedy(items, Decimal(100), already_funded=frozenset({"OLD"}))
    assert result.funded == ("A",)
    assert result.unfunded[0].text == "needs X first"
    assert optimal(items, Decimal(100), already_funded=frozenset({"OLD"})).keys == ("A",)


def test_optimal_beats_greedy_when_the_ranking_leaves_money_on_the_table() -> None:
    items = [an_item("A", 6, "6.6", 1), an_item("B", 5, 5, 2), an_item("C", 5, 5, 3)]
    assert greedy(items, Decimal(10)).total_value == Decimal("6.6")
    best = optimal(items, Decimal(10))
    assert best.keys == ("B", "C")
    assert best.total_value == 10


def test_optimal_funds_a_dependency_chain_as_a_whole() -> None:
    items = [
        an_item("APP", 2, 20, 1, requires=("PLATFORM",)),
        an_item("PLATFORM", 8, 0, 3),
        an_item("QUICK", 5, 9, 2),
    ]
    best = optimal(items, Decimal(10))
    assert best.keys == ("APP", "PLATFORM")
    assert best.total_value == 20


def test_equal_value_optima_prefer_lower_cost_then_better_ranks() -> None:
    cheaper = [an_item("A", 5, 4, 1), an_item("B", 4, 4, 2)]
    assert optimal(cheaper, Decimal(5)).keys == ("B",)
    ranked = [an_item("A", 5, 4, 2), an_item("B", 5, 4, 1)]
    assert optimal(ranked, Decimal(5)).keys == ("B",)


def test_infeasible_mandatory_items_raise() -> None:
    items = [an_item("M", 70, 1, 1, mandatory=True), an_item("N", 40, 1, 2, mandatory=True)]
    with pytest.raises(InfeasibleMandatory, match="more than the budget"):
        optimal(items, Decimal(100))
    orphan = [an_item("M", 1, 1, 1, mandatory=True, requires=("GONE",))]
    with pytest.raises(InfeasibleMandatory, match="neither listed nor already funded"):
        optimal(orphan, Decimal(100))


def test_values_with_many_digits_are_compared_exactly() -> None:
    value = Decimal("4.658823529411764705882352941")
    items = [
        an_item("A", 10, value * 2, 1),
        an_item("B", 5, value, 2),
        an_item("C", 5, value + Decimal("1E-27"), 3),
    ]
    best = optimal(items, Decimal(10))
    assert best.keys == ("B", "C")
    assert best.total_value == value * 2 + Decimal("1E-27")


@settings(max_examples=40, deadline=None)
@given(portfolios(max_items=10))
def test_frontier_is_monotone_and_ends_at_the_optimum(
    case: tuple[list[SelectionItem], Decimal],
) -> None:
    items, budget = case
    try:
        points = frontier(items, points=6, budget_max=budget)
    except InfeasibleMandatory:
        with pytest.raises(InfeasibleMandatory):
            optimal(items, budget)
        return
    assert len(points) == 6
    assert [p.budget for p in points] == sorted(p.budget for p in points)
    assert all(a.value <= b.value for a, b in pairwise(points))
    assert all(p.cost_used <= p.budget for p in points)
    assert points[-1].budget == budget
    assert points[-1].value == optimal(items, budget).total_value


def test_frontier_defaults_to_the_total_requested_cost() -> None:
    items = [an_item("A", 3, 3, 1), an_item("B", 2, 1, 2, mandatory=True), an_item("C", 5, 4, 3)]
    points = frontier(items, points=4)
    assert points[0].budget == 2 and points[0].keys == ("B",)
    assert points[-1].budget == 10 and points[-1].keys == ("A", "B", "C")


def test_harborview_greedy_funds_the_first_22_ranked_initiatives() -> None:
    assert HARBORVIEW.is_file(), f"golden data missing: {HARBORVIEW}"
    data = json.loads(HARBORVIEW.read_text())
    ranking = data["expected"]["ranking"]
    costs = {i["code"]: Decimal(i["cost_musd"]) * 1_000_000 for i in data["initiatives"]}
    items = [
        SelectionItem(code, costs[code], Decimal(data["expected"]["scores"][code]["cip"]), rank)
        for rank, code in enumerate(ranking, start=1)
    ]
    pool = Decimal(data["period"]["opex_total"]) * Decimal(data["period"]["cap_percent"]) / 100
    assert pool == 120_000_000
    result = greedy(items, pool)
    assert result.funded == tuple(ranking[:22])
    assert result.total_cost == 118_800_000
    assert {u.key for u in result.unfunded} == set(ranking[22:])
    assert optimal(items, pool).total_value >= result.total_value


def test_quick_benchmark_runs_within_the_ceiling(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick"]) == 0
    assert "ratio" in capsys.readouterr().out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios(max_items=14), st.integers(2, 9))
def test_every_frontier_point_is_the_independent_optimum_at_its_level(
    case: tuple[list[SelectionItem], Decimal], points: int
) -> None:
    """The levels share one prepared problem (cached LP blocks); each must stay exact."""
    items, budget = case
    funded = frozenset({"ELSEWHERE"})
    try:
        curve = frontier(items, points=points, budget_max=budget * 2, already_funded=funded)
    except InfeasibleMandatory:
        return
    for point in curve:
        alone = optimal(items, point.budget, already_funded=funded)
        assert (point.keys, point.value, point.cost_used) == (
            alone.keys,
            alone.total_value,
            alone.total_cost,
        )
        assert point.keys == brute_force(items, point.budget, funded)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_one_prepared_problem_answers_budgets_in_any_order(rnd: random.Random) -> None:
    """Cached roots (which units are too dear at a budget) must not leak between budgets."""
    items, _ = bench.instance(60, rnd.randrange(1000))
    total = sum((it.cost for it in items), Decimal(0))
    problem = _Problem(items, frozenset())
    mandatory = Decimal(problem.mandatory_cost).scaleb(-problem.cost_scale)  # with prerequisites
    spread = [Decimal(rnd.randint(0, 100)) / 100 for _ in range(6)]
    budgets = [mandatory + (total - mandatory) * share for share in spread]
    budgets += [it.cost * 2 + mandatory for it in rnd.sample(items, 3)]
    for raw in budgets:
        level = raw.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        assert problem.solve(level) == optimal(items, level)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 12), st.integers(0, 9)), min_size=1, max_size=8),
    st.integers(0, 80),
    st.integers(0, 80),
    st.sampled_from([1, 1, 100_000]),
)
def test_the_trimmed_knapsack_table_is_exact_on_its_residual_range(
    pairs: list[tuple[int, int]], a: int, b: int, unit: int
) -> None:
    """Every residual in [low, top] gets the best gain and the rank tie-break, by enumeration."""
    items = [
        an_item(f"K{k}", cost * unit, value, rank)
        for rank, (k, (cost, value)) in enumerate(enumerate(pairs), start=1)
    ]
    problem = _Problem(items, frozenset())
    units = sorted(range(len(problem.members)), key=problem.best_rank.__getitem__)
    low, top = sorted((a * unit, b * unit))
    lookup = problem._table(units, top, low)
    assert lookup is not None
    for residual in sorted({low, top, (low + top) // 2, low + unit, top - unit}):
        if not low <= residual <= top:
            continue
        gain, chosen = lookup(residual)
        subsets = [
            [u for k, u in enumerate(units) if mask >> k & 1] for mask in range(1 << len(units))
        ]
        fits = [s for s in subsets if sum(problem.cost[u] for u in s) <= residual]
        top_gain = max(sum(problem.w[u] for u in s) for s in fits)
        tied = [s for s in fits if sum(problem.w[u] for u in s) == top_gain]
        expected = min(tied, key=lambda s: sorted(problem.best_rank[u] for u in s))
        assert gain == top_gain
        assert sorted(chosen) == sorted(expected)


def test_the_prepared_problem_is_shared_only_for_the_very_same_items() -> None:
    items = [an_item("A", 6, 6, 1), an_item("B", 5, 5, 2), an_item("C", 5, 5, 3)]
    assert optimal(items, Decimal(10)).keys == ("B", "C")
    assert frontier(items, points=2)[-1].keys == ("A", "B", "C")  # same objects: shared
    items[1] = an_item("B", 5, 1, 2)  # the caller edits its list in place
    assert optimal(items, Decimal(10)).keys == ("A",)
    items.reverse()
    assert optimal(items, Decimal(10)).keys == ("A",)
    assert optimal(items, Decimal(10), already_funded=frozenset({"A"})).keys == ("A",)
    assert optimal([replace(it, value=Decimal(0)) for it in items], Decimal(10)).keys == ()
