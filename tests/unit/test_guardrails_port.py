"""The MILP port of the guarded optimum (decision 158): HiGHS answers a long search, checked.

On the binding instances of `test_guardrails_binding` with the node limit at 0 (the solver is
asked once our root is settled, the core it leaves open: decision 190), the HiGHS adapter's
checked answer has our own search's optimum (value and cost); on a larger binding instance
the adapter's answer is used (our search runs once, not again) and equals the independent
HiGHS model's optimum. Fake solvers whose answers break a guardrail, the budget, a
dependency, or fall below our incumbent are refused and our search gives its own optimum.
The oracle tests (`test_guardrails_highs`, `test_guardrails_binding`) keep calling `optimal`
without a solver, so they still compare our search with HiGHS.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from decimal import Decimal

import pytest

from domain.optimize import GroupLimit, InfeasibleGuardrails, frontier, guard, guarded, optimal
from domain.optimize.guard import GuardedModel, MilpSolver

pytest.importorskip("highspy")
from ops.bench.guardrails import binding_for, highs_optimum
from ops.bench.optimizer import instance
from projections.highs import highs_solver
from tests.unit.test_guardrails_binding import binding_instance
from tests.unit.test_guardrails_highs import _feasible


class Spy:
    """A solver that records its calls and answers with `answer(model)`."""

    def __init__(self, answer: MilpSolver) -> None:
        self.answer, self.calls = answer, 0
        self.models: list[GuardedModel] = []

    def __call__(self, model: GuardedModel) -> Collection[int] | None:
        self.calls += 1
        self.models.append(model)
        return self.answer(model)


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts our guarded searches (`_Guarded.solve` calls) per `optimal` call."""
    counted: list[int] = []
    solve = guarded._Guarded.solve

    def counting(self: guarded._Guarded) -> None:
        counted.append(1)
        solve(self)

    monkeypatch.setattr(guarded._Guarded, "solve", counting)
    return counted


def _highs() -> MilpSolver:
    solver = highs_solver()
    assert solver is not None
    return solver


def test_the_port_gives_our_optimum_on_binding_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "NODE_LIMIT", 0)
    spy = Spy(_highs())
    compared = 0
    for seed in range(40):
        items, budget, limits = binding_instance(seed)
        try:
            ours = optimal(items, budget, guardrails=limits)
        except InfeasibleGuardrails:
            with pytest.raises(InfeasibleGuardrails):
                optimal(items, budget, guardrails=limits, solver=spy)
            continue
        port = optimal(items, budget, guardrails=limits, solver=spy)
        assert (port.total_value, port.total_cost) == (ours.total_value, ours.total_cost), seed
        assert _feasible(items, budget, limits, port.keys), seed
        compared += 1
    assert compared >= 30
    assert spy.calls >= 30  # the solver answered (the shortcut skips it when nothing binds)


def test_the_adapters_checked_answer_is_used_on_a_large_binding_instance(
    searches: list[int],
) -> None:
    items, budget = instance(600, 7)
    limits = binding_for(items, budget, 7)
    spy = Spy(_highs())
    port = optimal(items, budget, guardrails=limits, solver=spy)
    assert spy.calls == 1
    assert len(searches) == 1  # our search stopped at the node limit and did not run again
    expected, _ = highs_optimum(items, budget, limits)
    assert expected is not None
    assert abs(port.total_value - expected) <= Decimal("1e-6")
    assert _feasible(items, budget, limits, port.keys)


def _breaking(model: GuardedModel) -> list[int]:
    """Every open unit that fits under the budget in order: a maximum is broken."""
    chosen, used = [], 0
    for u in model.units:
        if used + model.cost[u] <= model.cap and all(q in chosen for q in model.prereqs[u]):
            chosen.append(u)
            used += model.cost[u]
    return chosen


def _over_budget(model: GuardedModel) -> list[int]:
    return list(model.units)


def _open_pairs(model: GuardedModel) -> list[tuple[int, int]]:
    """(unit, prerequisite) pairs both open in the model: the only way to leave one out."""
    open_units = set(model.units)
    return [(u, q) for u in model.units for q in model.prereqs[u] if q in open_units]


def _missing_prerequisite(model: GuardedModel) -> list[int]:
    answer = _highs()(model)
    assert answer is not None
    pairs = _open_pairs(model)
    assert pairs
    u, q = pairs[0]
    return sorted((set(answer) | {u}) - {q})


def _empty(model: GuardedModel) -> list[int]:
    return []  # meets no minimum, and worse than any incumbent


def _no_answer(model: GuardedModel) -> None:
    return None


@pytest.mark.parametrize(
    "answer", [_breaking, _over_budget, _missing_prerequisite, _empty, _no_answer]
)
def test_a_solver_answer_that_fails_the_check_is_refused_and_our_search_answers(
    monkeypatch: pytest.MonkeyPatch, searches: list[int], answer: MilpSolver
) -> None:
    monkeypatch.setattr(guard, "NODE_LIMIT", 0)
    checked = 0
    for seed in range(12):
        items, budget, limits = binding_instance(seed)
        try:
            ours = optimal(items, budget, guardrails=limits)
        except InfeasibleGuardrails:
            continue
        if _feasible(items, budget, limits, optimal(items, budget).keys):
            continue  # not binding: the shortcut answers, no search, no solver
        if answer is _missing_prerequisite:
            probe = Spy(_no_answer)
            optimal(items, budget, guardrails=limits, solver=probe)
            if not probe.models or not _open_pairs(probe.models[0]):
                continue  # the root fixed every prerequisite pair: none can be left out
        searches.clear()
        spy = Spy(answer)
        port = optimal(items, budget, guardrails=limits, solver=spy)
        assert spy.calls == 1, seed
        assert len(searches) == 2, seed  # stopped, then our search to the end
        assert port == ours, seed
        checked += 1
    assert checked >= 3


def test_the_frontier_passes_the_solver_to_every_guarded_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(guard, "NODE_LIMIT", 0)
    items, _, limits = binding_instance(3)
    spy = Spy(_highs())
    plain = frontier(items, points=8, guardrails=limits)
    ported = frontier(items, points=8, guardrails=limits, solver=spy)
    assert [(p.budget, p.value, p.cost_used) for p in ported] == [
        (p.budget, p.value, p.cost_used) for p in plain
    ]
    assert spy.calls > 0


def test_limits_are_amounts_the_port_checks_in_decimal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guardrail bound finer than the costs: the port's answer still meets it exactly."""
    monkeypatch.setattr(guard, "NODE_LIMIT", 0)
    items, budget, limits = binding_instance(5)
    finer = [GroupLimit(g.name, g.keys, g.minimum, g.maximum) for g in limits]
    finer[0] = GroupLimit(
        finer[0].name, finer[0].keys, (finer[0].minimum or Decimal(0)) + Decimal("0.001")
    )
    try:
        ours = optimal(items, budget, guardrails=finer)
    except InfeasibleGuardrails:
        return
    port = optimal(items, budget, guardrails=finer, solver=_highs())
    assert (port.total_value, port.total_cost) == (ours.total_value, ours.total_cost)
    assert _feasible(items, budget, finer, port.keys)


def test_without_highspy_there_is_no_adapter_and_the_optimum_is_our_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "highspy", None)  # `import highspy` raises ImportError
    assert highs_solver() is None
    items, budget, limits = binding_instance(0)
    assert optimal(items, budget, guardrails=limits, solver=highs_solver()) == optimal(
        items, budget, guardrails=limits
    )
