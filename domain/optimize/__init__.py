"""Portfolio selection over a budget: explainable greedy, exact optimum and efficient frontier."""

from domain.optimize.exact import (
    FrontierPoint,
    GreedyResult,
    InfeasibleMandatory,
    OptimalResult,
    SelectionItem,
    UnfundedItem,
    UnfundedReason,
    frontier,
    greedy,
    optimal,
)
from domain.optimize.exact import _Problem as _Problem  # the unit tests probe it

__all__ = [
    "FrontierPoint",
    "GreedyResult",
    "InfeasibleMandatory",
    "OptimalResult",
    "SelectionItem",
    "UnfundedItem",
    "UnfundedReason",
    "frontier",
    "greedy",
    "optimal",
]
