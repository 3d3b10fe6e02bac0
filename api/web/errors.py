"""Error pages for the dashboard: a 404 or 422 on a dashboard address is an HTML page in the
dashboard's frame, saying what was not found or not taken; API routes keep problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors
from api.web.session import signed_in
from api.web.views import PageNotFound, roles_of, templates

TITLES = {404: "Not found", 405: "Not allowed", 422: "Not understood"}


def is_dashboard(request: Request) -> bool:
    """True for the dashboard's own addresses (its pages and forms)."""
    path = request.url.path
    return path in {"/", "/dashboard"} or path.startswith("/dashboard/")


def error_page(request: Request, status: int, what: str, *,
               choices: list[tuple[str, str]] | None = None,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    """The error page, with the dashboard's header when someone is signed in."""
    who = signed_in(request)
    return templates.TemplateResponse(request, "error.html", {
        "page": None, "who": who, "roles": roles_of(who) if who else {},
        "status": status, "title": TITLES.get(status, f"Error {status}"), "what": what,
        "choices": choices or []}, status_code=status, headers=headers)


async def page_not_found(request: Request, exc: Exception) -> Response:
    """An unknown period (or other named thing) in a dashboard address: 404 naming it."""
    assert isinstance(exc, PageNotFound)
    path = request.url.path
    return error_page(request, 404, exc.what,
                      choices=[(p, f"{path}?period={p}") for p in exc.choices])


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown dashboard address (404) or method (405): a page; elsewhere a problem."""
    assert isinstance(exc, StarletteHTTPException)
    if not is_dashboard(request):
        return await errors.http_error(request, exc)
    what = {404: f"There is no dashboard page at {request.url.path}.",
            405: f"{request.method} is not how {request.url.path} is used."}.get(
        exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    return error_page(request, exc.status_code, what, headers=headers or None)


def _field(error: dict[str, Any]) -> str:
    names = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body")]
    return ".".join(names) or "the request"


async def validation_error(request: Request, exc: Exception) -> Response:
    """A value the dashboard does not take (a malformed id, an over-long field): 422 page
    naming each field; elsewhere a problem."""
    assert isinstance(exc, RequestValidationError)
    if not is_dashboard(request):
        return await errors.validation_error(request, exc)
    reasons = "; ".join(f"{_field(e)}: {str(e.get('msg', 'invalid')).lower()}"
                        for e in exc.errors())
    return error_page(request, 422, f"This address has a value the page does not take "
                                    f"({reasons}).")
