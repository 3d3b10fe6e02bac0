"""CSRF defence in depth for every dashboard POST (besides the SameSite=Strict cookies).

1. Fetch metadata and origin: a POST whose `Sec-Fetch-Site` is neither `same-origin` nor
   `none`, or whose `Origin` names another host (or is `null`), is refused.
2. A synchronizer token in every form (field `csrf`): sha256 of the session id (signed in) or
   of the pre-session cookie (the sign-in forms: login CSRF). The cookies are HttpOnly, so a
   page of another site can neither read them nor compute the token.

A refusal is a 403 problem with code `auth.csrf`, before any command runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import JSONResponse
from markupsafe import Markup

from api.errors import problem
from api.web.session import COOKIE, PRESESSION_COOKIE, require_user
from api.web.views import templates
from governance.principal import Principal

FIELD = "csrf"
CODE = "auth.csrf"
ALLOWED_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class CsrfRefused(Exception):
    """A dashboard POST that may have come from another site."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def token_for(seed: str) -> str:
    """The form token of a session id or pre-session value."""
    mac = hashlib.sha256(b"cxgov-csrf\x00" + seed.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def csrf_token(request: Request) -> str:
    """The token the forms of this page carry ('' when the page has no session)."""
    seed = getattr(request.state, "csrf_seed", None)
    return token_for(seed) if isinstance(seed, str) and seed else ""


def csrf_field(request: Request) -> Markup:
    """The hidden form field (a Jinja global: `{{ csrf_field(request) }}`)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, csrf_token(request))


def _host(netloc: str, scheme: str) -> str | None:
    """host[:port] without the scheme's default port; None if unparsable."""
    parts = urlsplit("//" + netloc)
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    shown = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return shown if port is None or DEFAULT_PORTS.get(scheme) == port else f"{shown}:{port}"


def check_origin(request: Request) -> None:
    """Refuse a cross-site POST by its fetch metadata or its Origin header.

    The Origin's host (and port) must be this server's Host; the scheme is not compared, so a
    TLS-terminating proxy in front of the server works."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ALLOWED_SITES:
        raise CsrfRefused(f"a {site} form post is refused (Sec-Fetch-Site)")
    origin = request.headers.get("origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    own = request.headers.get("host", "")
    theirs = _host(parts.netloc, parts.scheme) if origin != "null" else None
    if theirs is None or theirs != _host(own, request.url.scheme):
        raise CsrfRefused("a form post from another origin is refused (Origin)")


def check_token(sent: str, seed: str | None) -> None:
    """Refuse a form whose token does not match its session or pre-session."""
    if not seed or not sent or not hmac.compare_digest(sent.encode(), token_for(seed).encode()):
        raise CsrfRefused("the form's CSRF token is missing or does not match this session; "
                          "reload the page and try again")


def checked_sign_in(request: Request,
                    csrf: Annotated[str, Form(max_length=200)] = "") -> None:
    """Dependency of the sign-in forms: origin, then the pre-session token."""
    check_origin(request)
    check_token(csrf, request.cookies.get(PRESESSION_COOKIE))


def posting_user(request: Request,
                 csrf: Annotated[str, Form(max_length=200)] = "") -> Principal:
    """Dependency of every signed-in dashboard POST: origin, session, then the token."""
    check_origin(request)
    who = require_user(request)
    check_token(csrf, request.cookies.get(COOKIE))
    return who


PostUser = Annotated[Principal, Depends(posting_user)]
SignInChecked = Depends(checked_sign_in)


async def refused(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler: 403 problem `auth.csrf`."""
    message = exc.message if isinstance(exc, CsrfRefused) else "refused"
    return problem(request, status=403, code=CODE, title="Cross-site request refused",
                   detail=message)


templates.env.globals["csrf_field"] = csrf_field
