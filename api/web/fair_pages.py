"""Dashboard page of fair shares (issue 16, part 3): how each plan treats each P&L."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.pages import Text, User, refused
from api.web.views import open_page

router = APIRouter(include_in_schema=False)
RULES = {"greedy": "Greedy cut line", "optimal": "Exact optimum",
         "equal_shares": "Method of Equal Shares",
         "equal_shares_completed": "Method of Equal Shares, completed (the fair plan)"}


@router.get("/dashboard/fair-shares", response_class=HTMLResponse)
def fair_shares_page(request: Request, who: User, period: Text = None,
                     as_of: Text = None) -> HTMLResponse:
    """The greedy, exact and equal-shares plans side by side: each P&L's entitlement, its
    share of spend and of value, and the value the fair plan gives up (not ingest)."""
    page = open_page(request, who, period=period, as_of=as_of)
    if (forbidden := refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    found = page.snapshot.fair_shares(page.period)
    if found is None:
        return page.render("missing.html", status=404, what=f"period {page.period}")
    return page.render("fair_shares.html", fair=found, rules=RULES)
