"""A per-request timeline for finding latency stalls: on only when `CXGOV_TIMELINE` names a
folder, and then not a line of it runs per request otherwise (`install` returns at once).

When on, each API process appends one JSON line per request to
`<folder>/timeline-<pid>.jsonl`: the request id (`X-Request-ID`), method, path, status, and
`marks`, a list of `[name, t]` with `t` from `time.monotonic()` (CLOCK_MONOTONIC, the same
clock in every process on the machine, so the load generator's own timestamps line up):

- `recv`: the ASGI app saw the request; `start`: the response started; `sent`: its last byte
  was handed to the server;
- `handler`: the command began in its worker thread (`Commands.transact`);
- `turn.wait` / `turn.local` / `turn.got` / `turn.done`: the pool's turn asked for, the
  process's lock taken, the advisory lock taken (`governance/stores/turns.py`), given back;
- `conn.wait` / `conn.got`: a connection asked of the pool and handed out;
- `save` / `saved`: `Application.save` (the write transaction, commit included);
- `gc` events of the whole process (`gc.callbacks`: generation, start, stop) are written as
  their own lines (`{"gc": generation, "start": t, "stop": t}`), since a collection stalls
  every thread, not one request.

The hooks are wrappers put around those methods at install time, so the code they measure
carries no timing calls. `python -m ops.bench.timeline` runs the latency row with this on and
reports what the slow requests have in common.
"""

from __future__ import annotations

import contextvars
import gc
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENV = "CXGOV_TIMELINE"

_marks: contextvars.ContextVar[list[tuple[str, float]] | None] = contextvars.ContextVar(
    "cxgov_timeline", default=None)


def mark(name: str) -> None:
    """Note a moment of the current request (nothing outside a timed request)."""
    found = _marks.get()
    if found is not None:
        found.append((name, time.monotonic()))


class _Sink:
    """One file per process; lines written under a lock."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"timeline-{os.getpid()}.jsonl"
        self.lock = threading.Lock()
        self.gc_started: dict[int, float] = {}
        self.pending: deque[dict[str, Any]] = deque()  # appended to by gc callbacks

    def write(self, line: dict[str, Any]) -> None:
        with self.lock:
            lines = [line]
            while self.pending:
                lines.append(self.pending.popleft())
            with self.path.open("a") as out:
                out.writelines(json.dumps(item, separators=(",", ":")) + "\n" for item in lines)

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks: keep the collection's span (written with the next request line)."""
        now = time.monotonic()
        generation = int(info.get("generation", -1))
        if phase == "start":
            self.gc_started[generation] = now
        else:
            started = self.gc_started.pop(generation, now)
            self.pending.append({"gc": generation, "start": started, "stop": now,
                                 "collected": info.get("collected", 0)})


class TimelineMiddleware:
    """Outermost ASGI middleware: the request's marks, one line when it is sent."""

    def __init__(self, app: ASGIApp, sink: _Sink) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        marks: list[tuple[str, float]] = [("recv", time.monotonic())]
        token = _marks.set(marks)
        status = 0

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                marks.append(("start", time.monotonic()))
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                marks.append(("sent", time.monotonic()))

        try:
            await self.app(scope, receive, timed)
        finally:
            _marks.reset(token)
            request_id = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                               if k.lower() == b"x-request-id"), None)
            self.sink.write({"id": request_id, "method": scope["method"],
                             "path": scope.get("path"), "status": status,
                             "marks": [[n, t] for n, t in marks]})


def _wrap_call(owner: type, name: str, before: str, after: str | None) -> None:
    """Mark `before` on entering owner.name and `after` on its return."""
    inner: Callable[..., Any] = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        mark(before)
        try:
            return inner(*args, **kwargs)
        finally:
            if after:
                mark(after)

    setattr(owner, name, wrapped)


def _wrap_context(owner: type, name: str, before: str, entered: str, left: str) -> None:
    """Mark asking for, entering and leaving the context manager owner.name(...)."""
    inner: Callable[..., Any] = getattr(owner, name)

    @contextmanager
    def wrapped(*args: Any, **kwargs: Any) -> Iterator[Any]:
        mark(before)
        with inner(*args, **kwargs) as value:
            mark(entered)
            try:
                yield value
            finally:
                mark(left)

    setattr(owner, name, wrapped)


_installed: list[str] = []


def _hooks() -> None:
    """Put the marks around the turn, the pool's connections and the save (once)."""
    if _installed:
        return
    from eventsourcing.postgres import PostgresDatastore

    from governance.stores.turns import StreamTurns
    from governance.usecases.base import Commands

    _wrap_call(Commands, "transact", "handler", "handled")
    _wrap_call(Commands, "save", "save", "saved")
    _wrap_context(StreamTurns, "turn", "turn.wait", "turn.local", "turn.done")
    _wrap_context(StreamTurns, "_advisory", "turn.ask", "turn.got", "turn.give")
    _wrap_context(PostgresDatastore, "get_connection", "conn.wait", "conn.got", "conn.back")
    _installed.append("yes")


def install(app: Any, folder: str | None = None) -> _Sink | None:
    """Add the timeline to an app when `CXGOV_TIMELINE` (or `folder`) names a folder; None
    (and nothing added) otherwise."""
    folder = folder or os.environ.get(ENV)
    if not folder:
        return None
    sink = _Sink(Path(folder))
    gc.callbacks.append(sink.on_gc)
    _hooks()
    app.add_middleware(TimelineMiddleware, sink=sink)
    return sink
