"""Wiring of the read side: views, in-process read models, rebuilds, and the failure
bookkeeping they share with the projector process (governance/stores/projectors.py): a
projection that cannot project one event stops alone there, is recorded and retried."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, IntegrityError
from eventsourcing.utils import Environment

from governance.app import Governance
from projections.failures import (
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
        at = next_event(self.app, tracked) or (tracked + 1, "")
        failure, delay = record_failure(view, name, at, exc, self._failures.get(name),
                                        base=self.retry_delay, cap=MAX_RETRY_DELAY)
        self._failures[name] = failure
        self._retry_at[name] = self.clock() + delay

    def _passed(self, name: str, failed: ProjectionFailure) -> None:
        view = self._view(name)
        if clear_if_past(view, name, failed, view.max_tracking_id(self.app.name) or 0):
            del self._failures[name]

    def read_models(self) -> ReadModels:
        """Queries that see every write made before them."""
        return ReadModels(self._log, self.portfolio, self.audit, refresh=self.refresh)


def next_event(app: Governance, after: int) -> tuple[int, str] | None:
    """The position and topic of the first event after a position (None at the log's end)."""
    found = app.recorder.select_notifications(start=after, limit=1, inclusive_of_start=False)
    return (found[0].id, found[0].topic) if found else None


def record_failure(view: Any, name: str, at: tuple[int, str], exc: BaseException,
                   previous: ProjectionFailure | None, *, base: float,
                   cap: float) -> tuple[ProjectionFailure, float]:
    """Record that a projection cannot project the event at `at` (position, topic) beside its
    view, log it (one ERROR line when it first fails there, a WARNING per later try), and
    return the failure and the delay before the next try (1, 2, 4 ... `cap` times `base`)."""
    position, topic = at
    now = datetime.now(UTC)
    failure = ProjectionFailure(name, position, topic, describe(exc), now, last_attempt=now)
    try:
        failure = failure_log(view).record(failure)
    except Exception as problem:  # the database went away too: report it all the same
        log.warning("projection %s: the failure could not be recorded: %s", name,
                    describe(problem))
    delay = backoff(failure.attempts, base=base, cap=cap)
    if previous is None or previous.position != position:
        log.error("projection %s cannot project the event at position %d (%s): %s; it stops "
                  "there, the other projections go on; next try in %g s", name,
                  failure.position, failure.topic, failure.error, delay, exc_info=exc)
    else:
        log.warning("projection %s still cannot project position %d (try %d): %s; next try "
                    "in %g s", name, failure.position, failure.attempts, failure.error, delay)
    return failure, delay


def clear_if_past(view: Any, name: str, failure: ProjectionFailure, tracked: int) -> bool:
    """Delete a recorded failure once the projection has projected past its position."""
    if tracked < failure.position:
        return False
    failure_log(view).clear(name)
    log.info("projection %s projected position %d: its failure is cleared", name,
             failure.position)
    return True


def in_memory(app: Governance) -> InProcess:
    """Read models in memory over an in-memory (or any) application."""
    return InProcess(app, MemoryPortfolioView(), MemoryAuditLogView())


def in_process_postgres(app: Governance, env: dict[str, str]) -> InProcess:
    """The PostgreSQL views, caught up by this process (CLI commands, the demo)."""
    portfolio, audit = postgres_views(env)
    return InProcess(app, portfolio, audit)


def served_read_models(app: Governance, env: dict[str, str], *,
                       read_env: dict[str, str] | None = None,
                       standby_wait: float = 2.0) -> ReadModels:
    """The PostgreSQL views as an API process sees them: kept up by `cxgov project`; with
    `read_env` (a hot standby's eventsourcing env), read there (governance/stores/replica.py)."""
    portfolio, audit = postgres_views(env)
    if read_env is None:
        return ReadModels(ApplicationLog(app), portfolio, audit)
    from governance.stores.replica import ReplicatedReadModels

    standby_portfolio, standby_audit = postgres_views(read_env)
    return ReplicatedReadModels(ApplicationLog(app), portfolio, audit,
                                standby_portfolio=standby_portfolio, standby_audit=standby_audit,
                                standby_wait=standby_wait)


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
