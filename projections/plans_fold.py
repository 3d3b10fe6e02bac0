"""The fold of funding plans' events (issue 16), registered into the portfolio fold
(projections/state.py): plain values in the state's core (no period part). A plan's event
carries its whole selection, so nothing here reads an initiative; none of these events
changes a stored document: plans are rendered when asked for (projections/plans.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.plans import FundingPlan, PlanOfRecord

if TYPE_CHECKING:
    from projections.state import PortfolioState


def _saved(s: PortfolioState, e: FundingPlan.Saved) -> set[str]:
    s.funding_plans[str(e.originator_id)] = {
        "id": str(e.originator_id), "period": e.period, "name": e.name,
        "description": e.description, "budget": e.budget, "policy_version": e.policy_version,
        "forced_in": [dict(f) for f in e.forced_in], "forced_out": [dict(f) for f in e.forced_out],
        "computed_at": e.position, "available": e.available,
        "items": [dict(i) for i in e.items], "unmet": list(e.unmet), "saved_by": e.actor,
        "saved_at": e.timestamp, "position": s.position}
    return set()


def _adopted(s: PortfolioState, e: PlanOfRecord.Adopted) -> set[str]:
    plan = s.funding_plans.get(e.plan_id)
    period = plan["period"] if plan else None
    if period is None:
        return set()
    record = s.plans_of_record.setdefault(period, {"period": period, "adoptions": []})
    record["adoptions"].append({"plan_id": e.plan_id, "name": e.name,
                                "rationale": e.rationale, "replaces": e.replaces,
                                "actor": e.actor, "at": e.timestamp, "position": s.position})
    return set()


PLAN_HANDLERS: dict[type, Any] = {
    FundingPlan.Saved: _saved,
    PlanOfRecord.Adopted: _adopted,
}
