"""Dashboard page of departments (issue 15, part 3): every department that owns an
operational metric, and one department's operational metrics beside the customer outcomes
they serve with the scorecard's status; as of any position, like every page. Mapping is done
with `cxgov departments map` or the API (the page names them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.web.pages import Text, User
from api.web.views import open_page
from projections.departments import department, departments
from projections.query import AsOfOutOfRange

router = APIRouter(include_in_schema=False)
Name = Annotated[str | None, Query(max_length=80)]


@router.get("/dashboard/departments", response_class=HTMLResponse)
def departments_page(request: Request, who: User, as_of: Text = None,
                     name: Name = None) -> HTMLResponse:
    """Every department, and one (`name`, case-insensitive; default the first) in detail."""
    page = open_page(request, who, as_of=as_of)
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    listed = departments(state)
    chosen = (name or "").strip() or (listed[0].department if listed else None)
    shown = department(state, chosen) if chosen else None
    status = 404 if chosen and shown is None else 200
    return page.render("departments.html", status=status, listed=listed, shown=shown,
                       chosen=chosen)
