"""The port's core model (decision 190): HiGHS is asked only what our root leaves open.

The root of our guarded search fixes units in or out by reduced costs; the solver then sees the
open units only, with the fixed-in units netted out of the budget and the rows. That is exact
only if every optimum keeps every fixing. Checked here directly, unit by unit: forcing a fixed
unit the other way (its items made mandatory, or removed with what needs them) gives a strictly
worse optimum (lower value, or equal value at a higher cost), or none at all. The twin instances
are the ones where fixing would be wrong: every item has an identical twin, so a chosen item and
its unchosen twin can swap without changing value or cost; such units must stay open, and they
do. On larger binding instances the core is much smaller than the problem and the port's answer
equals the independent HiGHS model's optimum on every item.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.optimize import (
    GroupLimit,
    InfeasibleGuardrails,
    InfeasibleMandatory,
    SelectionItem,
    frontier,
    guarded,
    optimal,
)
from domain.optimize.exact import _prepared
from domain.optimize.guard import GuardedModel

pytest.importorskip("highspy")
from ops.bench.guardrails import binding_for, highs_optimum
from ops.bench.optimizer import instance
from projections.highs import highs_solver
from tests.unit.test_guardrails_binding import binding_instance
from tests.unit.test_guardrails_highs import _feasible
from tests.unit.test_guardrails_port import Spy

_Instance = tuple[list[SelectionItem], Decimal, list[GroupLimit]]


def _twins(seed: int) -> _Instance:
    """`binding_instance(seed)` with an identical twin (same cost, value and guardrail groups,
    ranked after every original) of up to three items its optimum chooses that no other item
    needs and that need none: each pair can swap at equal value and cost."""
    items, budget, limits = binding_instance(seed)
    try:
        chosen = set(optimal(items, budget, guardrails=limits).keys)
    except InfeasibleGuardrails:
        return items, budget, limits  # no optimum to twin
    needed = {r for it in items for r in it.requires}
    twinned = [
        it
        for it in items
        if it.key in chosen and not it.mandatory and not it.requires and it.key not in needed
    ][:3]
    n = len(items)
    twins = [SelectionItem(f"{it.key}t", it.cost, it.value, it.rank + n) for it in twinned]
    doubled = [
        GroupLimit(
            g.name,
            g.keys | {f"{it.key}t" for it in twinned if it.key in g.keys},
            g.minimum,
            g.maximum,
        )
        for g in limits
    ]
    return [*items, *twins], budget, doubled


def _key(
    items: list[SelectionItem], budget: Decimal, limits: list[GroupLimit]
) -> tuple[Decimal, Decimal] | None:
    """The optimum's (value, -cost) by our own search alone, or None when nothing is feasible."""
    try:
        result = optimal(items, budget, guardrails=limits)
    except (InfeasibleGuardrails, InfeasibleMandatory):
        return None
    return (result.total_value, -result.total_cost)


def _forced(items: list[SelectionItem], keys: set[str], sign: int) -> list[SelectionItem]:
    """The items with `keys` made mandatory (sign 1) or removed (sign -1)."""
    if sign < 0:
        return [it for it in items if it.key not in keys]
    return [
        SelectionItem(it.key, it.cost, it.value, it.rank, True, it.requires)
        if it.key in keys
        else it
        for it in items
    ]


def _core(
    items: list[SelectionItem], budget: Decimal, limits: list[GroupLimit]
) -> GuardedModel | None:
    """The model our root hands the solver, or None when the solver is not asked."""
    spy = Spy(lambda model: None)
    try:
        optimal(items, budget, guardrails=limits, solver=spy)
    except InfeasibleGuardrails:
        return None
    return spy.models[0] if spy.models else None


def _check_fixings(inst: _Instance) -> GuardedModel | None:
    """Assert every root fixing holds in every optimum; the model the solver was asked."""
    items, budget, limits = inst
    model = _core(items, budget, limits)
    if model is None:
        return None
    problem = _prepared(items, frozenset())
    best = _key(items, budget, limits)
    assert best is not None
    open_units = set(model.units)
    for u in range(len(problem.members)):
        if u in open_units:
            continue
        keys = {items[i].key for i in problem.members[u]}
        sign = -1 if u in model.fixed else 1  # force it the other way
        other = _key(_forced(items, keys, sign), budget, limits)
        assert other is None or other < best, (u, sign, other, best)
    return model


def _fixed(model: GuardedModel | None, units: int) -> int:
    return 0 if model is None else units - len(model.units)


def test_every_root_fixing_holds_in_every_optimum() -> None:
    checked = 0
    for seed in range(0, 60, 3):
        items, budget, limits = binding_instance(seed)
        model = _check_fixings((items, budget, limits))
        if model is not None:
            checked += len(model.fixed) + sum(
                1 for u in range(len(model.cost)) if u not in model.units and u not in model.fixed
            )
    assert checked >= 80


def test_units_with_an_equal_alternative_are_never_fixed() -> None:
    """Twins: a chosen item and its unchosen twin swap at equal value and cost, so fixing
    either would drop an optimum; the other fixings still hold and both twins stay open."""
    ties = 0
    for seed in range(0, 60, 6):
        items, budget, limits = _twins(seed)
        model = _check_fixings((items, budget, limits))
        if model is None:
            continue
        problem = _prepared(items, frozenset())
        unit = {items[m[0]].key: u for u, m in enumerate(problem.members) if len(m) == 1}
        best = _key(items, budget, limits)
        chosen = set(optimal(items, budget, guardrails=limits).keys)
        for it in items:
            original = it.key[:-1]
            if not it.key.endswith("t") or (original in chosen) == (it.key in chosen):
                continue  # both in or both out: no swap keeps the optimum
            out = original if original in chosen else it.key
            assert _key(_forced(items, {out}, -1), budget, limits) == best  # an equal optimum
            assert unit[original] in model.units and unit[it.key] in model.units
            ties += 1
    assert ties >= 5


@pytest.mark.parametrize(("n", "seed"), [(300, 7), (600, 8), (1000, 7), (1000, 11)])
def test_the_core_is_small_and_its_optimum_is_highs_on_every_item(
    n: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, budget = instance(n, seed)
    limits = binding_for(items, budget, seed)
    solved: list[int] = []
    solve = guarded._Guarded.solve

    def counting(self: guarded._Guarded) -> None:
        solved.append(1)
        solve(self)

    monkeypatch.setattr(guarded._Guarded, "solve", counting)
    adapter = highs_solver()
    assert adapter is not None
    spy = Spy(adapter)
    port = optimal(items, budget, guardrails=limits, solver=spy)
    assert spy.calls == 1 and len(solved) == 1  # asked once, its answer used
    model = spy.models[0]
    assert 3 * len(model.units) < len(items)  # the root fixed most units in or out
    expected, _ = highs_optimum(items, budget, limits)
    assert expected is not None
    assert abs(port.total_value - expected) <= Decimal("1e-6")
    assert _feasible(items, budget, limits, port.keys)


def test_a_tie_the_bound_meets_exactly_is_left_open() -> None:
    """Equal costs make the Lagrangian bound tight (155, the optimum): C and its twin Ct tie
    for the last place, so the bound of either setting of each equals the incumbent and a
    fixing on "not better than the incumbent" (<= instead of <) would fix one of them and drop
    an optimum. The root fixes everything else and leaves exactly the twins open."""
    values = {"A": 50, "B": 40, "C": 30, "Ct": 30, "G": 25, "D": 20, "E": 15, "F": 10, "H": 5}
    items = [
        SelectionItem(k, Decimal(100), Decimal(v), r + 1) for r, (k, v) in enumerate(values.items())
    ]
    limits = [GroupLimit("kind cross_pnl", frozenset({"D", "E", "F"}), minimum=Decimal(200))]
    budget = Decimal(500)
    model = _check_fixings((items, budget, limits))
    assert model is not None
    problem = _prepared(items, frozenset())
    key = {u: items[m[0]].key for u, m in enumerate(problem.members)}
    assert {key[u] for u in model.units} == {"C", "Ct"}
    assert {key[u] for u in model.fixed} == {"A", "B", "D", "E"}
    adapter = highs_solver()
    assert adapter is not None
    port = optimal(items, budget, guardrails=limits, solver=adapter)
    assert port.total_value == highs_optimum(items, budget, limits)[0] == Decimal(155)
    assert port.total_cost == budget and _feasible(items, budget, limits, port.keys)


def _band(minimum: int, maximum: int) -> tuple[list[SelectionItem], list[GroupLimit]]:
    items = [
        SelectionItem("A", Decimal(500), Decimal(40), 1),
        SelectionItem("B", Decimal(700), Decimal(30), 2),
        SelectionItem("C", Decimal(400), Decimal(90), 3),
        SelectionItem("D", Decimal(300), Decimal(10), 4),
    ]
    band = GroupLimit("pnl digital", frozenset({"A", "B"}), Decimal(minimum), Decimal(maximum))
    return items, [band]


def test_a_band_no_subset_of_its_members_spends_in_is_refused_at_once() -> None:
    """Members cost 500 and 700: 600-650 lies between their subset sums (0, 500, 700, 1,200)
    though the gcd steps allow 600 (decision 193); 1,100-1,300 holds 1,200 and is met."""
    items, limits = _band(600, 650)
    assert highs_optimum(items, Decimal(2000), limits)[0] is None
    with pytest.raises(InfeasibleGuardrails) as refused:
        optimal(items, Decimal(2000), guardrails=limits)
    assert refused.value.guardrails == ("pnl digital",)
    assert "no combination of the candidates in it" in str(refused.value)
    items, limits = _band(1100, 1300)
    met = optimal(items, Decimal(2000), guardrails=limits)
    assert met.total_value == highs_optimum(items, Decimal(2000), limits)[0]
    assert {"A", "B"} <= set(met.keys)


def test_a_frontier_whose_band_is_never_met_is_empty_without_a_search() -> None:
    """`binding_for` on 30 bench items: every digital item costs more than the digital band's
    top, so no level meets it; before decision 193 each level's search took minutes to prove
    it (HiGHS says infeasible, which is not checked, so not trusted)."""
    items, budget = instance(30, 7)
    limits = binding_for(items, budget, 7)
    for level in (budget, budget * 8):
        assert highs_optimum(items, level, limits)[0] is None
        with pytest.raises(InfeasibleGuardrails) as refused:
            optimal(items, level, guardrails=limits, solver=highs_solver())
        assert refused.value.guardrails == ("pnl digital",)
    assert frontier(items, points=20, guardrails=limits, solver=highs_solver()) == []
