"""The served app takes what startup built (decision 241), and what reads build after it
(decision 271), out of the cyclic collector's way."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient

from api.app import create_app, serving
from api.heap import HeapSettler
from tests.api.conftest import harborview_runtime


def test_startup_freezes_the_long_lived_heap() -> None:
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        with TestClient(serving(harborview_runtime())) as client:
            frozen = gc.get_freeze_count()
            assert client.get("/healthz").status_code == 200
        assert frozen > 50_000  # the modules, the app, its routes and schemas
    finally:
        gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_settle_freezes_what_was_promoted_and_a_sweep_collects_frozen_cycles() -> None:
    """Decision 271 (api/heap.py): after enough promotions a settle freezes what survived; a
    cycle that dies while frozen stays until the sweep (every `sweep_every`th settle)
    collects it."""
    gc.unfreeze()
    try:
        settler = HeapSettler(every=1, sweep_every=3)
        settler.after_request()
        assert settler.settles == 0  # nothing promoted since it was made
        kept = [[k] for k in range(50_000)]  # long-lived, tracked: promoted to the old gen
        gc.collect(1)
        cycle = _Cycle()
        dead = weakref.ref(cycle)
        gc.collect(1)
        settler.after_request()
        assert settler.settles == 1 and settler.sweeps == 0
        assert gc.get_freeze_count() > len(kept)
        del cycle
        gc.collect()  # a full collection does not look at the frozen
        assert dead() is not None
        gc.collect(1)
        settler.after_request()
        assert (settler.settles, settler.sweeps) == (2, 0) and dead() is not None
        gc.collect(1)
        settler.after_request()
        assert (settler.settles, settler.sweeps) == (3, 1)
        assert dead() is None  # the sweep unfroze and collected it
        assert gc.get_freeze_count() > len(kept)  # and froze what lives again
    finally:
        gc.unfreeze()


def test_the_app_settles_after_a_request_that_promoted() -> None:
    """The served app's middleware calls the settler once the app has answered; an app made
    for a process that makes and drops many of them (tests) installs none."""
    assert not hasattr(create_app(harborview_runtime()).state, "heap")
    gc.unfreeze()
    try:
        app = create_app(harborview_runtime(), settle_heap_after_requests=True)
        settler = app.state.heap
        assert isinstance(settler, HeapSettler)
        with TestClient(app) as client:
            settler.every = 0  # every request settles
            before = settler.settles
            assert client.get("/healthz").status_code == 200
            assert settler.settles == before + 1
            settler.every = 10**9  # none does
            assert client.get("/healthz").status_code == 200
            assert settler.settles == before + 1
    finally:
        gc.unfreeze()
