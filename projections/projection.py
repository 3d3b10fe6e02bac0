"""The projections: fold each event, write what changed with the tracking position, once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from projections import render
from projections.audit import audit_row
from projections.codec import canonical, dump_state, load_state
from projections.log import LogReader
from projections.state import PortfolioState
from projections.views import AuditLogView, Doc, PortfolioView

CHECKPOINT_EVERY = 1000  # positions between state checkpoints (as-of cost stays bounded)


def replay(log: LogReader, *, upto: int | None, start: PortfolioState | None = None,
           progress: Callable[[int], None] | None = None) -> PortfolioState:
    """Fold events after `start` (a checkpoint, or nothing) up to a position."""
    state = start or PortfolioState()
    for position, event in log.read(after=state.position, upto=upto):
        state.apply(position, event)
        if progress is not None:
            progress(position)
    if upto is not None:
        state.position = max(state.position, upto)
    return state


def periods_of(scopes: Iterable[str]) -> set[str]:
    """Periods named by change scopes."""
    return {s.split(":", 1)[1] for s in scopes if s.startswith("period:")}


class PortfolioProjection(Projection[PortfolioView]):
    """Ranking, ledger, scorecard, directory and initiative documents from one fold."""

    name = "portfolio"
    log_factory: ClassVar[Callable[[], AbstractContextManager[LogReader]] | None] = None

    def __init__(self, view: PortfolioView) -> None:
        super().__init__(view)
        self.state = self.restore(view)
        self.written: dict[tuple[str, str], str] = {}  # what this process last wrote per doc

    @classmethod
    def restore(cls, view: PortfolioView, application_name: str = "cxgov") -> PortfolioState:
        """State at the view's tracking position: newest checkpoint, then replay, no writes."""
        position = view.max_tracking_id(application_name) or 0
        found = view.checkpoint(at_most=position)
        state = load_state(found[1]) if found else PortfolioState()
        if state.position < position:
            if cls.log_factory is None:
                raise RuntimeError("bind a log to the projection before restoring it")
            with cls.log_factory() as log:
                state = replay(log, upto=position, start=state)
        return state

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Fold, render the changed scopes, write them with the tracking position."""
        before = self.state.position
        scopes = self.state.apply(tracking.notification_id, domain_event)
        rendered = render.documents(self.state, scopes) if scopes else {}
        texts = {key: canonical(doc[4]) for key, doc in rendered.items()}
        changed = [doc for key, doc in rendered.items() if self.written.get(key) != texts[key]]
        due = tracking.notification_id // CHECKPOINT_EVERY > before // CHECKPOINT_EVERY
        checkpoint = (tracking.notification_id, dump_state(self.state)) if due else None
        periods = periods_of(scopes)
        self.view.write(tracking, changed, periods=periods, checkpoint=checkpoint,
                        keep=[key for key in rendered if key[0] == "ranking"])
        for key in [k for k in self.written if k[0] == "ranking" and k not in rendered
                    and k[1].split("/", 1)[0] in periods]:
            del self.written[key]
        self.written.update(texts)


class AuditLogProjection(Projection[AuditLogView]):
    """One flattened row per event."""

    name = "auditlog"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Append the event's row with the tracking position."""
        self.view.append(tracking, [audit_row(tracking.notification_id, domain_event)])


def rebuild_portfolio(log: LogReader, view: PortfolioView, *, application_name: str = "cxgov",
                      progress: Callable[[int], None] | None = None) -> int:
    """Fold the whole log in memory, checkpointing as the live projector would, then swap in."""
    state = PortfolioState()
    checkpoints: list[tuple[int, str]] = []
    for position, event in log.read(after=0):
        before = state.position
        state.apply(position, event)
        if position // CHECKPOINT_EVERY > before // CHECKPOINT_EVERY:
            checkpoints.append((position, dump_state(state)))
        if progress is not None:
            progress(position)
    docs: list[Doc] = list(render.documents(state).values())
    view.replace_all(application_name, docs, checkpoints, state.position)
    return state.position


def rebuild_audit_log(log: LogReader, view: AuditLogView, *, application_name: str = "cxgov",
                      progress: Callable[[int], None] | None = None) -> int:
    """Rewrite the audit log from the whole log."""
    def rows() -> Iterator[dict[str, Any]]:
        for position, event in log.read(after=0):
            if progress is not None:
                progress(position)
            yield audit_row(position, event)

    collected = list(rows())
    last = collected[-1]["position"] if collected else 0
    view.replace_all(application_name, collected, last)
    return int(last)


def catch_up(log: LogReader, projection: Projection[Any], *,
             application_name: str = "cxgov") -> int:
    """Feed a projection every event after its view's tracking position (in-process runner)."""
    position = projection.view.max_tracking_id(application_name) or 0
    for notification_id, event in log.read(after=position):
        projection.process_event(event, Tracking(application_name, notification_id))
        position = notification_id
    return position
