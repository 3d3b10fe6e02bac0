"""Dashboard page of a period's funding round (issue 16, part 4): the phase, its deadlines
and the feasibility marks the reader may read; as of any position, like every page. Opening a
round and marking feasibility are done with `cxgov round` or the API (the page names them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.routes.rounds import visible_marks
from api.web.pages import Text, User
from api.web.views import open_page
from projections.query import AsOfOutOfRange

router = APIRouter(include_in_schema=False)


@router.get("/dashboard/round", response_class=HTMLResponse)
def round_page(request: Request, who: User, period: Text = None,
               as_of: Text = None) -> HTMLResponse:
    """The period's round: phase, deadlines, feasibility marks (every reader)."""
    page = open_page(request, who, period=period, as_of=as_of)
    if page.period is None:
        return page.render("empty.html")
    models = page.services.models
    try:
        _, found = models.funding_round(page.period, now=page.services.gov.clock(),
                                        as_of=page.as_of)
    except AsOfOutOfRange:
        _, found = models.funding_round(page.period, now=page.services.gov.clock())
    return page.render("round.html",
                       found=visible_marks(who, found) if found is not None else None)
