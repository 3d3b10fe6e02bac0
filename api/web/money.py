"""Money over time on the dashboard (issue 14): the ledger page (committed, spent, released,
available, by P&L, kind and touchpoint), and the stop and descope forms of a funded
initiative's page. Forms run the command in process, then redirect (303) to the page with
the result, or back with the refusal by its field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import services
from api.web.csrf import PostUser
from api.web.session import require_user
from api.web.views import Page, open_page
from domain.errors import CxgovError, InvalidInput
from governance.principal import Principal
from projections.rows import InitiativeCard, Ledger

router = APIRouter(include_in_schema=False)
User = Annotated[Principal, Depends(require_user)]
Text = Annotated[str | None, Query(max_length=40)]
ReasonText = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=40)]
ZERO = Decimal(0)


def money_context(page: Page, card: InitiativeCard) -> dict[str, Any]:
    """What the initiative page needs for its money section: may a CX executive stop or
    descope it now, and what a stop would release."""
    committed, spent = Decimal(card.committed), Decimal(card.spent)
    live = not page.historical
    return {"money": {
        "stoppable": live and card.status == "approved",
        "descopable": live and card.status in ("approved", "delivered") and committed > spent,
        "stop_releases": max(committed - spent, ZERO),
        "releasable": live and card.status in ("approved", "delivered")
        and any(not g.released for g in card.gates),
        "over_plan": spent > committed}}


def ledger_rows(ledger: Ledger) -> dict[str, list[dict[str, Any]]]:
    """Per P&L, kind, touchpoint and function: committed, spent, released (one row per key).
    The ledger keeps only what is committed per function (spent and released are None)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in ("pnl", "kind", "touchpoint"):
        committed: dict[str, str] = getattr(ledger, f"by_{name}")
        spent: dict[str, str] = getattr(ledger, f"spent_by_{name}")
        released: dict[str, str] = getattr(ledger, f"released_by_{name}")
        keys = sorted({*committed, *spent, *released})
        tables[name] = [{"key": k, "committed": committed.get(k, "0"),
                         "spent": spent.get(k, "0"), "released": released.get(k, "0")}
                        for k in keys]
    tables["function"] = [{"key": k, "committed": v, "spent": None, "released": None}
                          for k, v in sorted(ledger.by_functional_area.items())]
    return tables


@router.get("/dashboard/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, who: User, period: Text = None,
                as_of: Text = None) -> HTMLResponse:
    """The pool ledger over time: committed, spent, released, available, and breakdowns."""
    page = open_page(request, who, period=period, as_of=as_of)
    if page.period is None:
        return page.render("empty.html")
    ledger = page.snapshot.ledger(page.period)
    if ledger is None:
        return page.render("missing.html", status=404, what=f"period {page.period}")
    return page.render("ledger.html", ledger=ledger, tables=ledger_rows(ledger))


def _back(initiative_id: UUID, **query: Any) -> RedirectResponse:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(f"/dashboard/initiatives/{initiative_id}?{urlencode(kept)}#money",
                            status_code=303)


@router.post("/dashboard/initiatives/{initiative_id}/stop")
def stop(request: Request, initiative_id: UUID, who: PostUser,
         reason: ReasonText = "") -> Response:
    """Stop approved work (CX executive): what is committed and not spent goes back to the
    pool. Back to the initiative with the result, or with the refusal by its field."""
    gov = services(request).gov
    try:
        result = gov.stop_initiative(who, initiative_id=initiative_id, reason=reason)
    except CxgovError as exc:
        return _back(initiative_id, money_error=exc.message, money_code=exc.code,
                     money_form="stop", money_field=exc.details.get("field") or "reason")
    return _back(initiative_id, min_position=result.position, done=f"stopped: {result.status}")


@router.post("/dashboard/initiatives/{initiative_id}/release-tranche")
def release(request: Request, initiative_id: UUID, who: PostUser,
            gate: Annotated[str, Form(max_length=100)] = "",
            rationale: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Release a gate's tranche (CX executive): a decision, comply or explain, four eyes on
    the tranche. Back to the initiative with the result, or the refusal by its field."""
    gov = services(request).gov
    try:
        result = gov.release_tranche(who, initiative_id=initiative_id, gate=gate,
                                     rationale=rationale)
    except CxgovError as exc:
        return _back(initiative_id, money_error=exc.message, money_code=exc.code,
                     money_form="release", money_field=exc.details.get("field") or "gate")
    released = result.decision is not None and result.decision.available_after != \
        result.decision.available_before
    return _back(initiative_id, min_position=result.position,
                 done="tranche released" if released else "first approval of the tranche")


@router.post("/dashboard/initiatives/{initiative_id}/descope")
def descope(request: Request, initiative_id: UUID, who: PostUser, new_cost: Short = "",
            reason: ReasonText = "") -> Response:
    """Cut the commitment (CX executive): the difference goes back to the pool."""
    gov = services(request).gov
    try:
        try:
            cost = Decimal(new_cost.strip())
        except InvalidOperation:
            raise InvalidInput("new cost must be an amount such as 3000000",
                               field="new_cost") from None
        result = gov.descope_initiative(who, initiative_id=initiative_id, new_cost=cost,
                                        reason=reason)
    except CxgovError as exc:
        return _back(initiative_id, money_error=exc.message, money_code=exc.code,
                     money_form="descope", money_field=exc.details.get("field") or "new_cost")
    return _back(initiative_id, min_position=result.position, done="descoped")
