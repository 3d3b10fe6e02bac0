"""Withdraw from the dashboard (issue 17): a P&L owner withdraws their own undecided
initiative (a CX executive a cross-P&L one) with a reason, on the initiative's page. The same
command as `POST /v1/initiatives/{id}/withdraw`; a refusal comes back to the form by field."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import services
from api.web.csrf import PostUser
from domain.errors import CxgovError

router = APIRouter(include_in_schema=False)
ReasonText = Annotated[str, Form(max_length=2000)]
UNDECIDED = ("submitted", "deferred", "pending_second_approval")


def _back(initiative_id: UUID, **query: Any) -> RedirectResponse:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(f"/dashboard/initiatives/{initiative_id}?{urlencode(kept)}#withdraw",
                            status_code=303)


@router.post("/dashboard/initiatives/{initiative_id}/withdraw")
def withdraw(request: Request, initiative_id: UUID, who: PostUser,
             reason: ReasonText = "") -> Response:
    """Withdraw an undecided initiative; back to its page with the result or the refusal."""
    try:
        result = services(request).gov.withdraw_initiative(
            who, initiative_id=initiative_id, reason=reason)
    except CxgovError as exc:
        return _back(initiative_id, withdraw_error=exc.message, withdraw_code=exc.code,
                     withdraw_field=exc.details.get("field") or "reason")
    return _back(initiative_id, min_position=result.position, done="withdrawn")
