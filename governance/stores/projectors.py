"""The projector process (`cxgov project`, or a thread of `cxgov serve` and `cxgov demo`): both
projections under supervision, each restarted on an error, a failing event recorded and
retried (governance/stores/readside.py `record_failure`), a heartbeat while up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.errors
from eventsourcing import persistence
from eventsourcing.projection import ProjectionRunner
from psycopg_pool import PoolTimeout

from governance.app import Governance
from governance.stores.heartbeats import HEARTBEAT_EVERY, beat
from governance.stores.library_hooks import CoalescingRunner
from governance.stores.readside import (
    MAX_RETRY_DELAY,
    PROJECTIONS,
    bound_portfolio_projection,
    clear_if_past,
    next_event,
    record_failure,
)
from projections.failures import ProjectionFailure, describe, failure_log
from projections.projection import AuditLogProjection
from projections.views import PostgresAuditLogView, PostgresPortfolioView

log = logging.getLogger("cxgov.projector")


@dataclass
class _Supervised:
    """One projection under run_projectors: its runner and what it is recovering from."""

    runner: Any = None
    #: Whether the runner writes each event alone (after an error, to find the failing event).
    careful: bool = False
    careful_until: int = 0  # the log's end when the error happened: batch again beyond it
    failure: ProjectionFailure | None = None
    loaded: bool = False  # whether a failure recorded by an earlier process was looked up
    retry_at: float = 0.0
    beat_at: float = 0.0  # when the runner last recorded its heartbeat (monotonic)


def run_projectors(env: dict[str, str], *, stop: threading.Event,
                   restart_delay: float = 1.0,
                   on_error: Callable[[str, BaseException], None] | None = None,
                   on_idle: Callable[[], object] | None = None,
                   idle_every: float = 5.0,
                   audit_view: type[PostgresAuditLogView] = PostgresAuditLogView,
                   max_retry_delay: float = MAX_RETRY_DELAY) -> None:
    """Run both projections until `stop`; an error stops a runner, is logged, and it restarts.

    A failed event is never skipped: the runner's tracking position only moves with its rows.
    After an error the projection restarts writing each event alone, so a second error is at
    the first event after its position: that failure is recorded (rm_projection_failures, for
    /readyz and /metrics), logged once as an ERROR, and tried again after 1, 2, 4 ... up to
    `max_retry_delay` seconds, while the other projection goes on. Once past it, the record
    is deleted and the projection batches again. A database that cannot be reached only
    restarts the runner after `restart_delay`. While a runner is up, idle or busy, it records
    a heartbeat every HEARTBEAT_EVERY seconds (rm_projector_heartbeats: /readyz tells a
    stopped projector from an idle one). `audit_view` is the audit log's view class
    (the crash drill's negative control passes a deliberately broken one).
    """
    slots = {name: _Supervised() for name in PROJECTIONS}
    # A runner holds an application pool, a view pool and a LISTEN connection: keep them small.
    env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "3"}

    def start(name: str, careful: bool) -> Any:
        runner_class = ProjectionRunner if careful else CoalescingRunner
        if name == "portfolio":
            return runner_class(application_class=Governance,
                                projection_class=bound_portfolio_projection(env),
                                view_class=PostgresPortfolioView, env=env)
        return runner_class(application_class=Governance,
                            projection_class=AuditLogProjection,
                            view_class=audit_view, env=env)

    idle_at = time.monotonic()
    try:
        while not stop.is_set():
            if on_idle is not None and time.monotonic() - idle_at >= idle_every:
                idle_at = time.monotonic()
                try:
                    on_idle()
                except Exception as exc:  # e.g. the database is restarting: try again later
                    log.exception("periodic task failed: %s", exc)
            for name in PROJECTIONS:
                slot = slots[name]
                if slot.runner is not None:
                    try:
                        slot.runner.run_forever(timeout=0)
                        _progress(name, slot)
                        _heartbeat(name, slot)
                        continue
                    except Exception as exc:  # a projector error: record it, restart later
                        _stopped(name, slot, exc, restart_delay, max_retry_delay)
                        if on_error:
                            on_error(name, exc)
                if slot.runner is not None or time.monotonic() < slot.retry_at:
                    continue
                try:
                    slot.runner = start(name, slot.careful)
                    log.info("projector %s started%s", name,
                             " (event by event)" if slot.careful else "")
                except Exception as exc:
                    log.exception("projector %s could not start: %s", name, exc)
                    slot.retry_at = time.monotonic() + restart_delay
            stop.wait(0.2)
    finally:
        for slot in slots.values():
            if slot.runner is not None:
                _close(slot.runner)


def _heartbeat(name: str, slot: _Supervised) -> None:
    """Record that this projection's runner is up, every HEARTBEAT_EVERY seconds."""
    runner = slot.runner
    if runner is None or time.monotonic() - slot.beat_at < HEARTBEAT_EVERY:
        return
    slot.beat_at = time.monotonic()
    try:
        beat(runner.view.datastore, name, runner.view.max_tracking_id(runner.app_name) or 0)
    except Exception as exc:  # the runner meets a lost database itself; a beat is not vital
        log.debug("projector %s: heartbeat not recorded: %s", name, describe(exc))


def _progress(name: str, slot: _Supervised) -> None:
    """Clear a failure the runner has projected past; batch again once past the error."""
    runner = slot.runner
    if not slot.loaded:
        slot.loaded = True
        slot.failure = slot.failure or failure_log(runner.view).get(name)  # an earlier process's
    if slot.failure is None and not slot.careful:
        return
    tracked = runner.view.max_tracking_id(runner.app_name) or 0
    if slot.failure is not None and clear_if_past(runner.view, name, slot.failure, tracked):
        slot.failure = None
    if slot.careful and slot.failure is None and tracked >= slot.careful_until:
        slot.careful = False
        slot.runner = None
        _close(runner)  # started again batching on the next round


def _stopped(name: str, slot: _Supervised, exc: Exception, restart_delay: float,
             max_retry_delay: float) -> None:
    """Close a runner that raised; record and report a failing event; set when to retry."""
    runner, slot.runner = slot.runner, None
    now = time.monotonic()
    try:
        tracked = runner.view.max_tracking_id(runner.app_name) or 0
        found = next_event(runner.app, tracked)
        head = runner.app.recorder.max_notification_id() or 0
    except Exception:  # the database is unreachable: nothing to tell about an event
        found = None
    try:
        if _unreachable(exc) or found is None:
            log.warning("projector %s stopped: %s; restarting in %g s", name, describe(exc),
                        restart_delay)
            slot.retry_at = now + restart_delay
        elif not slot.careful:
            log.warning("projector %s failed after position %d: %s; trying again event by "
                        "event", name, tracked, describe(exc))
            slot.careful, slot.careful_until = True, head
            slot.retry_at = now + restart_delay
        else:
            failure, delay = record_failure(runner.view, name, found, exc, slot.failure,
                                            base=restart_delay, cap=max_retry_delay)
            slot.failure, slot.loaded = failure, True
            slot.retry_at = now + delay
    finally:
        _close(runner)


def _unreachable(exc: BaseException) -> bool:
    """Whether an error says the database cannot be reached (restarting, a lost connection),
    rather than that this event cannot be projected (a cancelled statement is the latter)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, psycopg.errors.QueryCanceled) for e in chain):
        return False
    return any(isinstance(e, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout
                          | persistence.OperationalError | persistence.InterfaceError
                          | ConnectionError) for e in chain)


def _close(runner: Any) -> None:
    try:
        runner.__exit__(None, None, None)
    except Exception as exc:  # closing a failed runner re-raises its error; it was logged
        log.debug("closing runner: %s", exc)
    finally:
        runner.view.datastore.close()
