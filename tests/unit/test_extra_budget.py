"""The greedy walk's "extra budget that would fund it" (issue 19, decision 129): the search that
serves every unfunded item of one cost at once, and one page of the unfunded list at a time,
against the definition computed from scratch, on seeded generated portfolios.

The reference walks the documented rule at every whole budget from the pool upwards (costs are
whole units here, so the walk can only change at whole budgets) and takes, for each item, the
first budget whose walk funds it: nothing shared with `domain.optimize.greedy` but the items.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from domain.optimize import SelectionItem, greedy


def generated(seed: int) -> tuple[list[SelectionItem], Decimal, frozenset[str]]:
    """Up to 40 items: repeated costs (ties of cost), tied ranks broken by key, zero values,
    mandatory items (without prerequisites, so they go first in rank order), dependencies
    (also on items ranked lower, on items funded elsewhere and on unknown ones), and items
    costing more than the whole pool."""
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    costs = [rng.randint(1, 12) for _ in range(rng.randint(1, 6))]  # few distinct costs
    budget = rng.randint(0, 40)
    keys = [f"K{k:02d}" for k in range(n)]
    items = []
    for k, key in enumerate(keys):
        cost = rng.choice(costs) if rng.random() < 0.85 else budget + rng.randint(1, 20)
        mandatory = rng.random() < 0.08
        requires: tuple[str, ...] = ()
        if not mandatory and rng.random() < 0.2:
            requires = (
                rng.choice(
                    [*keys[:k], *keys[k + 1 :], "OLD", "OLD", "MISSING"]
                    if n > 1
                    else ["OLD", "MISSING"]
                ),
            )
        items.append(
            SelectionItem(
                key=key,
                cost=Decimal(cost),
                value=Decimal(0) if rng.random() < 0.1 else Decimal(rng.randint(1, 30)),
                rank=rng.randint(1, max(1, n // 2)),
                mandatory=mandatory,
                requires=requires,
            )
        )
    return items, Decimal(budget), frozenset({"OLD"})


def reference_walk(
    items: list[SelectionItem],
    budget: int,
    funded_elsewhere: frozenset[str],
) -> set[str]:
    """The documented walk: mandatory items first, then the rest, each in rank order (ties by
    key); an item is funded when it is mandatory or adds value, what it requires is funded
    (here or elsewhere) and it fits what is left."""
    order = sorted(items, key=lambda it: (not it.mandatory, it.rank, it.key))
    funded: set[str] = set()
    left = budget
    for it in order:
        if not it.mandatory and it.value <= 0:
            continue
        if any(r not in funded and r not in funded_elsewhere for r in it.requires):
            continue
        if int(it.cost) <= left:
            funded.add(it.key)
            left -= int(it.cost)
    return funded


def reference_extra(
    items: list[SelectionItem], budget: int, funded_elsewhere: frozenset[str]
) -> dict[str, int | None]:
    """For each item the walk leaves out at `budget`: the smallest increase after which the
    walk funds it (above the total cost the walk no longer changes: None)."""
    base = reference_walk(items, budget, funded_elsewhere)
    out: dict[str, int | None] = {it.key: None for it in items if it.key not in base}
    top = max(budget, sum(int(it.cost) for it in items))
    for level in range(budget + 1, top + 1):
        for key in reference_walk(items, level, funded_elsewhere):
            if key in out and out[key] is None:
                out[key] = level - budget
    return out


@pytest.mark.parametrize("seed", range(300))
def test_extra_budgets_equal_the_definition_computed_from_scratch(seed: int) -> None:
    items, budget, elsewhere = generated(seed)
    result = greedy(items, budget, already_funded=elsewhere)
    assert set(result.funded) == reference_walk(items, int(budget), elsewhere)
    expected = reference_extra(items, int(budget), elsewhere)
    assert {u.key: u.extra_budget for u in result.unfunded} == {
        key: None if amount is None else Decimal(amount) for key, amount in expected.items()
    }


@pytest.mark.parametrize("seed", range(40))
def test_a_page_of_the_unfunded_list_gets_the_same_figures(seed: int) -> None:
    items, budget, elsewhere = generated(seed)
    whole = greedy(items, budget, already_funded=elsewhere).unfunded
    start = seed % 5
    stop = start + 1 + seed % 7
    page = greedy(items, budget, already_funded=elsewhere, extra_window=(start, stop)).unfunded
    assert [u.key for u in page] == [u.key for u in whole]  # the list itself is whole
    for k, (mine, theirs) in enumerate(zip(page, whole, strict=True)):
        assert mine.extra_budget == (theirs.extra_budget if start <= k < stop else None)
