"""Wiring of the read side: views, projectors (supervised runners), rebuilds, in-process mode."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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
                   idle_every: float = 5.0) -> None:
    """Run both projections until `stop`; an error stops a runner, is logged, and it restarts.

    A failed event is never skipped: the runner's tracking position only moves with its rows.
    """
    runners: dict[str, Any] = {}
    # A runner holds an application pool, a view pool and a LISTEN connection: keep them small.
    env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "3"}

    def start(name: str) -> Any:
        if name == "portfolio":
            return ProjectionRunner(application_class=Governance,
                                    projection_class=bound_portfolio_projection(env),
                                    view_class=PostgresPortfolioView, env=env)
        return ProjectionRunner(application_class=Governance,
                                projection_class=AuditLogProjection,
                                view_class=PostgresAuditLogView, env=env)

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
