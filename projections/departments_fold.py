"""The fold of a metric's mapping to operational metrics (issue 15, part 3), registered into
the portfolio fold (projections/state.py): the mapping is kept on the metric's state in the
fold's core, so the department view (projections/departments.py) replays as of any position
without loading an initiative."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.metric import CustomerSuccessMetric

if TYPE_CHECKING:
    from projections.state import PortfolioState


def _mapped(s: PortfolioState, e: CustomerSuccessMetric.OperationalMetricsMapped) -> set[str]:
    code = s.metric_index.get(str(e.originator_id))
    if code is None:
        return set()
    metric = s.metrics[code]
    metric.operational_metrics = [dict(m) for m in e.operational_metrics]
    metric.operational_mapped = {"actor": e.actor, "at": e.timestamp, "position": s.position}
    return {"directory"}  # the metric's register entry carries its mapping


DEPARTMENT_HANDLERS: dict[type, Any] = {
    CustomerSuccessMetric.OperationalMetricsMapped: _mapped,
}
