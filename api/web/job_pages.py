"""Dashboard page of jobs to be done (issue 15, part 5): the job map by opportunity score, the
initiatives serving each job (those the reader reads whole) and the metric weights the
opportunities propose; as of any position, like every page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.routes.jobs import readable
from api.web.pages import Text, User
from api.web.proposal_pages import preview_link
from api.web.views import open_page
from projections.jobs import job_map
from projections.query import AsOfOutOfRange

router = APIRouter(include_in_schema=False)


@router.get("/dashboard/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, who: User, as_of: Text = None) -> HTMLResponse:
    """Every job by opportunity, and the weights the opportunities propose."""
    page = open_page(request, who, as_of=as_of)
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    found = readable(models, who, job_map(state), as_of=page.as_of or None)
    return page.render("jobs.html", found=found, preview=preview_link("jobs"))
