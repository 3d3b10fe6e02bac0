"""Dashboard pages of the loop (issue 14): the role-aware signals inbox with loop speed, and
reviews (the list, one review); all as of any position, like every page."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.routes.signals import for_role
from api.web.pages import refused
from api.web.session import require_user
from api.web.views import open_page
from governance.principal import Principal
from projections.loop_rows import LoopView
from projections.query import AsOfOutOfRange

router = APIRouter(include_in_schema=False)
User = Annotated[Principal, Depends(require_user)]
Text = Annotated[str | None, Query(max_length=40)]
StateFilter = Annotated[str, Query(pattern="^(active|all)$")]


def loop_view(request: Request, as_of: str | None) -> LoopView:
    """The loop read model at the page's as-of position (the present when it is invalid: the
    page shows the as-of error)."""
    models = request.app.state.services.models
    try:
        view: LoopView = models.loop(as_of=as_of)
    except AsOfOutOfRange:
        view = models.loop()
    return view


@router.get("/dashboard/signals", response_class=HTMLResponse)
def signals(request: Request, who: User, period: Text = None, as_of: Text = None,
            show: StateFilter = "active") -> HTMLResponse:
    """The inbox: signals the viewer's roles should act on first, then the others; loop speed."""
    page = open_page(request, who, period=period, as_of=as_of)
    if (forbidden := refused(page)) is not None:
        return forbidden
    view = loop_view(request, page.as_of)
    rows = [s for s in view.signals(period=page.period)
            if show == "all" or s.state in ("open", "acknowledged")]
    ordered = for_role(who, rows)
    return page.render("signals.html", mine=[s for s in ordered if who.has(s.role)],
                       others=[s for s in ordered if not who.has(s.role)], show=show,
                       speed=view.loop_speed(page.period), answers=view.answers(page.period),
                       now=view.now)


@router.get("/dashboard/reviews", response_class=HTMLResponse)
def reviews(request: Request, who: User, period: Text = None,
            as_of: Text = None) -> HTMLResponse:
    """The period's reviews, newest first."""
    page = open_page(request, who, period=period, as_of=as_of)
    if (forbidden := refused(page)) is not None:
        return forbidden
    view = loop_view(request, page.as_of)
    return page.render("reviews.html", reviews=view.reviews(page.period)[::-1])


@router.get("/dashboard/reviews/{review_id}", response_class=HTMLResponse)
def review(request: Request, review_id: UUID, who: User, period: Text = None,
           as_of: Text = None) -> HTMLResponse:
    """One review: the signals and ranking it opened on, the acts taken in it, its minutes."""
    page = open_page(request, who, period=period, as_of=as_of)
    if (forbidden := refused(page)) is not None:
        return forbidden
    found = loop_view(request, page.as_of).review(str(review_id))
    if found is None:
        return page.render("missing.html", status=404, what=f"review {review_id}")
    page.period = found.period
    return page.render("review.html", review=found)
