"""Events the read side could not project on PostgreSQL, and how it recovers.

An event an older release let into the log with a NUL: PostgreSQL refuses U+0000 in text and
jsonb, and the event is immutable, so the read side decodes it with U+FFFD in place of the NUL
(governance/stores/transcoding.py): the live projector, an in-process catch-up and
`cxgov rebuild` all project it. An event a projection cannot project (a bug): `run_projectors`
stops that projection before it, records the failure for /readyz and /metrics, retries with a
growing delay, and resumes once the bug is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.values import Reading
from governance.app import Governance
from governance.stores.projectors import run_projectors
from governance.stores.readside import (
    in_process_postgres,
    rebuild,
    served_read_models,
)
from projections.failures import ProjectionFailure, failure_log, projection_failures
from tests.app.test_projector_failures import POISON, break_projection, observe
from tests.builders import INGESTER, World

pytestmark = pytest.mark.pg

MARK = "QQNULQQ"


@pytest.fixture
def poisoned(pg_env: dict[str, str]) -> Iterator[Governance]:
    """A log holding an initiative title and an observation source with a NUL, written the
    way a release without text validation wrote it (the event's JSON says `\\u0000`)."""
    gov = Governance(env=pg_env)
    world = World(gov)
    transcoder: Any = gov.mapper.transcoder
    encode = transcoder.encode
    transcoder.encode = lambda obj: encode(obj).replace(MARK.encode(), b"\\u0000")
    try:
        world.submit("I01", title=f"a{MARK}b")
        gov.record_observations(INGESTER, metric="M1", batch_key="b1", source=f"s{MARK}t",
                                readings=[Reading(Decimal(90), datetime(2026, 1, 31, tzinfo=UTC),
                                                  400)])
    finally:
        transcoder.encode = encode
    world.submit("I02", title="after the poison")
    yield gov
    gov.close()


def _stored_with_nul(gov: Governance) -> bool:
    return any(b"\\u0000" in bytes(n.state)
               for n in gov.recorder.select_notifications(start=1, limit=100))


def test_the_live_projectors_project_a_nul_with_a_replacement_character(
        poisoned: Governance, pg_env: dict[str, str]) -> None:
    assert _stored_with_nul(poisoned)
    stop = threading.Event()
    runner = threading.Thread(target=run_projectors, args=(pg_env,),
                              kwargs={"stop": stop, "restart_delay": 0.1})
    runner.start()
    try:
        models = served_read_models(poisoned, pg_env)
        models.wait(poisoned.position(), timeout=30)
        titles = {r["code"]: r["title"] for r in models.ranking("FY2027")}
        audit = models.audit.rows(limit=1000)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert titles == {"I01": "a\ufffdb", "I02": "after the poison"}
    assert any(r["details"].get("proposal", {}).get("title") == "a\ufffdb" for r in audit)
    assert any(r["details"].get("source") == "s\ufffdt" for r in audit)
    assert projection_failures(models.portfolio, models.audit) == []


def test_rebuild_projects_a_nul_with_a_replacement_character(
        poisoned: Governance, pg_env: dict[str, str]) -> None:
    positions = rebuild(poisoned, pg_env)
    assert positions == {"portfolio": poisoned.position(), "auditlog": poisoned.position()}
    models = served_read_models(poisoned, pg_env)
    rows = {r["code"]: r for r in models.ranking("FY2027")}
    assert rows["I01"]["title"] == "a\ufffdb"
    assert Decimal(rows["I02"]["cost"]) > 0
    assert any(r["details"].get("proposal", {}).get("title") == "a\ufffdb"
               for r in models.audit.rows(limit=1000))
    initiative = models.initiative(str(rows["I01"]["id"]))
    assert initiative is not None and initiative["proposal"]["title"] == "a\ufffdb"
    sources = [r["details"].get("source") for r in models.audit.rows(limit=1000)]
    assert "s\ufffdt" in sources


def test_an_in_process_catch_up_projects_a_nul(poisoned: Governance,
                                               pg_env: dict[str, str]) -> None:
    models = in_process_postgres(poisoned, pg_env).read_models()
    assert {r["title"] for r in models.ranking("FY2027")} == {"a\ufffdb", "after the poison"}
    assert any(r["details"].get("source") == "s\ufffdt" for r in models.audit.rows(limit=1000))


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_projector_stops_only_the_failing_projection_and_resumes_after_a_fix(
        pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    gov = Governance(env=pg_env)
    world = World(gov)
    world.submit("I01")
    poison = observe(gov, POISON)
    world.submit("I02")
    end = gov.position()
    tries = break_projection(monkeypatch, "auditlog")
    models = served_read_models(gov, pg_env)
    stop = threading.Event()
    runner = threading.Thread(target=run_projectors, args=(pg_env,), kwargs={
        "stop": stop, "restart_delay": 0.05, "max_retry_delay": 0.2})
    with caplog.at_level(logging.INFO, logger="cxgov.projector"):
        runner.start()
        try:
            _until(lambda: any(f.attempts >= 3 for f in
                               projection_failures(models.portfolio, models.audit)))
            failures = projection_failures(models.portfolio, models.audit)
            assert [(f.projection, f.position) for f in failures] == [("auditlog", poison)]
            assert failures[0].error == "RuntimeError: cannot flatten batch poison-batch"
            assert "ObservationBatch" in failures[0].topic
            assert models.portfolio.max_tracking_id(gov.name) == end
            assert models.audit.max_tracking_id(gov.name) == poison - 1
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1 and f"position {poison}" in errors[0].getMessage()
            assert len(tries) >= 3

            monkeypatch.undo()  # the fixed release
            models.wait(end, timeout=30)
            _until(lambda: projection_failures(models.portfolio, models.audit) == [])
            later = observe(gov, "after-fix")
            models.wait(later, timeout=30)
            _until(lambda: [r.getMessage() for r in caplog.records if "auditlog started"
                            in r.getMessage()][-1] == "projector auditlog started")  # batching
        finally:
            stop.set()
            runner.join(timeout=30)
    assert [r["position"] for r in models.audit.rows(limit=1000)] == list(range(1, later + 1))
    gov.close()


def test_rebuild_clears_a_recorded_failure(poisoned: Governance, pg_env: dict[str, str]) -> None:
    models = served_read_models(poisoned, pg_env)
    failure_log(models.audit).record(ProjectionFailure(
        "auditlog", 3, "topic", "DataError: unsupported Unicode escape sequence",
        datetime.now(UTC)))
    assert [f.projection for f in projection_failures(models.portfolio, models.audit)] == [
        "auditlog"]
    rebuild(poisoned, pg_env, ("auditlog",))
    assert projection_failures(models.portfolio, models.audit) == []
