"""Review: the decision meeting of a period, from the signals it opened on to its minutes.

Opened at a log position with the open signals and the ranking as of then; each
acknowledgement, resolution or decision taken in it is recorded as an item in the same
transaction as the act itself; closed with minutes. A decision item names the signals of the
review it answers (those whose evidence names the initiative decided on), so the loop time of
a signal answered by a decision is in the log too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, InvalidTransition
from domain.signals import SignalFacts
from domain.text import clean_text, optional_text
from domain.values import require_code

#: Decisions on an initiative taken in a review: each answers the review's signals naming it.
DECISION_ITEMS: Final = ("stop", "descope", "decide")
ITEM_KINDS: Final = ("acknowledge", "resolve", *DECISION_ITEMS)


class Review(Aggregate):
    """A review of one period's portfolio."""

    TOPIC = "cxgov.Review"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.Review.Created"

    class Opened(Created):
        TOPIC = "cxgov.Review.Opened"
        period: str
        title: str
        position: int
        signals: list[dict[str, Any]]
        ranking: list[str]
        actor: str

    class ItemRecorded(Aggregate.Event):
        TOPIC = "cxgov.Review.ItemRecorded"
        item: str
        signal: str | None
        initiative: str | None
        answers: list[str]
        note: str
        actor: str

    class Closed(Aggregate.Event):
        TOPIC = "cxgov.Review.Closed"
        minutes: str
        items: int
        actor: str

    @event(Opened)
    def __init__(self, *, period: str, title: str, position: int,
                 signals: list[dict[str, Any]], ranking: list[str], actor: str) -> None:
        self.period = period
        self.title = title
        self.position = position
        self.signals = signals
        self.ranking = ranking
        self.items: list[str] = []
        self.closed = False

    @classmethod
    def open(cls, *, period: str, title: str, position: int, signals: Sequence[SignalFacts],
             ranking: Sequence[str], actor: str) -> Review:
        """Open a review at `position` with the signals open and the ranking as of then."""
        return cls(period=require_code(period, field="period"),
                   title=optional_text(title, field="title", max_length=200, multiline=False),
                   position=position,
                   signals=[{"key": s.key, "kind": s.kind, "since": s.since,
                             "initiatives": list(s.initiatives)} for s in signals],
                   ranking=list(ranking), actor=actor)

    def answers_for(self, initiative_id: UUID) -> list[str]:
        """Keys of this review's signals whose evidence names the initiative."""
        return [s["key"] for s in self.signals if str(initiative_id) in s["initiatives"]]

    def record(self, *, item: str, signal: str | None = None,
               initiative: UUID | None = None, note: str = "", actor: str) -> None:
        """Record an act taken in this review (refused once it is closed)."""
        if self.closed:
            raise InvalidTransition("the review is closed", status="closed", field="review")
        if item not in ITEM_KINDS:
            raise InvalidInput(f"item must be one of {', '.join(ITEM_KINDS)}", field="item")
        answers = [signal] if signal else (
            self.answers_for(initiative) if initiative is not None else [])
        self._item(item=item, signal=signal,
                   initiative=str(initiative) if initiative is not None else None,
                   answers=answers, note=optional_text(note, field="note", max_length=4000),
                   actor=actor)

    def close(self, *, minutes: str, actor: str) -> None:
        """Close with minutes (once)."""
        if self.closed:
            raise InvalidTransition("the review is closed already", status="closed")
        self._closed(minutes=clean_text(minutes, field="minutes", max_length=20000,
                                        multiline=True),
                     items=len(self.items), actor=actor)

    @event(ItemRecorded)
    def _item(self, *, item: str, signal: str | None, initiative: str | None,
              answers: list[str], note: str, actor: str) -> None:
        self.items.append(item)

    @event(Closed)
    def _closed(self, *, minutes: str, items: int, actor: str) -> None:
        self.closed = True


def since_of(signal: dict[str, Any]) -> datetime:
    """The raise time of a signal as a review recorded it."""
    found = signal["since"]
    return found if isinstance(found, datetime) else datetime.fromisoformat(str(found))
