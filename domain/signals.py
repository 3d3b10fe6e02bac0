"""Signals: what needs someone's attention, and the notes that answer them.

A signal itself is not stored: it is derived from the portfolio by the detectors
(projections/signals.py), with a stable key, a kind and the time it was raised (`since`).
What is stored is the act of answering one: a `SignalNote` stream per key records each
acknowledgement and resolution with its note, the raise it answers (`raised_at`) and the
review it was taken in, so the act is in the audited history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import natural_id
from domain.text import optional_text

METRIC_OFF_TRACK: Final = "metric_off_track"
BENEFIT_AT_RISK: Final = "benefit_at_risk"
SUBMISSION_UNDECIDED: Final = "submission_undecided"
SECOND_APPROVAL_WAITING: Final = "second_approval_waiting"
POOL_UNDERUSED: Final = "pool_underused"
METRIC_OVERCLAIMED: Final = "metric_overclaimed"
SPEND_OVER_PLAN: Final = "spend_over_plan"
KINDS: Final = (METRIC_OFF_TRACK, BENEFIT_AT_RISK, SUBMISSION_UNDECIDED,
                SECOND_APPROVAL_WAITING, POOL_UNDERUSED, METRIC_OVERCLAIMED, SPEND_OVER_PLAN)
STATES: Final = ("open", "acknowledged", "resolved", "closed")

#: kind:subject, the subject made of codes separated by ':' (e.g. metric_off_track:FY2027:M1);
#: no '/', so a key is one segment of a URL path
_KEY = re.compile(r"^([a-z_]{1,40}):([A-Za-z0-9._-]{1,40}(?::[A-Za-z0-9._-]{1,40}){0,3})$")


def check_signal_key(key: str) -> str:
    """The key when it has a signal key's shape (`kind:subject`) and a known kind."""
    found = _KEY.fullmatch(key) if isinstance(key, str) else None
    if found is None or found.group(1) not in KINDS:
        raise InvalidInput("a signal key is kind:subject, e.g. metric_off_track:FY2027:M1, "
                           f"with a kind among {', '.join(KINDS)}", field="key")
    return key


def kind_of(key: str) -> str:
    """The kind a signal key names."""
    return check_signal_key(key).split(":", 1)[0]


@dataclass(frozen=True)
class SignalFacts:
    """What a command needs to know of an open signal: found by the read side."""

    key: str
    kind: str
    since: datetime
    period: str | None
    initiatives: tuple[str, ...] = ()


class SignalNote(Aggregate):
    """The acknowledgements and resolutions of one signal key."""

    TOPIC = "cxgov.SignalNote"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.SignalNote.Created"

    class Started(Created):
        TOPIC = "cxgov.SignalNote.Started"
        key: str
        kind: str
        actor: str

    class Acknowledged(Aggregate.Event):
        TOPIC = "cxgov.SignalNote.Acknowledged"
        key: str
        kind: str
        period: str | None
        raised_at: datetime
        note: str
        review: UUID | None
        actor: str

    class Resolved(Aggregate.Event):
        TOPIC = "cxgov.SignalNote.Resolved"
        key: str
        kind: str
        period: str | None
        raised_at: datetime
        note: str
        review: UUID | None
        actor: str

    @staticmethod
    def create_id(key: str) -> UUID:
        """One stream per signal key."""
        return natural_id("signal", key)

    @event(Started)
    def __init__(self, *, key: str, kind: str, actor: str) -> None:
        self.key = key
        self.kind = kind
        self.raised_at: datetime | None = None  # the raise the last note answered
        self.state = "open"

    @classmethod
    def start(cls, *, key: str, actor: str) -> SignalNote:
        """The note stream of a signal key."""
        return cls(key=check_signal_key(key), kind=kind_of(key), actor=actor)

    def acknowledge(self, signal: SignalFacts, *, note: str, review: UUID | None,
                    actor: str) -> None:
        """Someone has seen the signal and says what happens next."""
        if self.raised_at == signal.since and self.state in ("acknowledged", "resolved"):
            raise InvalidTransition(f"signal {self.key} is {self.state} already",
                                    status=self.state)
        self._acknowledged(key=self.key, kind=self.kind, period=signal.period,
                           raised_at=signal.since,
                           note=optional_text(note, field="note", max_length=4000),
                           review=review, actor=actor)

    def resolve(self, signal: SignalFacts, *, note: str, review: UUID | None,
                actor: str) -> None:
        """The signal is dealt with; it closes even while its condition holds."""
        if self.raised_at == signal.since and self.state == "resolved":
            raise InvalidTransition(f"signal {self.key} is resolved already", status=self.state)
        text = optional_text(note, field="note", max_length=4000)
        if not text:
            raise InvalidInput("resolving a signal needs a note saying how", field="note")
        self._resolved(key=self.key, kind=self.kind, period=signal.period,
                       raised_at=signal.since, note=text, review=review, actor=actor)

    @event(Acknowledged)
    def _acknowledged(self, *, key: str, kind: str, period: str | None, raised_at: datetime,
                      note: str, review: UUID | None, actor: str) -> None:
        self.raised_at = raised_at
        self.state = "acknowledged"

    @event(Resolved)
    def _resolved(self, *, key: str, kind: str, period: str | None, raised_at: datetime,
                  note: str, review: UUID | None, actor: str) -> None:
        self.raised_at = raised_at
        self.state = "resolved"
