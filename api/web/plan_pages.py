"""Dashboard page of funding plans (issue 16): a period's plans side by side, the plan of
record and its adoptions; as of any position, like every page. Saving and adopting are done
with `cxgov plans` or the API (the page links them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.routes.plans import require_plan_reader
from api.web.pages import Text, User
from api.web.views import Page, open_page
from domain.errors import CxgovError
from domain.plans import COMPARE_AT_MOST
from projections.plans import PlanComparison, PlansList, compare, find_plans, plans_list
from projections.query import AsOfOutOfRange

router = APIRouter(include_in_schema=False)
Names = Annotated[list[str] | None, Query(max_length=COMPARE_AT_MOST)]


def _refused(page: Page) -> HTMLResponse | None:
    try:
        require_plan_reader(page.who)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    return None


@router.get("/dashboard/plans", response_class=HTMLResponse)
def plans_page(request: Request, who: User, period: Text = None, as_of: Text = None,
               name: Names = None) -> HTMLResponse:
    """Up to four plans side by side (`name`, repeated; default: the plan of record and the
    newest others), every plan of the period and its adoptions."""
    page = open_page(request, who, period=period, as_of=as_of)
    if (forbidden := _refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    if page.period not in state.periods:
        return page.render("missing.html", status=404, what=f"period {page.period}")
    listed: PlansList = plans_list(state, page.period)
    chosen, missing = find_plans(state, page.period, name or _default(listed))
    side: PlanComparison | None = compare(state, page.period, chosen) if chosen else None
    return page.render("plans.html", listed=listed, side=side, missing=missing,
                       chosen=[p["name"] for p in chosen], rows=_rows(side))


def _default(listed: PlansList) -> list[str]:
    """The plan of record first, then the newest others: four at most."""
    names = [p.name for p in listed.plans]
    if listed.plan_of_record in names:
        names.remove(listed.plan_of_record)
        names.append(listed.plan_of_record)
    return names[::-1][:COMPARE_AT_MOST]


def _rows(side: PlanComparison | None) -> list[dict[str, Any]]:
    """The share rows of the comparison table: one per P&L and per kind, a cell per plan."""
    if side is None:
        return []
    rows = []
    for group, label in (("by_pnl", "P&L"), ("by_kind", "Kind")):
        keys = sorted({s.key for p in side.plans for s in getattr(p, group)})
        for key in keys:
            cells = []
            for p in side.plans:
                found = next((s for s in getattr(p, group) if s.key == key), None)
                cells.append(found)
            rows.append({"group": label, "key": key, "cells": cells})
    return rows
