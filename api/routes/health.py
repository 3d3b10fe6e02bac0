"""Liveness and readiness probes: database, schema at head, write lock, projection lag."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.errors import problem
from api.schemas import HealthPublic
from governance.stores.database import is_at_head
from governance.stores.integrity import IntegrityRecorder
from governance.stores.metrics import (
    ProjectionLag,
    projection_failures,
    projection_lags,
    projector_heartbeat_ages,
)

router = APIRouter(tags=["health"])
log = logging.getLogger("cxgov.api")

#: A schema found at head is trusted this long before it is checked again (a migration
#: happens with every process stopped or rolling; a newer head appears only on upgrade).
SCHEMA_RECHECK_S = 30.0


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """The process is up."""
    return HealthPublic(status="ok")


def _schema_at_head(request: Request) -> bool:
    runtime = getattr(request.app.state, "runtime", None)
    url = getattr(runtime, "database_url", None)
    if url is None:  # the in-memory store has no schema
        return True
    checked: float | None = getattr(request.app.state, "schema_checked_at", None)
    if checked is not None and time.monotonic() - checked < SCHEMA_RECHECK_S:
        return True
    if not is_at_head(url):
        return False
    request.app.state.schema_checked_at = time.monotonic()
    return True


def _lock_blocked(request: Request, s: Any) -> JSONResponse | None:
    """Not ready when a write could not get the event store's lock within the readiness
    deadline (ready_lock_timeout_ms): probed by taking it in a transaction rolled back at
    once. None when it was granted, or on a store without the lock (in memory)."""
    settings = getattr(getattr(request.app.state, "runtime", None), "settings", None)
    timeout_ms = int(getattr(settings, "ready_lock_timeout_ms", 2000))
    recorder = getattr(s.gov, "recorder", None)
    if not timeout_ms or not isinstance(recorder, IntegrityRecorder):
        return None
    if recorder.lock_available(timeout_ms):
        return None
    log.warning("readiness: the event store's lock was not granted within %d ms", timeout_ms)
    return _not_ready(request, f"a write could not get the event store's lock within "
                      f"{timeout_ms} ms: another session holds it (see pg_locks)",
                      {"check": "event_store_lock", "timeout_ms": timeout_ms})


def _limits(request: Request) -> tuple[int, float, float]:
    settings = getattr(getattr(request.app.state, "runtime", None), "settings", None)
    return (int(getattr(settings, "ready_max_lag_events", 1000)),
            float(getattr(settings, "ready_max_lag_seconds", 60.0)),
            float(getattr(settings, "ready_projector_timeout_seconds", 15.0)))


def _unprojected(lags: list[ProjectionLag], ages: dict[str, float] | None,
                 timeout: float) -> list[ProjectionLag]:
    """The projections whose events have waited longer than `timeout` while no projector
    recorded a heartbeat for them within `timeout` (an idle projector beats too)."""
    if not timeout or ages is None:
        return []
    return [lag for lag in lags if lag.lag_events and lag.lag_seconds > timeout
            and ages.get(lag.projection, float("inf")) > timeout]


@router.get("/readyz", response_model=HealthPublic, responses={
    503: {"description": "Not ready: the database is unreachable, the schema is not at the "
                         "newest migration, a write cannot get the event store's lock within "
                         "the deadline, a projection stopped at an event it cannot project, "
                         "or the projectors lag beyond the limits "
                         "(problem+json, code `service.not_ready`)."}})
def readyz(request: Request, s: ServicesDep) -> JSONResponse:
    """Ready when the store answers, the schema is at head, writes get the event store's lock
    and the projections keep up."""
    max_events, max_seconds, projector_timeout = _limits(request)
    try:
        position = s.gov.position()
        if not _schema_at_head(request):
            return _not_ready(request, "the database schema is not at the newest migration: "
                              "run `cxgov migrate`", {"check": "schema"})
        if (blocked := _lock_blocked(request, s)) is not None:
            return blocked
        lags = projection_lags(s.gov, s.models)
        failures = projection_failures(s.models)
        ages = projector_heartbeat_ages(s.models) if projector_timeout else None
    except Exception as exc:  # any store failure means not ready
        log.warning("readiness: database unavailable: %s", exc)
        request.app.state.schema_checked_at = None
        return _not_ready(request, "the database is not reachable", {"check": "database"})
    behind = [lag for lag in lags
              if (max_events and lag.lag_events > max_events)
              or (max_seconds and lag.lag_seconds > max_seconds)]
    details = {lag.projection: {"position": lag.position, "lag_events": lag.lag_events,
                                "lag_seconds": round(lag.lag_seconds, 3)} for lag in lags}
    if failures:
        first = failures[0]
        return _not_ready(request, f"projection {first.projection} cannot project the event at "
                          f"position {first.position}: {first.error}; it stopped there and "
                          "retries (see docs/operator-guide.md)",
                          {"check": "projection_failed", **first.details(),
                           "failures": [f.details() for f in failures]})
    if unprojected := _unprojected(lags, ages, projector_timeout):
        names = ", ".join(lag.projection for lag in unprojected)
        return _not_ready(request, f"no projector is running: events wait for {names} and no "
                          f"projector recorded a heartbeat within {projector_timeout:g} s "
                          "(start `cxgov project`, or `cxgov serve --projectors`)",
                          {"check": "no_projector", "timeout_seconds": projector_timeout,
                           "heartbeat_ages": {name: round(age, 3)
                                              for name, age in (ages or {}).items()},
                           "projections": details})
    if behind:
        names = ", ".join(lag.projection for lag in behind)
        return _not_ready(request, f"the projections lag behind the log: {names} (limits "
                          f"{max_events} events, {max_seconds:g} s)",
                          {"check": "projection_lag", "projections": details})
    return JSONResponse({"status": "ok", "position": position, "projections": details})


def _not_ready(request: Request, detail: str, details: dict[str, Any]) -> JSONResponse:
    return problem(request, status=503, code="service.not_ready", title="Not ready",
                   detail=detail, extra={"details": details}, headers={"Retry-After": "1"})
