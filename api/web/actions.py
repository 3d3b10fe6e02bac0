"""Dashboard forms (sign-in, decisions, the P&L owner desk): in-process commands, then redirect."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import services
from api.web.forms import SubmissionForm, impact_field, read_form, validate
from api.web.pages import Position, Text, User
from api.web.session import (
    embedded,
    end_session,
    persona_token,
    personas,
    require_user,
    safe_next,
    start_session,
)
from api.web.views import UNDECIDED, Page, open_page, templates
from domain.errors import CxgovError
from governance.preview import Preview, preview_score
from governance.principal import CX_EXEC, Principal

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]


@router.get("/dashboard/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Text = None, error: Text = None) -> HTMLResponse:
    """A persona picker in embedded mode; a bearer-token field always."""
    verifier = services(request).verifier
    return templates.TemplateResponse(request, "sign_in.html", {
        "personas": personas(verifier), "embedded": embedded(verifier),
        "next": safe_next(next), "error": error, "page": None, "who": None})


@router.post("/dashboard/sign-in")
def sign_in(request: Request, next: Annotated[str, Form(max_length=500)] = "/dashboard",
            persona: Annotated[str, Form(max_length=200)] = "",
            token: Annotated[str, Form(max_length=8000)] = "") -> Response:
    """Start a session from a persona (embedded mode) or a pasted bearer token."""
    verifier = services(request).verifier
    chosen = persona_token(verifier, persona) if persona else token.strip()
    error = None
    if not chosen:
        error = "choose a persona or paste a bearer token"
    else:
        try:
            verifier.verify(chosen)
        except CxgovError as exc:
            error = exc.message
    if error or not chosen:
        query = urlencode({"next": safe_next(next), "error": error})
        return RedirectResponse(f"/dashboard/sign-in?{query}", status_code=303)
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(response, chosen, secure=request.url.scheme == "https")
    return response


@router.post("/dashboard/sign-out")
def sign_out() -> Response:
    """End the session."""
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    end_session(response)
    return response


@router.post("/dashboard/initiatives/{initiative_id}/decide")
def decide(request: Request, initiative_id: UUID, who: User,
           outcome: Annotated[str, Form(pattern="^(approve|reject|defer)$")],
           rationale: Annotated[str, Form(max_length=4000)] = "",
           back: Annotated[str, Form(max_length=500)] = "/dashboard") -> Response:
    """Approve, reject or defer; a refused decision comes back with the reason by its field."""
    gov = services(request).gov
    back = safe_next(back)
    try:
        result = gov.decide(who, initiative_id=initiative_id, outcome=outcome,
                            rationale=rationale)
    except CxgovError as exc:
        query = urlencode({"error": exc.message, "code": exc.code, "on": str(initiative_id),
                           "field": exc.details.get("field") or "outcome"})
        return RedirectResponse(f"{back.split('?')[0]}?{query}#decide-{initiative_id}",
                                status_code=303)
    query = urlencode({"min_position": result.position, "done": f"{outcome}: {result.status}"})
    return RedirectResponse(f"{back.split('?')[0]}?{query}", status_code=303)


def _owned(page: Page, who: Principal) -> list[dict[str, Any]]:
    rows = page.snapshot.documents("initiative", period=page.period)
    if who.has(CX_EXEC):
        return [r for r in rows if r["kind"] != "pnl" or r["pnl"] in who.pnls]
    return [r for r in rows if r["pnl"] in who.pnls]


def _desk(page: Page, form: SubmissionForm, *, preview: Preview | None = None,
          status: int = 200) -> HTMLResponse:
    who = page.who
    policies = page.snapshot.documents("policy")
    tiers = policies[-1]["terms"]["confidence_tiers"] if policies else {}
    return page.render(
        "desk.html", status=status, form=form, preview=preview, tiers=tiers,
        mine=_owned(page, who), undecided=UNDECIDED,
        pnls=[p for p in page.snapshot.documents("pnl")
              if p["code"] in who.pnls or who.has(CX_EXEC)],
        scenarios=page.snapshot.documents("scenario"),
        metrics=page.snapshot.documents("metric"))


def _blank(page: Page, revise: UUID | None) -> SubmissionForm:
    form = read_form({"period": page.period, "kind": "pnl",
                      "pnl": next(iter(sorted(page.who.pnls)), "")})
    if revise is None:
        return form
    found = page.snapshot.documents("initiative", key=str(revise))
    if not found:
        return form
    card, p = found[0], found[0]["proposal"]
    data: dict[str, Any] = {
        "period": card["period"], "kind": card["kind"], "pnl": card["pnl"] or "",
        "title": p["title"], "problem": p["problem"], "scenario": p["scenario"] or "",
        "cost": p["cost"], "confidence": p["confidence"],
        "touchpoints": ", ".join(p["touchpoints"]),
        "functional_areas": ", ".join(p["functional_areas"]),
        "initiative_id": card["id"], "version": card["version"]}
    for i, claim in enumerate(p["expected_impacts"][:3]):
        data |= {f"impact_metric_{i}": claim["metric"],
                 f"impact_value_{i}": claim["expected_value"],
                 f"impact_reach_{i}": claim["reach"]}
    return read_form(data)


@router.get("/dashboard/desk", response_class=HTMLResponse)
def desk(request: Request, who: Annotated[Principal, Depends(require_user)],
         period: Text = None, as_of: Text = None, min_position: Position = None,
         revise: Annotated[UUID | None, Query()] = None) -> HTMLResponse:
    """The P&L owner's desk: their initiatives and the submission/revision form."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    return _desk(page, _blank(page, revise))


@router.post("/dashboard/desk", response_class=HTMLResponse)
async def submit(request: Request, who: User) -> Response:
    """Preview the score, or submit/revise; errors are shown next to their fields."""
    data = await request.form()
    form = validate(read_form({k: v for k, v in data.items() if isinstance(v, str)}))
    page = open_page(request, who, period=form.values["period"] or None)
    if form.errors or form.body is None:
        return _desk(page, form, status=422)
    body, gov = form.body, page.services.gov
    revising = UUID(form.values["initiative_id"]) if form.values["initiative_id"] else None
    try:
        if data.get("action") == "preview":
            preview = preview_score(gov, period=body.period, kind=body.kind, pnl=body.pnl,
                                    proposal=form.proposal.check(), replacing=revising)
            return _desk(page, form, preview=preview)
        if revising is None:
            result = gov.submit_initiative(who, period=body.period, kind=body.kind,
                                           pnl=body.pnl, proposal=form.proposal)
        else:
            result = gov.revise_initiative(
                who, initiative_id=revising, changes=_changes(form),
                reason=form.values["reason"] or "revised on the desk",
                expected_version=int(form.values["version"] or 0) or None)
    except CxgovError as exc:
        form.errors[impact_field(exc.details.get("field"), form)] = exc.message
        return _desk(page, form, status=422)
    query = urlencode({"min_position": result.position, "done": f"saved: {result.status or 'ok'}"})
    return RedirectResponse(f"/dashboard/initiatives/{result.id}?{query}", status_code=303)


def _changes(form: SubmissionForm) -> dict[str, Any]:
    p = form.proposal
    return {"title": p.title, "problem": p.problem, "scenario": p.scenario,
            "touchpoints": p.touchpoints, "functional_areas": p.functional_areas,
            "cost": p.cost, "confidence": p.confidence,
            "expected_impacts": p.expected_impacts}
