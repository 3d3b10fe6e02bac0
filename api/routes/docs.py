"""OpenAPI response documentation shared by the routers."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "instance"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["pool.insufficient_funds"]},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "details": {"type": "object"},
    },
}
_TEXT = {
    401: "Missing or invalid bearer token (auth.unauthenticated).",
    403: "The caller's roles do not allow this (auth.forbidden).",
    404: "Not found (period.not_found, initiative.not_found ...).",
    409: "Conflicts with the current state (pool.insufficient_funds, "
         "resource.already_exists, state.invalid_transition, concurrency.conflict).",
    412: "If-Match names a stale version (concurrency.stale_version).",
    422: "Invalid request or a business rule (validation.*, decision.*, "
         "idempotency.key_reused).",
    503: "Read model not caught up to min_position yet (read.not_caught_up); retry.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem+json responses for the given statuses, plus a default."""
    found: dict[int | str, dict[str, Any]] = {
        status: {"description": _TEXT[status],
                 "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
        for status in (401, 422, *statuses)}
    found["default"] = {"description": "Unexpected error (problem+json).",
                        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
    return found


WRITE = problems(403, 404, 409)
READ = problems(403, 404, 503)
