"""The fold of the loop's events (issue 14): benefit plans, signal notes and reviews.

Registered into the portfolio fold (projections/state.py); kept in the state's core (no
period part), as plain values a fold snapshot stores. None of these events changes a stored
document: signals, reviews and benefit realisation are rendered when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.benefits import BenefitPlan
from domain.review import Review
from domain.signals import SignalNote

if TYPE_CHECKING:
    from projections.state import PortfolioState


def _planned(s: PortfolioState, e: BenefitPlan.Planned) -> set[str]:
    s.benefit_plans[str(e.initiative_id)] = {
        "initiative_id": str(e.initiative_id), "period": e.period, "code": e.code,
        "owner": e.owner, "points": [dict(p) for p in e.points], "planned_by": e.actor,
        "planned_at": e.timestamp, "revisions": [], "plan_id": str(e.originator_id)}
    return _cards(e.points)  # the scorecard shows plans beside the claims


def _plan_revised(s: PortfolioState, e: BenefitPlan.Revised) -> set[str]:
    plan = next((p for p in s.benefit_plans.values()
                 if p.get("plan_id") == str(e.originator_id)), None)
    if plan is None:
        return set()
    before = plan["points"]
    plan["owner"] = e.owner
    plan["points"] = [dict(p) for p in e.points]
    plan["revisions"].append({"reason": e.reason, "actor": e.actor, "at": e.timestamp,
                              "position": s.position})
    return _cards([*before, *e.points])


def _cards(points: list[dict[str, Any]]) -> set[str]:
    """The scorecard cards a plan's points show on (one per metric, in every period)."""
    return {f"metric:{p['metric']}" for p in points}


def _noted(s: PortfolioState, e: Any) -> set[str]:
    act = "acknowledged" if type(e) is SignalNote.Acknowledged else "resolved"
    found = s.signal_notes.setdefault(e.key, {"key": e.key, "kind": e.kind, "notes": []})
    found["notes"].append({"act": act, "raised_at": e.raised_at, "period": e.period,
                           "note": e.note, "review": str(e.review) if e.review else None,
                           "actor": e.actor, "at": e.timestamp, "position": s.position})
    return set()


def _review_opened(s: PortfolioState, e: Review.Opened) -> set[str]:
    s.reviews[str(e.originator_id)] = {
        "id": str(e.originator_id), "period": e.period, "title": e.title,
        "position": e.position, "opened_position": s.position,
        "signals": [dict(x) for x in e.signals], "ranking": list(e.ranking),
        "opened_by": e.actor, "opened_at": e.timestamp, "items": [], "closed": False,
        "minutes": None, "closed_by": None, "closed_at": None}
    return set()


def _review_item(s: PortfolioState, e: Review.ItemRecorded) -> set[str]:
    review = s.reviews.get(str(e.originator_id))
    if review is not None:
        review["items"].append({"item": e.item, "signal": e.signal, "initiative": e.initiative,
                                "answers": list(e.answers), "note": e.note, "actor": e.actor,
                                "at": e.timestamp, "position": s.position})
    return set()


def _review_closed(s: PortfolioState, e: Review.Closed) -> set[str]:
    review = s.reviews.get(str(e.originator_id))
    if review is not None:
        review.update(closed=True, minutes=e.minutes, closed_by=e.actor, closed_at=e.timestamp)
    return set()


LOOP_HANDLERS: dict[type, Any] = {
    BenefitPlan.Planned: _planned,
    BenefitPlan.Revised: _plan_revised,
    SignalNote.Acknowledged: _noted,
    SignalNote.Resolved: _noted,
    Review.Opened: _review_opened,
    Review.ItemRecorded: _review_item,
    Review.Closed: _review_closed,
}
