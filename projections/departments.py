"""The department view (issue 15, part 3): which customer outcomes each department's
operational metrics serve, and how those outcomes are doing.

A department is named by the operational metrics mapped to customer success metrics
(`CustomerSuccessMetric.OperationalMetricsMapped`; the fold keeps each metric's mapping in the
state's core: projections/departments_fold.py). Names match case-insensitively
(`domain.operational.department_key`); a department is shown by the spelling of its first
operational metric in metric-code order. How an outcome is doing is the scorecard's own
reading of the metric (projections/render.py `scorecard`: status, current value, progress
along the glide path, trend word), computed when asked from the core alone, so the view
replays as of any position without loading an initiative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from domain.operational import department_key
from projections import render
from projections.rows import DecimalText, ReadRow

if TYPE_CHECKING:
    from projections.state import MetricState, PortfolioState

STATUSES = ("green", "amber", "red", "grey")


class ServedOutcome(ReadRow):
    """A customer success metric a department's operational metrics serve, as the scorecard
    reads it now."""

    baseline: DecimalText
    current: DecimalText | None
    customer_phrasing: str
    direction: str
    metric: str
    operational_metrics: list[str] = Field(description="The department's operational "
                                                       "metrics that serve it.")
    pnl: str | None
    progress: DecimalText | None = Field(description="Share of the baseline-to-target gap "
                                                     "closed by the latest reading.")
    scenario: str | None
    status: str = Field(description="The scorecard's status: green, amber, red or grey.")
    target: DecimalText
    trend_word: str | None
    unit: str


class OwnedMetric(ReadRow):
    """One operational metric a department owns and the customer outcome it serves."""

    aggregation: str
    metric: str
    name: str
    source: str
    status: str


class DepartmentSummary(ReadRow):
    """A department: how many operational metrics it owns, the outcomes they serve, and how
    many of those outcomes are green, amber, red or grey."""

    department: str
    metrics: list[str]
    operational_metrics: int
    statuses: dict[str, int]


class DepartmentView(ReadRow):
    """One department: its operational metrics and the customer outcomes they serve."""

    department: str
    operational_metrics: list[OwnedMetric]
    outcomes: list[ServedOutcome]
    statuses: dict[str, int]


def _grouped(state: PortfolioState) -> dict[str, tuple[str, list[tuple[MetricState,
                                                                       dict[str, str]]]]]:
    """department key -> (shown name, [(metric, operational metric)]) in metric-code order."""
    found: dict[str, tuple[str, list[tuple[MetricState, dict[str, str]]]]] = {}
    for code in sorted(state.metrics):
        metric = state.metrics[code]
        for item in metric.operational_metrics:
            key = department_key(item["department"])
            found.setdefault(key, (item["department"], []))[1].append((metric, item))
    return found


def _outcome(state: PortfolioState, metric: MetricState, names: list[str],
             cards: dict[str, dict[str, Any]]) -> ServedOutcome:
    card = cards.get(metric.code)
    if card is None:
        # The card's status does not depend on a period: no period's initiatives are read.
        card = cards[metric.code] = render.scorecard(state, "", metric)
    return ServedOutcome(
        metric=metric.code, customer_phrasing=metric.customer_phrasing,
        scenario=metric.scenario, pnl=metric.pnl, unit=metric.unit,
        direction=metric.direction, baseline=card["baseline"], target=card["target"],
        current=card["current"], progress=card["progress"], status=card["status"],
        trend_word=card.get("trend_word"), operational_metrics=names)


def _view(state: PortfolioState, name: str,
          items: list[tuple[MetricState, dict[str, str]]],
          cards: dict[str, dict[str, Any]]) -> DepartmentView:
    served: dict[str, list[str]] = {}
    for metric, item in items:
        served.setdefault(metric.code, []).append(item["name"])
    outcomes = [_outcome(state, state.metrics[code], names, cards)
                for code, names in served.items()]
    status = {o.metric: o.status for o in outcomes}
    owned = [OwnedMetric(name=item["name"], source=item["source"],
                         aggregation=item["aggregation"], metric=metric.code,
                         status=status[metric.code]) for metric, item in items]
    return DepartmentView(department=name, operational_metrics=owned, outcomes=outcomes,
                          statuses=_counts(outcomes))


def _counts(outcomes: list[ServedOutcome]) -> dict[str, int]:
    return {s: sum(1 for o in outcomes if o.status == s) for s in STATUSES}


def departments(state: PortfolioState) -> list[DepartmentSummary]:
    """Every department named by an operational metric, by name (case-insensitive order)."""
    cards: dict[str, dict[str, Any]] = {}
    out = []
    for _key, (name, items) in sorted(_grouped(state).items()):
        view = _view(state, name, items, cards)
        out.append(DepartmentSummary(
            department=name, operational_metrics=len(view.operational_metrics),
            metrics=[o.metric for o in view.outcomes], statuses=view.statuses))
    return out


def department(state: PortfolioState, name: str) -> DepartmentView | None:
    """One department by name (case-insensitive); None when no operational metric names it."""
    found = _grouped(state).get(department_key(name))
    if found is None:
        return None
    return _view(state, found[0], found[1], {})
