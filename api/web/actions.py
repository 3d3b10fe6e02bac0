"""Dashboard forms (sign-in, decisions, the P&L owner desk): in-process commands, then redirect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import principal_of
from api.deps import services
from api.errors import Unauthenticated
from api.web.csrf import PostUser, SignInChecked, check_origin, check_token
from api.web.forms import SubmissionForm, impact_field, read_form, validate
from api.web.oidc import OidcClient
from api.web.pages import Position, Text
from api.web.session import (
    COOKIE,
    demo_sign_in,
    embedded,
    end_session,
    persona_claims,
    personas,
    presession,
    require_user,
    safe_next,
    secure,
    start_session,
    store,
)
from api.web.views import Page, open_page, templates
from domain.errors import CxgovError
from domain.lifecycle import REVISABLE
from governance.identity import LINK_PURPOSE
from governance.principal import CX_EXEC, Principal
from governance.stores.sessions import Claims
from governance.usecases.preview import Preview, preview_score
from projections.rows import InitiativeCard

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]
LinkCode = Annotated[str, PathParam(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
OIDC_COOKIE = "cxgov_oidc"


def _sign_in_page(request: Request, *, next_url: str | None, error: str | None,
                  link: str | None = None, status: int = 200) -> HTMLResponse:
    verifier = services(request).verifier
    return templates.TemplateResponse(request, "sign_in.html", {
        "personas": personas(request), "demo": demo_sign_in(request),
        "embedded": embedded(verifier), "oidc": _oidc(request) is not None, "link": link,
        "next": safe_next(next_url), "error": error, "page": None, "who": None},
        status_code=status)


@router.get("/dashboard/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                 error: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """The sign-in page: a bearer-token field always; the provider's button with OIDC; the
    persona picker in `cxgov demo` only."""
    holder = Response()
    presession(request, holder)
    response = _sign_in_page(request, next_url=next, error=error)
    _copy_cookies(holder, response)
    return response


def _copy_cookies(source: Response, target: Response) -> None:
    for value in source.headers.getlist("set-cookie"):
        target.headers.append("set-cookie", value)


def _back_to_sign_in(next_url: str | None, error: str) -> RedirectResponse:
    query = urlencode({"next": safe_next(next_url), "error": error})
    return RedirectResponse(f"/dashboard/sign-in?{query}", status_code=303)


@router.post("/dashboard/sign-in", dependencies=[SignInChecked])
def sign_in(request: Request, next: Annotated[str, Form(max_length=500)] = "/dashboard",
            persona: Annotated[str, Form(max_length=200)] = "",
            token: Annotated[str, Form(max_length=8000)] = "") -> Response:
    """Start a session from a pasted bearer token, or a demo persona (`cxgov demo` only)."""
    not_after = None
    claims: Claims | None = None
    if persona:
        claims = persona_claims(request, persona)
        if claims is None:
            return _back_to_sign_in(next, "one-click persona sign-in is offered by the demo "
                                          "only (cxgov demo); sign in with a token or a link")
    elif token.strip():
        try:
            verified = services(request).verifier.claims(token.strip())
            claims = Claims.of(principal_of(verified))
        except CxgovError as exc:
            return _back_to_sign_in(next, exc.message)
        not_after = datetime.fromtimestamp(int(verified["exp"]), UTC)
    else:
        return _back_to_sign_in(next, "paste a bearer token")
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(request, response, claims, not_after=not_after)
    return response


@router.get("/dashboard/sign-in/{code}", response_class=HTMLResponse)
def sign_in_link_page(request: Request, code: LinkCode) -> Response:
    """A one-time link: a page whose button uses it (so link scanners cannot spend it)."""
    holder = Response()
    presession(request, holder)
    response = _sign_in_page(request, next_url=None, error=None, link=code)
    _copy_cookies(holder, response)
    return response


@router.post("/dashboard/sign-in/{code}", dependencies=[SignInChecked])
def sign_in_with_link(request: Request, code: LinkCode) -> Response:
    """Spend a one-time link printed by `cxgov sign-in-link`: a session for its person."""
    payload = store(request).redeem(LINK_PURPOSE, code)
    if payload is None:
        return _back_to_sign_in(None, "this sign-in link is unknown, already used or expired; "
                                      "ask for a new one")
    response = RedirectResponse("/dashboard", status_code=303)
    start_session(request, response, Claims.from_dict(payload))
    return response


def _oidc(request: Request) -> OidcClient | None:
    found: OidcClient | None = getattr(request.app.state, "oidc", None)
    return found


@router.get("/dashboard/oidc/start", name="oidc_start")
def oidc_start(request: Request,
               next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """Send the browser to the identity provider (authorization code + PKCE)."""
    client = _oidc(request)
    if client is None:
        return _back_to_sign_in(next, "no identity provider is configured")
    redirect_uri = client.redirect_url or str(request.url_for("oidc_callback"))
    try:
        url, state = client.start(store(request), next_url=safe_next(next),
                                  redirect_uri=redirect_uri)
    except CxgovError as exc:
        return _back_to_sign_in(next, exc.message)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(OIDC_COOKIE, state, max_age=600, httponly=True, samesite="lax",
                        secure=secure(request), path="/dashboard/oidc")
    return response


@router.get("/dashboard/oidc/callback", name="oidc_callback", response_class=HTMLResponse)
def oidc_callback(request: Request, code: Annotated[str, Query(max_length=2000)] = "",
                  state: Annotated[str, Query(max_length=200)] = "",
                  error: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The provider's redirect: verify, start a session, then continue on this site."""
    client = _oidc(request)
    if client is None:
        return _back_to_sign_in(None, "no identity provider is configured")
    if error or not code or not state:
        return _back_to_sign_in(None, f"the identity provider did not sign you in: "
                                      f"{error or 'no code'}")
    try:
        claims, next_url = client.finish(store(request), code=code, state=state,
                                         bound_state=request.cookies.get(OIDC_COOKIE))
    except Unauthenticated as exc:
        response: Response = _back_to_sign_in(None, exc.message)
    else:
        # A 200 page that moves on by itself: the browser does not send a SameSite=Strict
        # cookie on a redirect chain that started on the provider's site.
        response = templates.TemplateResponse(request, "signed_in.html", {
            "next": safe_next(next_url), "page": None, "who": None})
        start_session(request, response, claims)
    response.delete_cookie(OIDC_COOKIE, path="/dashboard/oidc")
    return response


@router.post("/dashboard/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session: the server deletes it, so its cookie stops working everywhere."""
    check_origin(request)
    check_token(csrf, request.cookies.get(COOKIE))
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    end_session(request, response)
    return response


@router.post("/dashboard/initiatives/{initiative_id}/decide")
def decide(request: Request, initiative_id: UUID, who: PostUser,
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


def _owned(page: Page, who: Principal) -> list[InitiativeCard]:
    rows = page.snapshot.initiatives(page.period)
    if who.has(CX_EXEC):
        return [r for r in rows if r.kind != "pnl" or r.pnl in who.pnls]
    return [r for r in rows if r.pnl in who.pnls]


def _desk(page: Page, form: SubmissionForm, *, preview: Preview | None = None,
          status: int = 200) -> HTMLResponse:
    who = page.who
    policy = page.snapshot.policy()
    tiers = policy.terms.confidence_tiers if policy else {}
    return page.render(
        "desk.html", status=status, form=form, preview=preview, tiers=tiers,
        mine=_owned(page, who), revisable=REVISABLE,
        pnls=[p for p in page.snapshot.pnls() if p.code in who.pnls or who.has(CX_EXEC)],
        scenarios=page.snapshot.scenarios(), metrics=page.snapshot.metrics())


def _blank(page: Page, revise: UUID | None) -> SubmissionForm:
    form = read_form({"period": page.period, "kind": "pnl",
                      "pnl": next(iter(sorted(page.who.pnls)), "")})
    if revise is None:
        return form
    card = page.snapshot.initiative(str(revise))
    if card is None:
        return form
    p = card.proposal
    data: dict[str, Any] = {
        "period": card.period, "kind": card.kind, "pnl": card.pnl or "",
        "title": p.title, "problem": p.problem, "scenario": p.scenario or "",
        "cost": p.cost, "confidence": p.confidence,
        "touchpoints": ", ".join(p.touchpoints),
        "functional_areas": ", ".join(p.functional_areas),
        "initiative_id": card.id, "version": card.version}
    for i, claim in enumerate(p.expected_impacts[:3]):
        data |= {f"impact_metric_{i}": claim.metric,
                 f"impact_value_{i}": claim.expected_value,
                 f"impact_reach_{i}": claim.reach}
    return read_form(data)


@router.get("/dashboard/desk", response_class=HTMLResponse)
def desk(request: Request, who: Annotated[Principal, Depends(require_user)],
         period: Text = None, as_of: Text = None, min_position: Position = None,
         revise: Annotated[UUID | None, Query()] = None) -> HTMLResponse:
    """The P&L owner's desk: their initiatives and the submission/revision form."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    return _desk(page, _blank(page, revise))


@router.post("/dashboard/desk", response_class=HTMLResponse)
async def submit(request: Request, who: PostUser) -> Response:
    """Preview the score, or submit/revise; errors are shown next to their fields."""
    data = await request.form()
    form = validate(read_form({k: v for k, v in data.items() if isinstance(v, str)}))
    page = open_page(request, who, period=form.values["period"] or None, strict_period=False)
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
