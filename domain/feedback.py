"""Voice of the customer as evidence (issue 15, part 6): feedback items from the listening
channels, recorded in batches like observations (one stream of one event per batch, so
recording is O(1) and a retried batch key is refused, never applied twice).

An item is the customer's verbatim (hostile free text: the rules of domain/text.py, multi-line,
at most 4,000 characters), the channel it came through, the day it was received, an optional
segment (P&L, cohort) and optional tags to a scenario, a job to be done and a metric. An item
is cited as `<batch_key>/<n>` (n from 1 in batch order): unique without a lookup.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.ids import natural_id
from domain.text import clean_text
from domain.values import require_code, require_text

MOST_ITEMS = 1000  # items per batch
VERBATIM_MOST = 4000
#: Optional tags and segment: codes of a scenario, job, metric, P&L; a cohort label.
CODES = ("scenario", "job", "metric", "pnl")
FIELDS = frozenset({"verbatim", "channel", "received_on", "cohort", *CODES})


def item_ref(batch_key: str, n: int) -> str:
    """How an item is cited: its batch key and its place in the batch (from 1)."""
    return f"{batch_key}/{n}"


def check_item(item: dict[str, Any], *, today: date) -> dict[str, str]:
    """One feedback item, cleaned: every value stored as text (the day as ISO 8601)."""
    unknown = sorted(set(item) - FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    out = {"verbatim": clean_text(item.get("verbatim"), field="verbatim",
                                  max_length=VERBATIM_MOST, multiline=True),
           "channel": require_text(item.get("channel", ""), field="channel", max_length=80)}
    day = item.get("received_on")
    try:
        received = day if isinstance(day, date) else date.fromisoformat(str(day))
    except ValueError:
        raise InvalidInput("received_on must be a day such as 2026-11-30",
                           field="received_on") from None
    if received > today:
        raise InvalidInput("received_on is in the future", field="received_on")
    out["received_on"] = received.isoformat()
    for name in CODES:
        if item.get(name) not in (None, ""):
            out[name] = require_code(str(item[name]), field=name)
    if item.get("cohort") not in (None, ""):
        out["cohort"] = require_text(str(item["cohort"]), field="cohort", max_length=80)
    return out


class FeedbackBatch(Aggregate):
    """One batch of feedback items: a stream of exactly one event."""

    TOPIC = "cxgov.FeedbackBatch"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.FeedbackBatch.Created"

    class Recorded(Created):
        TOPIC = "cxgov.FeedbackBatch.Recorded"
        batch_key: str
        items: list[dict[str, str]]
        source: str
        actor: str

    @staticmethod
    def create_id(batch_key: str) -> UUID:
        """A batch is identified by the client's batch key (retries collide)."""
        return natural_id("feedback", batch_key)

    @classmethod
    def record(cls, *, batch_key: str, items: list[dict[str, Any]], source: str, actor: str,
               today: date) -> FeedbackBatch:
        """Record a non-empty batch of at most `MOST_ITEMS` items; an error names
        `items.N.<field>`."""
        if not items:
            raise InvalidInput("a batch needs at least one item", field="items")
        if len(items) > MOST_ITEMS:
            raise InvalidInput(f"a batch holds at most {MOST_ITEMS:,} items", field="items")
        checked = []
        for n, item in enumerate(items):
            try:
                checked.append(check_item(item, today=today))
            except InvalidInput as exc:
                raise exc.within(f"items.{n}") from None
        created: FeedbackBatch = cls(
            batch_key=require_code(batch_key, field="batch_key"), items=checked,
            source=require_text(source, field="source", max_length=200), actor=actor)
        return created

    @event(Recorded)
    def __init__(self, *, batch_key: str, items: list[dict[str, str]], source: str,
                 actor: str) -> None:
        self.batch_key = batch_key
        self.items = [dict(i) for i in items]
        self.source = source

    def tags(self) -> dict[str, set[str]]:
        """The codes the items name, by kind (to check they exist)."""
        found: dict[str, set[str]] = {name: set() for name in CODES}
        for item in self.items:
            for name in CODES:
                if name in item:
                    found[name].add(item[name])
        return found


class Evidence(Aggregate):
    """The customer feedback an initiative cites as evidence: one stream per initiative."""

    TOPIC = "cxgov.Evidence"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.Evidence.Created"

    class Opened(Created):
        TOPIC = "cxgov.Evidence.Opened"
        initiative_id: str
        period: str
        code: str
        actor: str

    class Cited(Aggregate.Event):
        """Feedback items cited (their refs, `<batch_key>/<n>`), with why they matter."""

        TOPIC = "cxgov.Evidence.Cited"
        initiative_id: str
        code: str
        refs: list[str]
        note: str
        actor: str

    @staticmethod
    def create_id(initiative_id: UUID | str) -> UUID:
        """One evidence stream per initiative."""
        return natural_id("evidence", str(initiative_id))

    @classmethod
    def open(cls, *, initiative_id: str, period: str, code: str, actor: str) -> Evidence:
        """The initiative's evidence stream, before its first citation."""
        created: Evidence = cls(initiative_id=initiative_id, period=period, code=code,
                                actor=actor)
        return created

    @event(Opened)
    def __init__(self, *, initiative_id: str, period: str, code: str, actor: str) -> None:
        self.initiative_id = initiative_id
        self.code = code
        self.refs: list[str] = []

    def cite(self, *, refs: list[str], note: str, actor: str) -> None:
        """Cite feedback items (each once); citing only what is cited already is refused."""
        new = list(dict.fromkeys(r for r in refs if r not in self.refs))
        if not new:
            raise InvalidInput("every item is cited already: nothing changes", field="refs")
        self._cited(initiative_id=self.initiative_id, code=self.code, refs=new,
                    note=clean_text(note, field="note", max_length=2000, required=False,
                                    multiline=True), actor=actor)

    @event(Cited)
    def _cited(self, *, initiative_id: str, code: str, refs: list[str], note: str,
               actor: str) -> None:
        self.refs = [*self.refs, *refs]


def parse_ref(ref: str) -> tuple[str, int]:
    """`<batch_key>/<n>` as (batch key, n); refused naming `refs` otherwise."""
    key, _, number = ref.rpartition("/")
    if not key or not number.isdigit() or int(number) < 1:
        raise InvalidInput(f"a cited item is <batch_key>/<n>, got {ref!r}", field="refs")
    return require_code(key, field="refs"), int(number)
