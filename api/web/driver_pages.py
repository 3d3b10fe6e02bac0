"""Dashboard page of key drivers (issue 15, part 4): which operational metrics move a customer
outcome and how sure we are, each driver's estimate drawn with its 95% interval against zero
(server-rendered SVG, no script); as of any position, like every page."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.web.pages import Text, User
from api.web.proposal_pages import preview_link
from api.web.views import open_page
from domain.errors import InvalidInput
from projections.drivers import MOST_LAG, DriverAnalysis, driver_spec, drivers, mapped_drivers
from projections.query import AsOfOutOfRange

router = APIRouter(include_in_schema=False)
Code = Annotated[str | None, Query(max_length=40)]
Codes = Annotated[str | None, Query(max_length=400)]
Lag = Annotated[int, Query(ge=0, le=MOST_LAG)]
WIDTH, ROW, LEFT, RIGHT = 560, 28, 70, 20


def interval_plot(found: DriverAnalysis) -> dict[str, Any] | None:
    """Each driver's standardised estimate and interval on one axis with zero marked: the
    interval of a standardised coefficient is the raw one scaled alike."""
    rows = []
    for t in found.terms[1:]:
        if t.standardized is None or Decimal(t.estimate) == 0:
            continue
        scale = Decimal(t.standardized) / Decimal(t.estimate)
        lo, hi = sorted((Decimal(t.lower) * scale, Decimal(t.upper) * scale))
        rows.append((t, Decimal(t.standardized), lo, hi))
    if not rows:
        return None
    low = min(Decimal(0), *(r[2] for r in rows))
    high = max(Decimal(0), *(r[3] for r in rows))
    span = (high - low) or Decimal(1)

    def x(v: Decimal) -> float:
        return float(LEFT + (v - low) / span * (WIDTH - LEFT - RIGHT))

    height = ROW * len(rows) + 40
    ticks = [low + span * i / 4 for i in range(5)]
    return {"width": WIDTH, "height": height, "zero": x(Decimal(0)), "bottom": height - 24,
            "ticks": [(x(v), f"{v:.2f}") for v in ticks],
            "rows": [{"y": 16 + ROW * i, "metric": t.name or t.metric, "word": t.word,
                      "moves": t.moves_outcome, "x": x(b), "lo": x(lo), "hi": x(hi),
                      "value": f"{b:.2f}"} for i, (t, b, lo, hi) in enumerate(rows)]}


@router.get("/dashboard/drivers", response_class=HTMLResponse)
def drivers_page(request: Request, who: User, as_of: Text = None, metric: Code = None,
                 names: Codes = None, lag: Lag = 0) -> HTMLResponse:
    """One metric's key drivers (`metric`; default the first with mapped drivers), optionally
    other driver codes (`names`, comma-separated, `CODE@k` leading by its own k months) and a
    lag in months; a link adds the employee-experience metrics a month earlier."""
    page = open_page(request, who, as_of=as_of)
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    codes = sorted(state.metrics)
    with_drivers = [c for c in codes if mapped_drivers(state, c)]
    chosen = (metric or "").strip() or (with_drivers[0] if with_drivers else
                                         (codes[0] if codes else None))
    wanted = [n.strip() for n in (names or "").split(",") if n.strip()] or None
    unknown = [n for n in wanted or [] if _code(n) not in state.metrics]
    found = (drivers(state, chosen, names=wanted, lag=lag)
             if chosen and not unknown else None)
    status = 404 if chosen and chosen not in state.metrics else 422 if unknown else 200
    employee = [c for c in codes if state.metrics[c].kind == "employee" and c != chosen]
    with_ex = ",".join([c for c, _ in mapped_drivers(state, chosen)] + [f"{c}@1" for c in employee]
                       ) if chosen in state.metrics and employee else None
    return page.render("drivers.html", status=status, found=found, chosen=chosen,
                       codes=codes, with_drivers=with_drivers, names=names or "", lag=lag,
                       unknown=unknown, plot=interval_plot(found) if found else None,
                       employee=employee, with_ex=with_ex,
                       preview=preview_link("drivers", metric=chosen, names=names, lag=lag))


def _code(name: str) -> str | None:
    """A driver's metric code as named (`CODE` or `CODE@k`); None when the lead is bad."""
    try:
        return driver_spec(name, 0)[0]
    except InvalidInput:
        return None
