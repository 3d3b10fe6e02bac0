"""The per-request timeline (api/timeline.py): off unless CXGOV_TIMELINE names a folder; on,
one line per request with its marks in order, and the bench's phases add up."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import timeline
from api.app import create_app
from ops.bench.timeline import phases
from tests.api.conftest import auth, harborview_runtime

FINANCE = auth("fiona", "finance")
BODY = {"code": "FY2029", "currency": "USD", "opex_total": "500000000", "cap_percent": "8"}


@pytest.fixture(autouse=True)
def no_leftover_callbacks() -> Iterator[None]:
    """Drop the gc callbacks a timed app added (they live as long as the process)."""
    yield
    for callback in list(gc.callbacks):
        if isinstance(getattr(callback, "__self__", None), timeline._Sink):
            gc.callbacks.remove(callback)


def test_off_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timeline.ENV, raising=False)
    runtime = harborview_runtime()
    app = create_app(runtime)
    assert not any(m.cls is timeline.TimelineMiddleware for m in app.user_middleware)
    runtime.close()


def test_a_command_is_marked_in_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(timeline.ENV, str(tmp_path))
    runtime = harborview_runtime()
    with TestClient(create_app(runtime)) as client:
        answer = client.post("/v1/periods", json=BODY,
                             headers={**FINANCE, "X-Request-ID": "tl-test-1"})
    runtime.close()
    assert answer.status_code == 201
    lines = [json.loads(line) for path in tmp_path.glob("timeline-*.jsonl")
             for line in path.read_text().splitlines()]
    [found] = [line for line in lines if line.get("id") == "tl-test-1"]
    names = [name for name, _ in found["marks"]]
    assert (found["method"], found["path"], found["status"]) == ("POST", "/v1/periods", 201)
    for earlier, later in [("recv", "handler"), ("handler", "save"), ("save", "saved"),
                           ("saved", "handled"), ("handled", "start"), ("start", "sent")]:
        assert names.index(earlier) < names.index(later), names
    times = [t for _, t in found["marks"]]
    assert times == sorted(times)


def test_phases_split_a_request() -> None:
    client = {"slot": 10.000, "sent": 10.002, "done": 10.030}
    server = {"marks": [["recv", 10.003], ["handler", 10.005], ["turn.wait", 10.005],
                        ["turn.got", 10.015], ["save", 10.020], ["saved", 10.024],
                        ["turn.done", 10.024], ["handled", 10.025], ["start", 10.026],
                        ["sent", 10.027]]}
    found = phases(client, server)
    expected = {"client": 2, "accept": 1, "to thread": 2, "turn": 10, "command": 10,
                "save": 4, "respond": 2, "answer": 3}
    assert found == pytest.approx(expected, abs=1e-6)
    assert sum(v for k, v in found.items() if k != "save") == pytest.approx(30)
