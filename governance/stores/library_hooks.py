"""The one place cxgov relies on eventsourcing's internals, and the check that says so.

The live projector coalesces: it folds every event but renders and writes only when its
subscription has no fetched event left (decision 28). The library (9.5.x) offers no public
hook for "the subscription is about to wait", so this module reaches, read-only, into:

- `ProjectionRunner._process_events_loop(subscription, projection, is_stopping, runner)`, a
  static method the runner's thread runs; `CoalescingRunner` wraps its subscription;
- the `ListenNotifySubscription` fields `_notifications`, `_notifications_index` and
  `_notifications_queue` (eventsourcing/persistence.py), which tell whether fetched
  notifications are still buffered.

If an upgrade changes either, `missing_internals()` names what is gone, the runner logs it
once and flushes after every event (correct, only slower), and tests/pg/test_library_hooks.py
fails loudly. `eventsourcing` is pinned to an exact version in pyproject.toml for this reason.
"""

from __future__ import annotations

import inspect
import logging
import threading
from typing import Any, cast

from eventsourcing.persistence import ListenNotifySubscription
from eventsourcing.projection import ProjectionRunner

log = logging.getLogger("cxgov.projectors")

LOOP_PARAMETERS = ("subscription", "projection", "is_stopping", "runner")
SUBSCRIPTION_FIELDS = ("_notifications", "_notifications_index", "_notifications_queue")


def missing_internals() -> list[str]:
    """What this module relies on and the installed library no longer has (empty: all)."""
    missing = []
    loop = getattr(ProjectionRunner, "_process_events_loop", None)
    if loop is None:
        missing.append("ProjectionRunner._process_events_loop")
    elif tuple(inspect.signature(loop).parameters) != LOOP_PARAMETERS:
        missing.append(f"ProjectionRunner._process_events_loop{LOOP_PARAMETERS}")
    source = inspect.getsource(ListenNotifySubscription.__init__)
    missing.extend(f"ListenNotifySubscription.{field}" for field in SUBSCRIPTION_FIELDS
                   if f"self.{field}" not in source)
    return missing


_checked = threading.Event()


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
        if not buffered(self.subscription):
            self.projection.flush()
        return next(self.subscription)


def buffered(subscription: Any) -> bool:
    """Whether the runner's subscription has fetched events it has not yielded yet (False
    when that cannot be told, which flushes after every event)."""
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
        if not _checked.is_set():
            _checked.set()
            if missing := missing_internals():
                log.warning("eventsourcing changed (%s): the projector writes after every "
                            "event", ", ".join(missing))
        ProjectionRunner._process_events_loop(
            cast(Any, _FlushWhenIdle(subscription, projection)), projection, is_stopping, runner)
