"""Reads from a hot standby (issue 19, part 4): the views are read on a PostgreSQL streaming
replica, writes and projections stay on the primary (the views replicate physically).

Read your writes: a query with `min_position` waits (bounded) until the standby's views have
replayed that position; when they have not, that request reads the primary's views instead.
Which database a request reads is kept in a context variable, so it holds for the request
that fell back and for no other. See docs/operator-guide.md, "Reads from a replica".
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass
from typing import Any

from projections.log import LogReader
from projections.query import ReadModels
from projections.views import AuditLogView, PortfolioView

STANDBY, PRIMARY = "standby", "primary"

#: The database this request (task or worker thread) reads its views from.
_reading: contextvars.ContextVar[str] = contextvars.ContextVar("cxgov_read_from", default=STANDBY)


@dataclass(frozen=True)
class ReplicaLag:
    """How far the standby is behind the primary, read at scrape time."""

    in_recovery: bool  # False once the standby was promoted
    lag_bytes: int  # WAL the primary has written that the standby has not replayed
    lag_seconds: float  # age of the last replayed transaction (0 when fully replayed)
    view_position: int  # the log position the standby's portfolio view has reached


class ReplicatedReadModels(ReadModels):
    """ReadModels whose views are read on a hot standby, falling back to the primary's views
    for a request whose `min_position` the standby has not reached within `standby_wait`."""

    def __init__(
        self,
        log: LogReader,
        portfolio: PortfolioView,
        audit: AuditLogView,
        *,
        standby_portfolio: PortfolioView,
        standby_audit: AuditLogView,
        standby_wait: float = 2.0,
        application_name: str = "cxgov",
    ) -> None:
        self._primary: tuple[PortfolioView, AuditLogView] = (portfolio, audit)
        self._standby: tuple[PortfolioView, AuditLogView] = (standby_portfolio, standby_audit)
        self.standby_wait = standby_wait
        self._lock = threading.Lock()
        self.served = {STANDBY: 0, PRIMARY: 0}  # queries, by the database that answered them
        super().__init__(log, portfolio, audit, application_name=application_name)

    # The base class assigns self.portfolio and self.audit: here they depend on the request.
    @property  # type: ignore[override]
    def portfolio(self) -> PortfolioView:
        """The portfolio view this request reads."""
        return self._views()[0]

    @portfolio.setter
    def portfolio(self, view: PortfolioView) -> None:
        self._primary = (view, self._primary[1])

    @property  # type: ignore[override]
    def audit(self) -> AuditLogView:
        """The audit-log view this request reads."""
        return self._views()[1]

    @audit.setter
    def audit(self, view: AuditLogView) -> None:
        self._primary = (self._primary[0], view)

    def _views(self) -> tuple[PortfolioView, AuditLogView]:
        return self._standby if _reading.get() == STANDBY else self._primary

    @property
    def reading(self) -> str:
        """The database this request reads (standby until a wait fell back)."""
        return _reading.get()

    def wait(self, min_position: int | None, timeout: float = 5.0) -> None:
        """Read your writes on the standby, else on the primary (for the rest of the request)."""
        if min_position and _reading.get() == STANDBY:
            try:
                for view in self._standby:
                    view.wait(self.application_name, min_position, timeout=self.standby_wait)
            except TimeoutError:
                _reading.set(PRIMARY)  # this request's context only
            except Exception:  # the standby is unreachable: the primary still answers
                _reading.set(PRIMARY)
        self._count(_reading.get())
        super().wait(min_position, timeout)

    def _count(self, database: str) -> None:
        with self._lock:
            self.served[database] += 1

    def primary_views(self) -> tuple[PortfolioView, AuditLogView]:
        """The primary's views (what the projector writes)."""
        return self._primary

    def close(self) -> None:
        """Close the four views' connection pools."""
        views: tuple[Any, ...] = (*self._primary, *self._standby)
        for view in views:
            view.datastore.close()

    def lag(self) -> ReplicaLag:
        """The standby's replay lag: WAL bytes behind the primary and seconds since the last
        replayed transaction (0 when it has replayed all it received)."""
        with self._primary[0].datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
            curs.execute(
                "SELECT pg_is_in_recovery() AS r, "
                "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                "ELSE pg_current_wal_lsn() END::text AS lsn"
            )
            primary = curs.fetchone()
        standby_portfolio = self._standby[0]
        with standby_portfolio.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
            curs.execute(
                "SELECT pg_is_in_recovery() AS r, "
                "COALESCE(pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()), 0) AS behind, "
                "CASE WHEN NOT pg_is_in_recovery() "
                "OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) "
                "END AS seconds",
                (primary["lsn"] if primary else None,),
            )
            row = curs.fetchone()
        position = standby_portfolio.max_tracking_id(self.application_name) or 0
        if row is None:
            return ReplicaLag(False, 0, 0.0, position)
        return ReplicaLag(
            bool(row["r"]), max(int(row["behind"]), 0), max(float(row["seconds"]), 0.0), position
        )


def reading_from() -> str:
    """The database the current request reads its views from (standby or primary)."""
    return _reading.get()
