"""The request-body guard: every body is checked before any route sees it.

One pure ASGI middleware, in front of the API and the dashboard, so that no route can forget:

- `Content-Encoding` other than `identity`: 415 `request.unsupported_encoding` (a compressed
  body would be parsed as garbage, or inflate without bound);
- more than `MAX_BODY_BYTES`: 413 `request.too_large`, counted as the body streams in, so a
  missing or lying `Content-Length` changes nothing;
- a JSON body (`application/json` or `+json`) that is not strict JSON: 422 `validation.body`
  naming why — invalid UTF-8, a duplicated object key (JSON parsers disagree about which one
  wins, so the body is ambiguous), `NaN` / `Infinity`, nesting deeper than `MAX_DEPTH`, or a
  number too long to read.

A refused body never reaches a route, so it writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, problem_body

#: The largest body accepted: the largest documented request (10,000 readings in one bulk
#: observation call, each with a cohort and a P&L) is under 2 MiB.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Deepest JSON nesting accepted (the deepest request schema nests five levels).
MAX_DEPTH = 32


class BodyRefused(Exception):
    """The body is not acceptable; carries the problem to answer with."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _depth(value: Any) -> int:
    """The nesting depth of a parsed JSON value (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_json(body: bytes) -> None:
    """Raise BodyRefused unless the body is strict JSON within the depth limit."""

    def invalid(detail: str) -> BodyRefused:
        return BodyRefused(422, "validation.body", "Invalid JSON body", detail)

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        parsed = json.loads(text, object_pairs_hook=_no_duplicates,
                            parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError, duplicate keys, NaN, over-long integers
        raise invalid(f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # the C parser recurses once per level
        raise invalid(f"the body nests deeper than {MAX_DEPTH} levels") from None
    if _depth(parsed) > MAX_DEPTH:
        raise invalid(f"the body nests deeper than {MAX_DEPTH} levels")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


class BodyGuard:
    """Pure ASGI middleware: check each request body, then replay it to the app."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
            if body and _is_json(_header(scope, b"content-type")):
                check_json(body)
        except BodyRefused as refused:
            await _answer(scope, send, refused)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        encoding = (_header(scope, b"content-encoding") or "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise BodyRefused(415, "request.unsupported_encoding", "Unsupported encoding",
                              f"Content-Encoding {encoding!r} is not accepted: send the body "
                              "uncompressed")
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isascii() and declared.strip().isdigit() \
                and int(declared.strip()[:20]) > self.max_bytes:
            raise _too_large(self.max_bytes)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _too_large(self.max_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, "request.too_large", "Request body too large",
                       f"the body is larger than {limit:,} bytes")


async def _answer(scope: Scope, send: Send, refused: BodyRefused) -> None:
    extra = None
    if refused.status == 422:
        extra = {"errors": [{"field": "body", "location": "body", "message": refused.detail,
                             "code": refused.code}]}
    payload = json.dumps(problem_body(status=refused.status, code=refused.code,
                                      title=refused.title, detail=refused.detail,
                                      instance=scope.get("path", ""), extra=extra)).encode()
    await send({"type": "http.response.start", "status": refused.status, "headers": [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})
