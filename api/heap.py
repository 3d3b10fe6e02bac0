"""Keep what reads build out of the cyclic collector's way (decision 271).

A read at a new position builds long-lived state: the period's documents and rows, the plan,
the memo entries that the next reads share. CPython's collector then traverses all of it in
every full collection, which it runs once a quarter as many objects as the last full one left
have been promoted since: with 1,000 initiatives about every second first read after a
decision, 170-230 ms of CPU each, and 0.8-1.0 s at 10,000 (measured in-process, `/tmp`
scripts over `ops.bench.pages.company`, gc callbacks timing each collection). Those objects
are freed by reference counting when the next position replaces them; the collector is only
needed for reference cycles, which this state does not form.

So, after a request during which the collector promoted objects to the oldest generation at
least `PROMOTIONS_PER_SETTLE` times (a young collection of the middle generation is what
promotes; a warm read promotes nothing), `HeapSettler.after_request` collects the young
generations (a few ms: what the request left as garbage, cycles included, goes) and freezes
what is left, which takes it out of every later collection. A cycle that becomes garbage
after being frozen is not collected while frozen; to bound that, every `SETTLES_PER_SWEEP`th
settle is a sweep: unfreeze, one full collection, freeze again (it costs one full collection,
as the collector's own rule would have every second or third settle). The frozen heap's size
is not asked for: `gc.get_freeze_count()` walks the frozen list (25-30 ms at 1,000
initiatives, more than the rest of a settle).

It runs after the response is sent (`HeapSettle`, outermost ASGI middleware), so the client
does not wait for it; requests of the process that run meanwhile do (the collector holds the
interpreter), as they would for the collections it replaces.
"""

from __future__ import annotations

import gc
import threading

from starlette.types import ASGIApp, Receive, Scope, Send

PROMOTIONS_PER_SETTLE = 2  # collections of the middle generation since the last settle
SETTLES_PER_SWEEP = 32  # a full collection of everything, frozen or not, every so many settles


def _promotions() -> int:
    """How many times the collector has promoted the middle generation to the oldest."""
    return int(gc.get_stats()[1]["collections"])


class HeapSettler:
    """Freeze what requests promoted (see the module docstring); counts what it did."""

    def __init__(self, *, every: int = PROMOTIONS_PER_SETTLE,
                 sweep_every: int = SETTLES_PER_SWEEP) -> None:
        self.every = every
        self.sweep_every = sweep_every
        self._lock = threading.Lock()
        self._seen = _promotions()
        self.settles = 0  # young collections followed by a freeze
        self.sweeps = 0  # full collections of the whole heap, frozen part included

    def after_request(self) -> None:
        """Settle when the collector promoted enough since the last settle; never waits for
        another thread's settle."""
        if _promotions() - self._seen < self.every or not self._lock.acquire(blocking=False):
            return
        try:
            self.settles += 1
            if self.settles % self.sweep_every == 0:
                gc.unfreeze()
                gc.collect()
                self.sweeps += 1
            else:
                gc.collect(1)
            gc.freeze()
            self._seen = _promotions()
        finally:
            self._lock.release()


class HeapSettle:
    """Pure ASGI middleware: the app, then `HeapSettler.after_request` once it has answered."""

    def __init__(self, app: ASGIApp, *, settler: HeapSettler) -> None:
        self.app = app
        self.settler = settler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.settler.after_request()
