"""Stand-ins that write through the real event store tables without the domain model."""

from __future__ import annotations

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Cxgov(Application):
    """An application with the real one's name, so it writes cxgov_events (and cxgov_chain)."""

    name = "cxgov"


class Probe(Aggregate):
    """A throwaway aggregate."""

    @event("Noted")
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Renamed")
    def rename(self, text: str) -> None:
        self.text = text
