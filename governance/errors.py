"""Errors raised by the application layer (access, lookup, concurrency)."""

from __future__ import annotations

from domain.errors import CxgovError


class Forbidden(CxgovError):
    """The principal may not run this command."""

    code = "auth.forbidden"
    title = "Forbidden"


class ConcurrencyConflict(CxgovError):
    """The command lost a race too many times; the client may retry."""

    code = "concurrency.conflict"
    title = "Concurrent update"


class StaleVersion(CxgovError):
    """The client's expected version (If-Match) is not the current one."""

    code = "concurrency.stale_version"
    title = "Version mismatch"
