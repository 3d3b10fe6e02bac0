"""The served app takes what startup built out of the cyclic collector's way (decision 241)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from api.app import serving
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
