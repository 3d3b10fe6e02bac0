"""Portfolio selection over a budget: explainable greedy, exact optimum and efficient frontier.

All three work on `SelectionItem`s (cost > 0, value >= 0, rank 1 = best, `mandatory`, `requires`).
A required key satisfies its dependant when it is selected too or is listed in `already_funded`;
a required key that is neither in the item list nor already funded makes the dependant (and
everything that requires it) unselectable. The prerequisites of a mandatory item are mandatory too.

Exactness: costs and values are scaled to integers (powers of ten, taken from the Decimal
exponents), so every comparison that decides optimality is integer arithmetic; no floats.

Modules, each importing only those listed before it:
  items     the items, the results, `InfeasibleMandatory` and the Decimal <-> integer helpers
  graph     closure, prerequisites-first orders, strongly connected components
  greedy    `greedy`: the explainable cut line (DOMAIN.md 4.2) and its extra budgets
  units     the prepared problem: mandatory closure, units, forest, budget-independent orders
  relax     the forest LP relaxation and the Lagrangian fixing
  knapsack  exact knapsack tables and the incumbent heuristics
  exact     `optimal`: branch and bound, the rank tie-break, the shared prepared problem
  multipliers  guardrail multipliers: the Lagrangian dual of the LP without dependencies
  guarded   the branch and bound under guardrails: Lagrangian weights, forest bounds, fixing
  guard     `optimal` under guardrails (`GroupLimit`): shortcut, bound rounding, refusals
  frontier  `frontier`: the optimum at evenly spaced budget levels
"""

from domain.optimize.exact import _Problem as _Problem  # the unit tests probe it
from domain.optimize.frontier import frontier
from domain.optimize.greedy import greedy
from domain.optimize.guard import optimal
from domain.optimize.items import (
    FrontierPoint,
    GreedyResult,
    GroupLimit,
    InfeasibleGuardrails,
    InfeasibleMandatory,
    OptimalResult,
    SelectionItem,
    UnfundedItem,
    UnfundedReason,
)

__all__ = [
    "FrontierPoint",
    "GreedyResult",
    "GroupLimit",
    "InfeasibleGuardrails",
    "InfeasibleMandatory",
    "OptimalResult",
    "SelectionItem",
    "UnfundedItem",
    "UnfundedReason",
    "frontier",
    "greedy",
    "optimal",
]
