"""Dashboard sign-in: a cookie holding a bearer token (minted for a persona in embedded mode)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.auth import TokenVerifier
from api.deps import services
from domain.errors import CxgovError
from governance.cli_api import Persona, demo_personas, mint_token
from governance.principal import Principal

COOKIE = "cxgov_token"
SESSION_SECONDS = 8 * 3600


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""


def embedded(verifier: TokenVerifier) -> bool:
    """True when this server signs its own HS256 tokens (the persona picker is offered)."""
    return verifier.secret is not None and verifier.jwks is None


def personas(verifier: TokenVerifier) -> list[Persona]:
    """The demo personas, offered in embedded mode only."""
    return demo_personas() if embedded(verifier) else []


def persona_token(verifier: TokenVerifier, sub: str) -> str | None:
    """A fresh token for a demo persona, minted server side; None if unknown or not embedded."""
    found = next((p for p in personas(verifier) if p.sub == sub), None)
    if found is None or verifier.secret is None:
        return None
    return mint_token(verifier.secret, sub=found.sub, roles=found.roles, pnls=found.pnls,
                      name=found.name, issuer=verifier.issuer, audience=verifier.audience,
                      ttl=SESSION_SECONDS)


def signed_in(request: Request) -> Principal | None:
    """The principal of the session cookie, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return services(request).verifier.verify(token)
    except CxgovError:
        return None


def require_user(request: Request) -> Principal:
    """The signed-in principal; otherwise redirect to sign in."""
    who = signed_in(request)
    if who is None:
        raise SignInRequired
    return who


def start_session(response: Response, token: str, *, secure: bool) -> None:
    """Set the session cookie (HttpOnly, SameSite=Strict: no cross-site form posts)."""
    response.set_cookie(COOKIE, token, max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=secure, path="/")


def end_session(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(COOKIE, path="/")


async def to_sign_in(request: Request, exc: Exception) -> Response:
    """Exception handler: send the browser to the sign-in page, then back."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/sign-in?next={quote(target, safe='')}",
                            status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a dashboard path of this server."""
    if target and target.startswith("/dashboard") and "//" not in target:
        return target
    return "/dashboard"
