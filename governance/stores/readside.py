"""Wiring of the read side: views, projectors (supervised runners), rebuilds, in-process mode.

Over 400 lines on purpose: the supervised runners, rebuilds and the in-process mode share
the failure bookkeeping (a projection that cannot project one event stops alone and is
retried); splitting it would spread one protocol over three modules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg.errors
from eventsourcing import persistence
from eventsourcing.persistence import InfrastructureFactory, IntegrityError
from eventsourcing.projection import ProjectionRunner
from eventsourcing.utils import Environment
from psycopg_pool import PoolTimeout

from governance.app import Governance
from governance.stores.heartbeats import HEARTBEAT_EVERY, beat
from governance.stores.library_hooks import CoalescingRunner
from projections.failures import (
    FailureLog,
    ProjectionFailure,
    backoff,
    describe,
    failure_log,
)
from projections.log import ApplicationLog
from projections.projection import (
    AuditLogProjection,
    PortfolioProjection,
    catch_up,
    rebuild_all,
)
from projections.query import ReadModels
from projections.views import (
    AuditLogView,
    MemoryAuditLogView,
    MemoryPortfolioView,
    PortfolioView,
    PostgresAuditLogView,
    PostgresPortfolioView,
)

log = logging.getLogger("cxgov.projector")

PROJECTIONS = ("portfolio", "auditlog")

#: Longest wait between two tries of a projection that fails on an event.
MAX_RETRY_DELAY = 60.0


def bound_portfolio_projection(env: dict[str, str] | None,
                               app: Governance | None = None) -> type[PortfolioProjection]:
    """The portfolio projection class, bound to a log it can replay on restart."""

    @contextmanager
    def log_factory() -> Iterator[ApplicationLog]:
        if app is not None:
            yield ApplicationLog(app)
            return
        reader = Governance(env=env)
        try:
            yield ApplicationLog(reader)
        finally:
            reader.close()

    return type("BoundPortfolioProjection", (PortfolioProjection,),
                {"log_factory": staticmethod(log_factory), "name": "portfolio"})


def _view(env: dict[str, str], name: str, cls: type[Any]) -> Any:
    factory = InfrastructureFactory.construct(env=Environment(name, env))  # type: ignore[var-annotated]
    return factory.tracking_recorder(cls)


def postgres_views(env: dict[str, str]) -> tuple[PortfolioView, AuditLogView]:
    """The PostgreSQL views (tables from alembic revision 0002)."""
    return (_view(env, "portfolio", PostgresPortfolioView),
            _view(env, "auditlog", PostgresAuditLogView))


@dataclass
class InProcess:
    """Projections run inside this process, caught up before each read (tests, CLI, demo).

    A projection that fails on an event stops before it, the other goes on; the failure is
    recorded beside its view (projections/failures.py) and logged, and the event is tried
    again on a later read once a growing delay (1 s, 2 s, ... MAX_RETRY_DELAY) has passed.
    """

    app: Governance
    portfolio: PortfolioView
    audit: AuditLogView
    #: Seconds on a monotonic clock (a test may set its own).
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    retry_delay: float = 1.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._log = ApplicationLog(self.app)
        self._projections: dict[str, Any] = {name: self._fresh(name) for name in PROJECTIONS}
        self._failures: dict[str, ProjectionFailure] = {}
        self._retry_at: dict[str, float] = {}

    def _view(self, name: str) -> PortfolioView | AuditLogView:
        return self.portfolio if name == "portfolio" else self.audit

    def _fresh(self, name: str) -> Any:
        """A projection restored from its view (after a failure left it half folded)."""
        if name == "portfolio":
            return bound_portfolio_projection(None, self.app)(self.portfolio)
        return AuditLogProjection(self.audit)

    def refresh(self) -> None:
        """Process every event written since the last call."""
        with self._lock:
            for name in PROJECTIONS:
                self._refresh(name)

    def _refresh(self, name: str) -> None:
        failed = self._failures.get(name)
        if failed is not None and self.clock() < self._retry_at.get(name, 0.0):
            return  # waiting to try the failing event again
        try:
            try:
                catch_up(self._log, self._projections[name], application_name=self.app.name,
                         careful=failed is not None)
            except IntegrityError:
                raise
            except Exception:
                if failed is not None:
                    raise
                # One event of the batch failed: again event by event, to stop right before it.
                self._projections[name] = self._fresh(name)
                catch_up(self._log, self._projections[name], application_name=self.app.name,
                         careful=True)
        except IntegrityError:
            # Another projector advanced the view meanwhile: reload our fold from it.
            self._projections[name] = self._fresh(name)
            return
        except Exception as exc:
            self._projections[name] = self._fresh(name)
            self._failed(name, exc)
            return
        if failed is not None:
            self._passed(name, failed)

    def _failed(self, name: str, exc: Exception) -> None:
        view = self._view(name)
        tracked = view.max_tracking_id(self.app.name) or 0
        position, topic = _next_event(self.app, tracked) or (tracked + 1, "")
        now = datetime.now(UTC)
        failure = failure_log(view).record(ProjectionFailure(
            name, position, topic, describe(exc), now, last_attempt=now))
        delay = backoff(failure.attempts, base=self.retry_delay, cap=MAX_RETRY_DELAY)
        _report(name, failure, exc, delay, first=self._failures.get(name) is None
                or self._failures[name].position != position)
        self._failures[name] = failure
        self._retry_at[name] = self.clock() + delay

    def _passed(self, name: str, failed: ProjectionFailure) -> None:
        view = self._view(name)
        if (view.max_tracking_id(self.app.name) or 0) >= failed.position:
            failure_log(view).clear(name)
            del self._failures[name]
            log.info("projection %s projected position %d: its failure is cleared",
                     name, failed.position)

    def read_models(self) -> ReadModels:
        """Queries that see every write made before them."""
        return ReadModels(self._log, self.portfolio, self.audit, refresh=self.refresh)


def _next_event(app: Governance, after: int) -> tuple[int, str] | None:
    """The position and topic of the first event after a position (None at the log's end)."""
    found = app.recorder.select_notifications(start=after, limit=1, inclusive_of_start=False)
    return (found[0].id, found[0].topic) if found else None


def _report(name: str, failure: ProjectionFailure, exc: BaseException, delay: float, *,
            first: bool) -> None:
    """One ERROR line (with the traceback) when a projection first fails at a position, one
    WARNING line per later try."""
    if first:
        log.error("projection %s cannot project the event at position %d (%s): %s; it stops "
                  "there, the other projections go on; next try in %g s", name,
                  failure.position, failure.topic, failure.error, delay, exc_info=exc)
    else:
        log.warning("projection %s still cannot project position %d (try %d): %s; next try "
                    "in %g s", name, failure.position, failure.attempts, failure.error, delay)


def in_memory(app: Governance) -> InProcess:
    """Read models in memory over an in-memory (or any) application."""
    return InProcess(app, MemoryPortfolioView(), MemoryAuditLogView())


def in_process_postgres(app: Governance, env: dict[str, str]) -> InProcess:
    """The PostgreSQL views, caught up by this process (CLI commands, the demo)."""
    portfolio, audit = postgres_views(env)
    return InProcess(app, portfolio, audit)


def served_read_models(app: Governance, env: dict[str, str]) -> ReadModels:
    """The PostgreSQL views as an API process sees them: kept up by `cxgov project`."""
    portfolio, audit = postgres_views(env)
    return ReadModels(ApplicationLog(app), portfolio, audit)


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


def _failures(runner: Any) -> FailureLog:
    return failure_log(runner.view)


def _progress(name: str, slot: _Supervised) -> None:
    """Clear a failure the runner has projected past; batch again once past the error."""
    runner = slot.runner
    if not slot.loaded:
        slot.loaded = True
        slot.failure = slot.failure or _failures(runner).get(name)  # an earlier process's
    if slot.failure is None and not slot.careful:
        return
    tracked = runner.view.max_tracking_id(runner.app_name) or 0
    if slot.failure is not None and tracked >= slot.failure.position:
        _failures(runner).clear(name)
        log.info("projector %s projected position %d: its failure is cleared", name,
                 slot.failure.position)
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
        found = _next_event(runner.app, tracked)
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
            at = datetime.now(UTC)
            position, topic = found
            failure = ProjectionFailure(name, position, topic, describe(exc), at,
                                        last_attempt=at)
            try:
                failure = _failures(runner).record(failure)
            except Exception as problem:
                log.warning("projector %s: the failure could not be recorded: %s", name,
                            describe(problem))
            delay = backoff(failure.attempts, base=restart_delay, cap=max_retry_delay)
            _report(name, failure, exc, delay, first=slot.failure is None
                    or slot.failure.position != position)
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


def rebuild(app: Governance, env: dict[str, str], names: tuple[str, ...] = PROJECTIONS,
            progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Rebuild read models from scratch (stop `cxgov project` first), in one pass over the log;
    a failure recorded for a rebuilt projection is cleared."""
    unknown = [name for name in names if name not in PROJECTIONS]
    if unknown:
        raise ValueError(f"unknown projection {unknown[0]}; choose from {', '.join(PROJECTIONS)}")
    portfolio, audit = postgres_views(env)
    source = ApplicationLog(app)
    total = source.max_position()
    chosen = [name for name in PROJECTIONS if name in names]
    label = "+".join(chosen)  # one pass rebuilds them together: one progress line

    def tick(position: int) -> None:
        if progress is not None:
            progress(label, position, total)

    position = rebuild_all(source, portfolio if "portfolio" in names else None,
                           audit if "auditlog" in names else None,
                           application_name=app.name, progress=tick if progress else None)
    for name in chosen:  # projected past any event it failed on
        failure_log(portfolio if name == "portfolio" else audit).clear(name)
    return dict.fromkeys(chosen, position)
