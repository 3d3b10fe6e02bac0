"""Dashboard forms for re-decisions (issue 14): carry an initiative into another period, and
retarget or re-baseline a metric. In-process commands, then a redirect (303) to the page that
shows the result, or back with the refusal by its field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from api.deps import services
from api.web.csrf import PostUser
from api.web.views import Page
from domain.errors import CxgovError, InvalidInput
from domain.initiative import Initiative
from domain.lifecycle import CARRIABLE_ANYTIME, CARRIABLE_WHEN_CLOSED
from projections.rows import InitiativeCard

router = APIRouter(include_in_schema=False)
CodeText = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Short = Annotated[str, Form(max_length=40)]
ReasonText = Annotated[str, Form(max_length=2000)]


def carry_context(page: Page, card: InitiativeCard) -> dict[str, Any]:
    """What the initiative page needs for carry-overs: the ids of the linked initiatives, and
    whether (and into which open periods) a CX executive may carry this one now."""
    def linked(link: str | None) -> str | None:
        if not link:
            return None
        period, _, code = link.partition("/")
        return str(Initiative.create_id(period, code))

    ledgers = {row.period: row for row in page.snapshot.ledgers()}
    own = ledgers.get(card.period)
    closed = own is not None and own.closed
    allowed = card.status in (CARRIABLE_WHEN_CLOSED if closed else CARRIABLE_ANYTIME)
    return {"carry": {
        "from_id": linked(card.carried_from), "to_id": linked(card.carried_to),
        "periods": [p for p, row in ledgers.items() if p != card.period and not row.closed],
        "allowed": allowed and not page.historical}}


def _decimal(text: str, field: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        found = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number, got {text!r}", field=field) from None
    if not found.is_finite():
        raise InvalidInput(f"{field} must be a finite number", field=field)
    return found


def _day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a day such as 2028-06-30", field=field) from None


def _back(path: str, anchor: str, **query: Any) -> RedirectResponse:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(f"{path}?{urlencode(kept)}#{anchor}", status_code=303)


@router.post("/dashboard/initiatives/{initiative_id}/carry-over")
def carry_over(request: Request, initiative_id: UUID, who: PostUser, to_period: Short,
               reason: ReasonText = "", cost: Short = "") -> Response:
    """Carry the initiative into another period (CX executive); on success, the new
    initiative's page; refused, back to this one with the reason by its field."""
    gov = services(request).gov
    here = f"/dashboard/initiatives/{initiative_id}"
    try:
        result = gov.carry_over(who, initiative_id=initiative_id, to_period=to_period.strip(),
                                reason=reason, cost=_decimal(cost, "cost"))
    except CxgovError as exc:
        return _back(here, "carry-over", carry_error=exc.message, carry_code=exc.code,
                     carry_field=exc.details.get("field") or "to_period")
    return _back(f"/dashboard/initiatives/{result.id}", "status", min_position=result.position,
                 done=f"carried over: {result.status}")


@router.post("/dashboard/metrics/{code}/retarget")
def retarget(request: Request, code: CodeText, who: PostUser, reason: ReasonText = "",
             baseline: Short = "", target: Short = "", target_date: Short = "",
             clear_target_date: Annotated[bool, Form()] = False,
             period: Short = "") -> Response:
    """Re-baseline or retarget a metric (CX executive): empty fields are kept. Back to the
    scorecard, at the metric's card, with the new version or the refusal by its field."""
    gov = services(request).gov
    try:
        result = gov.retarget_metric(
            who, code=code, baseline=_decimal(baseline, "baseline"),
            target=_decimal(target, "target"), target_date=_day(target_date, "target_date"),
            reason=reason, clear_target_date=clear_target_date)
    except CxgovError as exc:
        return _back("/dashboard/scorecard", f"retarget-{code}", period=period,
                     retarget_error=exc.message, retarget_code=exc.code, on=code,
                     retarget_field=exc.details.get("field") or "target")
    return _back("/dashboard/scorecard", f"m-{code}", period=period,
                 min_position=result.position, done="new target version")
