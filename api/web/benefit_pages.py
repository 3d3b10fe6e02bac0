"""Plan an initiative's benefits from the dashboard (issue 14): on the page of an approved or
delivered initiative, a CX executive or the owner of the P&L that submitted it records the
benefit owner and a few points of the promised trajectory (metric, by when, expected value).
The same command as `POST /v1/initiatives/{id}/benefit-plan`; a refusal comes back to the form
by field (the row's), with what was typed kept."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import services
from api.web.csrf import PostUser
from api.web.views import Page
from domain.benefits import BenefitPoint
from domain.errors import CxgovError, InvalidInput
from projections.rows import InitiativeCard

router = APIRouter(include_in_schema=False)
ROWS = 4  #: point rows on the form (the API takes up to 60)
PLANNABLE = ("approved", "delivered")
Short = Annotated[str, Form(max_length=40)]
OwnerText = Annotated[str, Form(max_length=200)]
Rows = Annotated[list[str], Form(max_length=ROWS)]
_POINT_FIELD = re.compile(r"^points\[(\d+)\]\.(metric|by|expected)$")


def benefit_context(page: Page, card: InitiativeCard) -> dict[str, Any]:
    """Whether the initiative page offers the benefit-plan form: approved or delivered work
    without a plan yet, shown as of the present, to a CX executive or its P&L's owner."""
    who = page.who
    allowed = (not page.historical and card.status in PLANNABLE
               and (who.has("cx_exec") or (card.kind == "pnl" and who.has("pnl_owner")
                                           and card.pnl in who.pnls)))
    if allowed:
        plans = page.services.models.loop().benefit_plans(card.period)
        allowed = all(p.initiative_id != card.id for p in plans)
    return {"benefit_form": {"allowed": allowed, "rows": ROWS,
                             "metrics": [c.metric for c in card.proposal.expected_impacts]}}


def _points(metric: list[str], by: list[str], expected: list[str]) -> tuple[
        list[BenefitPoint], list[int]]:
    """The filled rows as points, and each point's row (blank rows are skipped)."""
    points: list[BenefitPoint] = []
    rows: list[int] = []
    for n in range(max(len(metric), len(by), len(expected))):
        m, b, e = (col[n].strip() if n < len(col) else "" for col in (metric, by, expected))
        if not (b or e):
            continue
        try:
            day = date.fromisoformat(b)
        except ValueError:
            raise InvalidInput(f"row {n + 1}: the date must be a day such as 2027-06-30",
                               field=f"points[{n}].by") from None
        try:
            value = Decimal(e)
        except InvalidOperation:
            raise InvalidInput(f"row {n + 1}: the expected value must be a number, got {e!r}",
                               field=f"points[{n}].expected") from None
        points.append(BenefitPoint(metric=m, by=day, expected=value))
        rows.append(n)
    return points, rows


def _row_field(field: str, rows: list[int]) -> str:
    """The command's `points[i].x` (i among the filled rows) as the form's row."""
    found = _POINT_FIELD.match(field)
    if found is None or int(found.group(1)) >= len(rows):
        return field
    return f"points[{rows[int(found.group(1))]}].{found.group(2)}"


@router.post("/dashboard/initiatives/{initiative_id}/benefit-plan")
def plan_benefits(request: Request, initiative_id: UUID, who: PostUser, owner: OwnerText = "",
                  metric: Rows | None = None, by: Rows | None = None,
                  expected: Rows | None = None) -> Response:
    """Record the benefit plan; back to the initiative page with the result or the refusal."""
    metric, by, expected = metric or [], by or [], expected or []
    rows: list[int] = []
    try:
        points, rows = _points(metric, by, expected)
        result = services(request).gov.plan_benefits(
            who, initiative_id=initiative_id, owner=owner, points=points)
    except CxgovError as exc:
        field = _row_field(str(exc.details.get("field") or "owner"), rows)
        kept: list[tuple[str, str]] = [("owner", owner)]
        for name, col in (("metric", metric), ("by", by), ("expected", expected)):
            kept += [(name, v) for v in col]
        query = urlencode([("plan_error", exc.message), ("plan_code", exc.code),
                           ("plan_field", field), *kept])
        return RedirectResponse(f"/dashboard/initiatives/{initiative_id}?{query}#benefit-plan",
                                status_code=303)
    query = urlencode({"min_position": result.position, "done": "benefit plan recorded"})
    return RedirectResponse(f"/dashboard/initiatives/{initiative_id}?{query}#benefit-plan",
                            status_code=303)
