"""Benefit plans: who owns an approved initiative's benefits, and the trajectory it promised.

One stream per initiative (its id derived from the initiative's), planned once and revised
with a reason. Each point says what a claimed metric is expected to read by a date; the read
side compares readings with it (realisation) and raises *benefit at risk* when realisation at
a plan date falls below the policy's threshold (PolicyTerms.at_risk_realisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import natural_id
from domain.initiative import Initiative
from domain.lifecycle import Status
from domain.text import clean_text
from domain.values import require_code

MAX_POINTS = 60
PLANNABLE = frozenset({Status.APPROVED, Status.DELIVERED})


@dataclass(frozen=True)
class BenefitPoint:
    """A claimed metric's expected value by a date."""

    metric: str
    by: date
    expected: Decimal


def check_points(initiative: Initiative, points: Sequence[BenefitPoint]) -> list[dict[str, Any]]:
    """The points as stored: each names a metric the initiative claims, with finite values and
    dates ascending per metric; refused otherwise (nothing is written)."""
    if not points:
        raise InvalidInput("a benefit plan needs at least one point", field="points")
    if len(points) > MAX_POINTS:
        raise InvalidInput(f"a benefit plan has at most {MAX_POINTS} points", field="points")
    claimed = {c.metric for c in initiative.proposal.expected_impacts}
    last: dict[str, date] = {}
    stored = []
    for n, point in enumerate(points):
        metric = require_code(point.metric, field=f"points[{n}].metric")
        if metric not in claimed:
            raise InvalidInput(f"{initiative.code} claims no impact on {metric} "
                               f"(claimed: {', '.join(sorted(claimed))})",
                               field=f"points[{n}].metric")
        if not isinstance(point.expected, Decimal) or not point.expected.is_finite():
            raise InvalidInput("an expected value is a finite number",
                               field=f"points[{n}].expected")
        if not isinstance(point.by, date):
            raise InvalidInput("a plan date is a calendar date", field=f"points[{n}].by")
        if metric in last and point.by <= last[metric]:
            raise InvalidInput(f"the dates of {metric} must ascend", field=f"points[{n}].by")
        last[metric] = point.by
        stored.append({"metric": metric, "by": point.by, "expected": point.expected})
    return stored


class BenefitPlan(Aggregate):
    """An initiative's benefit owner and promised trajectory."""

    TOPIC = "cxgov.BenefitPlan"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.BenefitPlan.Created"

    class Planned(Created):
        TOPIC = "cxgov.BenefitPlan.Planned"
        initiative_id: UUID
        period: str
        code: str
        owner: str
        points: list[dict[str, Any]]
        actor: str

    class Revised(Aggregate.Event):
        TOPIC = "cxgov.BenefitPlan.Revised"
        owner: str
        points: list[dict[str, Any]]
        previous_owner: str
        previous_points: list[dict[str, Any]]
        reason: str
        actor: str

    @staticmethod
    def create_id(initiative_id: UUID) -> UUID:
        """One plan per initiative."""
        return natural_id("benefit-plan", str(initiative_id))

    @classmethod
    def plan(cls, initiative: Initiative, *, owner: str, points: Sequence[BenefitPoint],
             actor: str) -> BenefitPlan:
        """Plan the benefits of approved or delivered work."""
        check_plannable(initiative)
        created: BenefitPlan = cls(
            initiative_id=initiative.id, period=initiative.period, code=initiative.code,
            owner=clean_text(owner, field="owner", max_length=200),
            points=check_points(initiative, points), actor=actor)
        return created

    @event(Planned)
    def __init__(self, *, initiative_id: UUID, period: str, code: str, owner: str,
                 points: list[dict[str, Any]], actor: str) -> None:
        self.initiative_id = initiative_id
        self.owner = owner
        self.points = points

    def revise(self, initiative: Initiative, *, owner: str | None,
               points: Sequence[BenefitPoint], reason: str, actor: str) -> None:
        """Revise the plan, with a reason."""
        check_plannable(initiative)
        self._revised(owner=clean_text(owner, field="owner", max_length=200)
                      if owner is not None else self.owner,
                      points=check_points(initiative, points), previous_owner=self.owner,
                      previous_points=self.points,
                      reason=clean_text(reason, field="reason", max_length=2000), actor=actor)

    @event(Revised)
    def _revised(self, *, owner: str, points: list[dict[str, Any]], previous_owner: str,
                 previous_points: list[dict[str, Any]], reason: str, actor: str) -> None:
        self.owner = owner
        self.points = points


def check_plannable(initiative: Initiative) -> None:
    """Benefits are planned for approved or delivered work only."""
    if initiative.status not in PLANNABLE:
        raise InvalidTransition(f"benefits are planned for approved or delivered work; "
                                f"{initiative.code} is {initiative.status}",
                                status=initiative.status)
