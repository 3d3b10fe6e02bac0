"""A projection that cannot project an event stops there, alone, and says so; a fix resumes it.

In memory (the in-process read side behind the API): the failing projection halts before the
event, the other reaches the log's end, /readyz and /metrics report the projection, position
and error, the log has one ERROR line and retries back off; once the bug is gone the
projection catches up and /readyz is 200. Also: the transcoder that decodes stored text the
read side can store (NUL and lone surrogates become U+FFFD).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

import projections.audit
import projections.projection
from api.app import create_app
from domain.values import Reading
from governance.app import Governance
from governance.bootstrap import Runtime, bootstrap
from governance.settings import Settings
from governance.stores.readside import InProcess
from governance.stores.transcoding import StorableTextTranscoder
from projections.failures import backoff
from projections.state import PortfolioState
from tests.builders import INGESTER, World

POISON = "poison-batch"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = bootstrap(Settings(store="memory", jwt_secret=SecretStr("x" * 40)))
    yield rt
    rt.close()


def observe(gov: Governance, batch_key: str) -> int:
    return gov.record_observations(INGESTER, metric="M1", batch_key=batch_key, source="core",
                                   readings=[Reading(Decimal(90), datetime(2026, 1, 31,
                                                                           tzinfo=UTC), 400)]
                                   ).position


def _poisoned(event: Any) -> bool:
    return getattr(event, "batch_key", None) == POISON


def break_projection(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Make one projection raise on the poison event (a bug); returns its tries."""
    tries: list[int] = []
    if name == "auditlog":
        audit_row = projections.audit.audit_row

        def failing_row(position: int, event: Any) -> dict[str, Any]:
            if _poisoned(event):
                tries.append(position)
                raise RuntimeError(f"cannot flatten batch {event.batch_key}")
            return audit_row(position, event)

        monkeypatch.setattr(projections.projection, "audit_row", failing_row)
    else:
        apply = PortfolioState.apply

        def failing_apply(self: PortfolioState, position: int, event: Any) -> set[str]:
            if _poisoned(event):
                tries.append(position)
                raise RuntimeError(f"cannot fold batch {event.batch_key}")
            return apply(self, position, event)

        monkeypatch.setattr(PortfolioState, "apply", failing_apply)
    return tries


def metric(text: str, name: str, projection: str) -> float:
    line = next(line for line in text.splitlines()
                if line.startswith(f'{name}{{projection="{projection}"}}'))
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.parametrize(("failing", "other"), [("auditlog", "portfolio"),
                                                 ("portfolio", "auditlog")])
def test_a_projection_that_cannot_project_an_event_halts_alone_reports_it_and_resumes(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        failing: str, other: str) -> None:
    gov = runtime.app
    world = World(gov)
    world.submit("I01")
    poison = observe(gov, POISON)
    world.submit("I02")
    observe(gov, "after")
    end = gov.position()
    read_side: InProcess = runtime.in_process()
    clock = read_side.clock = Clock()
    views = {"portfolio": read_side.portfolio, "auditlog": read_side.audit}
    tries = break_projection(monkeypatch, failing)

    with (caplog.at_level(logging.INFO, logger="cxgov.projector"),
          TestClient(create_app(runtime), raise_server_exceptions=False) as client):
        ready = client.get("/readyz")
        assert ready.status_code == 503
        problem = ready.json()
        assert problem["code"] == "service.not_ready"
        details = problem["details"]
        assert details["check"] == "projection_failed"
        assert (details["projection"], details["position"]) == (failing, poison)
        assert details["error"].startswith("RuntimeError: cannot ")
        assert "ObservationBatch" in details["topic"]
        assert [f["projection"] for f in details["failures"]] == [failing]
        assert str(poison) in problem["detail"]

        # It stopped right before the event; the other projection reached the log's end.
        assert views[failing].max_tracking_id(gov.name) == poison - 1
        assert views[other].max_tracking_id(gov.name) == end

        scraped = client.get("/metrics").text
        assert metric(scraped, "cxgov_projection_failed", failing) == 1
        assert metric(scraped, "cxgov_projection_failed_position", failing) == poison
        assert metric(scraped, "cxgov_projection_failed", other) == 0

        # Retries back off: no new try until the delay has passed, then one, then a longer wait.
        first = len(tries)
        for _ in range(5):
            client.get("/readyz")
        assert len(tries) == first
        clock.now += backoff(1) + 0.01
        assert client.get("/readyz").status_code == 503
        assert len(tries) == first + 1
        clock.now += backoff(1) + 0.01  # less than the second delay (2 s)
        client.get("/readyz")
        assert len(tries) == first + 1
        assert client.get("/readyz").json()["details"]["attempts"] == 2

        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert f"position {poison}" in errors[0].getMessage()
        assert "RuntimeError" in errors[0].getMessage()

        # A fixed release: the projection catches up at its next try and readiness returns.
        monkeypatch.undo()
        clock.now += 60
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json()
        assert views[failing].max_tracking_id(gov.name) == end
        scraped = client.get("/metrics").text
        assert metric(scraped, "cxgov_projection_failed", failing) == 0
    models = read_side.read_models()
    assert len(models.audit_events(limit=1000)) == end
    assert {r["code"] for r in models.ranking("FY2027")} == {"I01", "I02"}


def test_the_backoff_doubles_up_to_a_minute() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4, 7, 8, 50)] == [1, 2, 4, 8, 60, 60, 60]
    assert backoff(3, base=0.5, cap=1.5) == 1.5


def test_stored_text_decodes_without_nul_or_lone_surrogates() -> None:
    transcoder = StorableTextTranscoder()
    data = json.dumps({"title": "a\x00b", "raw": "keep \\u0000 literal",
                       "list": ["x\ud800y", "\udc00"], "pair": "\U0001f600", "k\x00": 1},
                      ensure_ascii=True).encode()
    assert transcoder.decode(data) == {"title": "a\ufffdb", "raw": "keep \\u0000 literal",
                                       "list": ["x\ufffdy", "\ufffd"], "pair": "\U0001f600",
                                       "k\ufffd": 1}
    plain = json.dumps({"title": "fine"}).encode()
    assert transcoder.decode(plain) == {"title": "fine"}
