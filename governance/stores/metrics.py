"""Operational figures read at scrape time: projection lag and pool utilisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from governance.app import Governance
from governance.stores.heartbeats import heartbeat_ages
from projections.failures import ProjectionFailure
from projections.failures import projection_failures as failures_beside
from projections.query import ReadModels
from projections.views import AuditLogView, PortfolioView


@dataclass(frozen=True)
class ProjectionLag:
    """How far one projection is behind the event log."""

    projection: str
    position: int
    log_position: int
    lag_events: int
    lag_seconds: float  # age of the oldest event it has not processed (0 when caught up)


@dataclass(frozen=True)
class PoolUse:
    """Net committed funds of one period against its pool."""

    period: str
    amount: Decimal
    net_committed: Decimal

    @property
    def utilisation(self) -> Decimal:
        """Net committed / pool (0 for an empty pool)."""
        return self.net_committed / self.amount if self.amount else Decimal(0)


def _event_time(gov: Governance, after: int) -> datetime | None:
    """The timestamp of the first event after a position, if any."""
    found = gov.recorder.select_notifications(start=after, limit=1, inclusive_of_start=False)
    if not found:
        return None
    stamp = getattr(gov.mapper.to_domain_event(found[0]), "timestamp", None)
    return stamp if isinstance(stamp, datetime) else None


def projection_lags(gov: Governance, models: ReadModels, *,
                    now: datetime | None = None) -> list[ProjectionLag]:
    """The lag of the portfolio and audit-log projections (in events and seconds)."""
    if models.refresh is not None:  # in-process read models: caught up on demand
        models.refresh()
    log_position = gov.position()
    now = now or datetime.now(UTC)
    views: tuple[tuple[str, PortfolioView | AuditLogView], ...] = (
        ("portfolio", models.portfolio), ("auditlog", models.audit))
    lags = []
    for name, view in views:
        position = view.max_tracking_id(models.application_name) or 0
        behind = max(log_position - position, 0)
        seconds = 0.0
        if behind:
            oldest = _event_time(gov, position)
            if oldest is not None:
                stamp = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
                seconds = max((now - stamp).total_seconds(), 0.0)
        lags.append(ProjectionLag(name, position, log_position, behind, seconds))
    return lags


def projection_failures(models: ReadModels) -> list[ProjectionFailure]:
    """The projections stopped before an event they cannot project (projections/failures.py).

    Read after projection_lags, which catches in-process read models up (and so records a
    failure they meet)."""
    return failures_beside(models.portfolio, models.audit)


def projector_heartbeat_ages(models: ReadModels) -> dict[str, float] | None:
    """Seconds since each projection's projector last recorded a heartbeat (a projection
    without one is absent); None for in-process read models, which the reader catches up."""
    if models.refresh is not None:
        return None
    return heartbeat_ages(models.portfolio)


def pool_uses(models: ReadModels) -> list[PoolUse]:
    """Every period's pool utilisation, from the ledger read model."""
    uses = []
    for row in models.portfolio.documents("ledger"):
        uses.append(PoolUse(str(row["period"]), Decimal(str(row["amount"])),
                            Decimal(str(row["net_committed"]))))
    return uses
