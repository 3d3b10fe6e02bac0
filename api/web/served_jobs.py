"""The jobs to be done an initiative serves, on its dashboard page (issue 15, part 5): the
jobs it says it serves, and for its P&L's owners (CX executives for any initiative) a form
to change them. The same command as `POST /v1/initiatives/{id}/jobs`; a refusal comes back
to the form with the message by its field and nothing written."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import services
from api.web.csrf import PostUser
from api.web.views import Page
from domain.errors import CxgovError
from domain.jobs import MOST_SERVED
from projections.jobs import job_map, served_by
from projections.query import AsOfOutOfRange
from projections.rows import InitiativeCard

router = APIRouter(include_in_schema=False)
ReasonText = Annotated[str, Form(max_length=500)]
Codes = Annotated[list[str], Form(max_length=MOST_SERVED)]


def jobs_context(page: Page, card: InitiativeCard) -> dict[str, Any]:
    """The jobs the initiative serves (as of the page's position), every job defined then,
    and whether the reader may change the link (the present only)."""
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    who = page.who
    allowed = not page.historical and (
        who.has("cx_exec") or (card.kind == "pnl" and who.has("pnl_owner")
                               and card.pnl in who.pnls))
    served = served_by(state, card.id)
    jobs = job_map(state).jobs
    return {"served_jobs": {"codes": served, "allowed": allowed and bool(jobs),
                            "jobs": jobs, "shown": [j for j in jobs if j.code in served]}}


def _back(initiative_id: UUID, **query: Any) -> RedirectResponse:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(f"/dashboard/initiatives/{initiative_id}?{urlencode(kept)}#jobs",
                            status_code=303)


@router.post("/dashboard/initiatives/{initiative_id}/jobs")
def link_jobs(request: Request, initiative_id: UUID, who: PostUser, jobs: Codes | None = None,
              reason: ReasonText = "") -> Response:
    """Save the jobs an initiative serves (the boxes ticked: the whole set); back to its page
    with the result or the refusal."""
    try:
        result = services(request).gov.link_jobs(
            who, initiative_id=initiative_id, jobs=list(jobs or []), reason=reason)
    except CxgovError as exc:
        return _back(initiative_id, jobs_error=exc.message, jobs_code=exc.code,
                     jobs_field=exc.details.get("field") or "jobs")
    return _back(initiative_id, min_position=result.position, done="jobs served saved")
