"""Dashboard pages of the loop (issue 14): the role-aware signals inbox with loop speed, and
reviews (the list, one review); all as of any position, like every page. The forms that act
on them (acknowledge, resolve, open and close a review) post to api/web/loop_actions.py, which
renders these pages again with a refusal by its field."""

from __future__ import annotations

from typing import Annotated, Any
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
Position = Annotated[int | None, Query(ge=0, le=2**62)]


def loop_view(request: Request, as_of: str | None,
              min_position: int | None = None) -> LoopView:
    """The loop read model at the page's as-of position (the present when it is invalid: the
    page shows the as-of error), at least at `min_position` when live (read your writes)."""
    models = request.app.state.services.models
    try:
        view: LoopView = models.loop(as_of=as_of, min_position=min_position)
    except AsOfOutOfRange:
        view = models.loop(min_position=min_position)
    return view


def signals_page(request: Request, who: Principal, *, period: str | None,
                 as_of: str | None, show: str = "active", min_position: int | None = None,
                 status: int = 200, **extra: Any) -> HTMLResponse:
    """The inbox (and its forms; `extra`: a form's refusal and kept input)."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    view = loop_view(request, page.as_of, min_position)
    rows = [s for s in view.signals(period=page.period)
            if show == "all" or s.state in ("open", "acknowledged")]
    ordered = for_role(who, rows)
    open_reviews = [] if page.historical else [r for r in view.reviews(page.period)
                                               if not r.closed]
    return page.render("signals.html", status=status,
                       mine=[s for s in ordered if who.has(s.role)],
                       others=[s for s in ordered if not who.has(s.role)], show=show,
                       speed=view.loop_speed(page.period), answers=view.answers(page.period),
                       now=view.now, open_reviews=open_reviews, **extra)


@router.get("/dashboard/signals", response_class=HTMLResponse)
def signals(request: Request, who: User, period: Text = None, as_of: Text = None,
            show: StateFilter = "active", min_position: Position = None,
            done: Text = None) -> HTMLResponse:
    """The inbox: signals the viewer's roles should act on first, then the others; loop speed."""
    return signals_page(request, who, period=period, as_of=as_of, show=show,
                        min_position=min_position, done=done)


def reviews_page(request: Request, who: Principal, *, period: str | None, as_of: str | None,
                 min_position: int | None = None, status: int = 200,
                 **extra: Any) -> HTMLResponse:
    """The period's reviews (and the form that opens one)."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    view = loop_view(request, page.as_of, min_position)
    return page.render("reviews.html", status=status,
                       reviews=view.reviews(page.period)[::-1], **extra)


@router.get("/dashboard/reviews", response_class=HTMLResponse)
def reviews(request: Request, who: User, period: Text = None, as_of: Text = None,
            min_position: Position = None, done: Text = None) -> HTMLResponse:
    """The period's reviews, newest first."""
    return reviews_page(request, who, period=period, as_of=as_of, min_position=min_position,
                        done=done)


def review_page(request: Request, review_id: UUID, who: Principal, *, period: str | None,
                as_of: str | None, min_position: int | None = None, status: int = 200,
                **extra: Any) -> HTMLResponse:
    """One review (and the form that closes it)."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    found = loop_view(request, page.as_of, min_position).review(str(review_id))
    if found is None:
        return page.render("missing.html", status=404, what=f"review {review_id}")
    page.period = found.period
    return page.render("review.html", status=status, review=found, **extra)


@router.get("/dashboard/reviews/{review_id}", response_class=HTMLResponse)
def review(request: Request, review_id: UUID, who: User, period: Text = None,
           as_of: Text = None, min_position: Position = None,
           done: Text = None) -> HTMLResponse:
    """One review: the signals and ranking it opened on, the acts taken in it, its minutes."""
    return review_page(request, review_id, who, period=period, as_of=as_of,
                       min_position=min_position, done=done)
