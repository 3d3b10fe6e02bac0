"""RFC 9457 problem responses: the one mapping from error codes to HTTP statuses."""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg
import psycopg_pool
from eventsourcing import persistence as es_persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import CxgovError
from governance.stores.integrity import StoreBusy
from projections.query import AsOfOutOfRange, NotCaughtUp

log = logging.getLogger("cxgov.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://cxgov.dev/problems/"
RETRY_AFTER_SECONDS = "1"

#: Exact codes first, then code prefixes (`validation.` ...), then suffixes (`.not_found`).
EXACT: dict[str, int] = {
    "policy.invalid": 422,
    "policy.not_adopted": 409,
    "idempotency.key_reused": 422,
    "resource.already_exists": 409,
    "state.invalid_transition": 409,
    "pool.insufficient_funds": 409,
    "pool.restatement_below_committed": 409,
    "pool.cap_out_of_range": 422,
    "period.closed": 409,
    "round.outside_intake": 409,  # issue 16, part 4: funding rounds
    "round.not_in_decision": 409,
    "round.review_closed": 409,
    "round.change_refused": 409,  # decision 200: a person's phase change refused
    "concurrency.conflict": 409,
    "concurrency.stale_version": 412,
    "concurrency.precondition_required": 428,
    "auth.forbidden": 403,
    "auth.unauthenticated": 401,
    "read.not_caught_up": 503,
    "read.as_of_invalid": 422,
    "audit.unavailable": 503,  # issue 18: no hash chain, or no signing key, for the Merkle log
}
PREFIXES: dict[str, int] = {"validation.": 422, "decision.": 422, "pool.": 409}
SUFFIXES: dict[str, int] = {".not_found": 404}


def status_for(code: str) -> int:
    """The HTTP status of an error code (unknown codes are the server's fault: 500)."""
    if code in EXACT:
        return EXACT[code]
    for prefix, status in PREFIXES.items():
        if code.startswith(prefix):
            return status
    for suffix, status in SUFFIXES.items():
        if code.endswith(suffix):
            return status
    return 500


class Unauthenticated(CxgovError):
    """No bearer token, or one that does not verify."""

    code = "auth.unauthenticated"
    title = "Authentication required"


class PreconditionRequired(CxgovError):
    """An update was sent without If-Match."""

    code = "concurrency.precondition_required"
    title = "If-Match required"


def problem_body(*, status: int, code: str, title: str, detail: str, instance: str,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The members of an RFC 9457 problem (also for middleware that answers without a
    Request object)."""
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status,
                            "detail": detail, "code": code, "instance": instance}
    body.update(extra or {})
    return body


def problem(request: Request, *, status: int, code: str, title: str, detail: str,
            extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response."""
    body = problem_body(status=status, code=code, title=title, detail=detail,
                        instance=request.url.path, extra=extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


async def cxgov_error(request: Request, exc: Exception) -> JSONResponse:
    """Domain and application errors, by their stable code."""
    assert isinstance(exc, CxgovError)
    status = status_for(exc.code)
    details = {k: v for k, v in exc.details.items() if v is not None}
    extra: dict[str, Any] = {"details": _json_safe(details)} if details else {}
    field = details.get("field")
    if status == 422 and field:
        extra["errors"] = [{"field": field, "message": exc.message, "code": exc.code}]
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return problem(request, status=status, code=exc.code, title=exc.title, detail=exc.message,
                   extra=extra, headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Malformed JSON and wrong types: 422 naming each field."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
               "location": str(e.get("loc", ("body",))[0]),
               "message": str(e.get("msg", "invalid")), "code": str(e.get("type", "invalid"))}
              for e in exc.errors()]
    return problem(request, status=422, code="validation.request", title="Invalid request",
                   detail="the request does not match the API schema", extra={"errors": errors})


async def not_caught_up(request: Request, exc: Exception) -> JSONResponse:
    """Read-your-writes timed out: retry shortly."""
    return problem(request, status=503, code=NotCaughtUp.code, title="Read model behind",
                   detail=str(exc), headers={"Retry-After": RETRY_AFTER_SECONDS})


async def as_of_invalid(request: Request, exc: Exception) -> JSONResponse:
    """An as-of value outside the log or not a time."""
    return problem(request, status=422, code=AsOfOutOfRange.code, title="Invalid as_of",
                   detail=str(exc), extra={"errors": [{"field": "as_of", "message": str(exc),
                                                       "code": AsOfOutOfRange.code}]})


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unknown route, wrong method) as problems."""
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "route.not_found", 405: "route.method_not_allowed"}.get(
        exc.status_code, f"http.{exc.status_code}")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(request, status=exc.status_code, code=code, title=str(exc.detail),
                   detail=str(exc.detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document lists for the request's path."""
    app = request.app
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allowed_methods", None)
    if table is None:
        table = [(re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"),
                  sorted(m.upper() for m in ops))
                 for path, ops in app.openapi()["paths"].items()]
        app.state.allowed_methods = table
    path = request.url.path
    return next((methods for pattern, methods in table if pattern.match(path)), [])


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: logged here, never shown to the client."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, status=500, code="server.error", title="Internal server error",
                   detail="the server could not complete the request; it has been logged")


#: Connection failures of the store (psycopg, its pool, or eventsourcing's wrappers of them).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout,
    es_persistence.OperationalError, es_persistence.InterfaceError)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database cannot be reached right now: 503, retry shortly (details in the log)."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem(request, status=503, code="database.unavailable",
                   title="Database unavailable",
                   detail="the database cannot be reached right now; retry shortly",
                   headers={"Retry-After": RETRY_AFTER_SECONDS})


async def store_busy(request: Request, exc: Exception) -> JSONResponse:
    """A write missed its deadline (the events table lock, or a statement timeout): nothing
    was written; 503, retry shortly (with the same Idempotency-Key)."""
    log.warning("store busy on %s %s: %s", request.method, request.url.path, exc)
    return problem(request, status=503, code="store.busy", title="Event store busy",
                   detail="the write could not get the event store within its deadline and "
                          "was not recorded; retry shortly",
                   headers={"Retry-After": RETRY_AFTER_SECONDS})


def install(app: FastAPI) -> None:
    """Register every handler on the app."""
    app.add_exception_handler(CxgovError, cxgov_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(NotCaughtUp, not_caught_up)
    app.add_exception_handler(AsOfOutOfRange, as_of_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for cls in DATABASE_UNAVAILABLE:
        app.add_exception_handler(cls, database_unavailable)
    app.add_exception_handler(StoreBusy, store_busy)  # wins over its base (looked up by MRO)
    app.add_exception_handler(Exception, unexpected)
