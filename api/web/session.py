"""Dashboard sign-in and sessions: an opaque session id in the cookie, the session server side.

The cookie `cxgov_session` holds a random id; the server keeps sha256(id) with the principal's
claims (governance/stores/sessions.py) and checks it on every request: a session ends after
`session_idle_seconds` without a request (default 30 min), `session_max_seconds` after sign-in
(default 8 h; a pasted token's session also ends when the token does), or at sign-out, which
deletes it. The cookie is not a bearer token: the API never accepts it.

Ways in: a pasted bearer token (always), a one-time link printed by `cxgov sign-in-link`
(embedded mode), the OIDC provider (api/web/oidc.py), and, in `cxgov demo` only
(`CXGOV_DEMO_SIGN_IN`), the one-click persona picker.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.auth import TokenVerifier
from api.deps import services
from governance.bootstrap import Runtime
from governance.identity import Persona, demo_personas
from governance.principal import Principal
from governance.settings import Settings
from governance.stores.sessions import Claims, Sessions, sessions_of

COOKIE = "cxgov_session"
#: A random value set by the sign-in pages: the sign-in forms' CSRF tokens derive from it.
PRESESSION_COOKIE = "cxgov_presession"
PRESESSION_SECONDS = 3600


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app serving this request."""
    found: Runtime = request.app.state.runtime
    return found


def settings_of(request: Request) -> Settings:
    """The settings of the app serving this request."""
    return runtime_of(request).settings


def store(request: Request) -> Sessions:
    """The session store (PostgreSQL, or the process on the in-memory store)."""
    return sessions_of(runtime_of(request))


def embedded(verifier: TokenVerifier) -> bool:
    """True when this server signs its own HS256 tokens (no identity provider)."""
    return verifier.secret is not None and verifier.jwks is None


def demo_sign_in(request: Request) -> bool:
    """True only in `cxgov demo` (CXGOV_DEMO_SIGN_IN) on an embedded-mode server."""
    return settings_of(request).demo_sign_in and embedded(services(request).verifier)


def personas(request: Request) -> list[Persona]:
    """The demo personas, offered by the demo alone."""
    return demo_personas() if demo_sign_in(request) else []


def persona_claims(request: Request, sub: str) -> Claims | None:
    """The claims of a demo persona; None if unknown or the demo sign-in is off."""
    found = next((p for p in personas(request) if p.sub == sub), None)
    if found is None:
        return None
    return Claims(found.sub, found.name, found.roles, found.pnls,
                  services(request).verifier.issuer)


def signed_in(request: Request) -> Principal | None:
    """The principal of a live session, or None (the session's idle clock restarts)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id or len(session_id) > 200:
        return None
    claims = store(request).find(session_id)
    if claims is None:
        return None
    request.state.csrf_seed = session_id
    return claims.principal()


def require_user(request: Request) -> Principal:
    """The signed-in principal; otherwise redirect to sign in."""
    who = signed_in(request)
    if who is None:
        raise SignInRequired
    return who


def secure(request: Request) -> bool:
    """Mark cookies Secure when the request came over HTTPS."""
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, claims: Claims, *,
                  not_after: datetime | None = None) -> None:
    """Start a server-side session and set its cookie (HttpOnly, SameSite=Strict)."""
    settings = settings_of(request)
    sessions = store(request)
    previous = request.cookies.get(COOKIE)
    if previous and len(previous) <= 200:
        sessions.end(previous)  # signing in again (as anyone) ends the session this browser had
    lifetime = timedelta(seconds=settings.session_max_seconds)
    if not_after is not None:
        lifetime = min(lifetime, not_after - sessions.clock())
    session_id = sessions.start(claims, idle=timedelta(seconds=settings.session_idle_seconds),
                                lifetime=lifetime)
    response.set_cookie(COOKIE, session_id, max_age=max(int(lifetime.total_seconds()), 1),
                        httponly=True, samesite="strict", secure=secure(request), path="/")
    response.delete_cookie(PRESESSION_COOKIE, path="/dashboard")


def end_session(request: Request, response: Response) -> None:
    """Delete the server-side session and clear its cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id and len(session_id) <= 200:
        store(request).end(session_id)
    response.delete_cookie(COOKIE, path="/")


def presession(request: Request, response: Response) -> None:
    """Give a browser on a sign-in page the pre-session value its CSRF token derives from."""
    value = request.cookies.get(PRESESSION_COOKIE)
    if not value or len(value) > 200:
        value = secrets.token_urlsafe(32)
        response.set_cookie(PRESESSION_COOKIE, value, max_age=PRESESSION_SECONDS,
                            httponly=True, samesite="strict", secure=secure(request),
                            path="/dashboard")
    request.state.csrf_seed = value


async def to_sign_in(request: Request, exc: Exception) -> Response:
    """Exception handler: send the browser to the sign-in page, then back."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/sign-in?next={quote(target, safe='')}",
                            status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a dashboard path of this server."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return "/dashboard"
