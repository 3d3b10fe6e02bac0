"""Wiring of the read side: views, projectors (supervised runners), rebuilds, in-process mode."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from eventsourcing.persistence import InfrastructureFactory, IntegrityError
from eventsourcing.projection import ProjectionRunner
from eventsourcing.utils import Environment

from governance.app import Governance
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


class _FlushWhenIdle:
    """A runner's subscription that has its projection write before it would wait for events.

    The projection coalesces: it folds each event and renders and writes (rows and tracking
    in one transaction) only when the subscription holds no more fetched events, or its own
    batch limits are reached. A flush error is raised to the runner like a process_event error.
    """

    def __init__(self, subscription: Any, projection: Any) -> None:
        self.subscription = subscription
        self.projection = projection
        projection.coalescing = True

    def __iter__(self) -> _FlushWhenIdle:
        return self

    def __next__(self) -> Any:
        if not _buffered(self.subscription):
            self.projection.flush()
        return next(self.subscription)


def _buffered(subscription: Any) -> bool:
    """Whether the subscription has fetched events it has not yielded yet (eventsourcing
    9.5's ListenNotifySubscription; False when unknown, which flushes after every event)."""
    inner = getattr(subscription, "subscription", None)
    try:
        return bool(inner._notifications_index < len(inner._notifications)  # type: ignore[union-attr]
                    or not inner._notifications_queue.empty())  # type: ignore[union-attr]
    except AttributeError:
        return False


class CoalescingRunner(ProjectionRunner[Any, Any]):
    """The library's runner, its projection writing once per run of fetched events."""

    @staticmethod
    def _process_events_loop(subscription: Any, projection: Any, is_stopping: threading.Event,
                             runner: Any) -> None:
        ProjectionRunner._process_events_loop(
            cast(Any, _FlushWhenIdle(subscription, projection)), projection, is_stopping, runner)


@dataclass
class InProcess:
    """Projections run inside this process, caught up before each read (tests, CLI, demo)."""

    app: Governance
    portfolio: PortfolioView
    audit: AuditLogView

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._log = ApplicationLog(self.app)
        cls = bound_portfolio_projection(None, self.app)
        self._portfolio = cls(self.portfolio)
        self._audit = AuditLogProjection(self.audit)

    def refresh(self) -> None:
        """Process every event written since the last call."""
        with self._lock:
            for projection in (self._portfolio, self._audit):
                try:
                    catch_up(self._log, projection, application_name=self.app.name)
                except IntegrityError:
                    # Another projector advanced the view meanwhile: reload our fold from it.
                    if projection is self._portfolio:
                        self._portfolio.reload(self.app.name)

    def read_models(self) -> ReadModels:
        """Queries that see every write made before them."""
        return ReadModels(self._log, self.portfolio, self.audit, refresh=self.refresh)


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


def run_projectors(env: dict[str, str], *, stop: threading.Event,
                   restart_delay: float = 1.0,
                   on_error: Callable[[str, BaseException], None] | None = None,
                   on_idle: Callable[[], object] | None = None,
                   idle_every: float = 5.0,
                   audit_view: type[PostgresAuditLogView] = PostgresAuditLogView) -> None:
    """Run both projections until `stop`; an error stops a runner, is logged, and it restarts.

    A failed event is never skipped: the runner's tracking position only moves with its rows.
    `audit_view` is the audit log's view class (the crash drill's negative control passes a
    deliberately broken one).
    """
    runners: dict[str, Any] = {}
    # A runner holds an application pool, a view pool and a LISTEN connection: keep them small.
    env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "3"}

    def start(name: str) -> Any:
        if name == "portfolio":
            return CoalescingRunner(application_class=Governance,
                                    projection_class=bound_portfolio_projection(env),
                                    view_class=PostgresPortfolioView, env=env)
        return CoalescingRunner(application_class=Governance,
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
                runner = runners.get(name)
                if runner is not None:
                    try:
                        runner.run_forever(timeout=0)
                        continue
                    except Exception as exc:  # a projector error: log it and restart
                        log.exception("projector %s stopped: %s", name, exc)
                        if on_error:
                            on_error(name, exc)
                        _close(runner)
                        runners.pop(name)
                        time.sleep(restart_delay)
                try:
                    runners[name] = start(name)
                    log.info("projector %s started", name)
                except Exception as exc:
                    log.exception("projector %s could not start: %s", name, exc)
                    time.sleep(restart_delay)
            stop.wait(0.2)
    finally:
        for runner in runners.values():
            _close(runner)


def _close(runner: Any) -> None:
    try:
        runner.__exit__(None, None, None)
    except Exception as exc:  # closing a failed runner re-raises its error; it was logged
        log.debug("closing runner: %s", exc)
    finally:
        runner.view.datastore.close()


def rebuild(app: Governance, env: dict[str, str], names: tuple[str, ...] = PROJECTIONS,
            progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Rebuild read models from scratch (stop `cxgov project` first), in one pass over the log."""
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
    return dict.fromkeys(chosen, position)
