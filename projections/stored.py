"""Stored event JSON: the value objects' transcodings, and audit details taken from it.

The transcodings live here (governance/stores/transcoding.py registers them on the
application's transcoder) so that the read side can decode what the write side stored without
importing the application. A rebuild copies each event's stored JSON into the audit log's
`details` as is (decision 230) instead of encoding the decoded event again; `served_details`
turns either form (stored, or the plain form the live projector writes) into the plain fields
the audit log has always served, so the API's answers do not depend on which wrote the row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    UUIDAsHex,
)

from domain.initiative import DecisionRecord, Proposal
from domain.policy import Guardrail, PolicyTerms
from domain.values import ImpactClaim, Money, Reading
from projections.codec import plain

#: A stored event's fields that are the event's bookkeeping, not its details.
STORED_BOOKKEEPING = frozenset({"originator_id", "originator_version", "timestamp",
                                "originator_topic", "class_version"})


class DateAsISO(Transcoding):
    """A calendar date as YYYY-MM-DD."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        """Encode a date."""
        return obj.isoformat()

    def decode(self, data: str) -> date:
        """Decode a date."""
        return date.fromisoformat(data)


class DataclassTranscoding(Transcoding):
    """A frozen dataclass as a dict of its fields; lists come back as tuples where declared."""

    def __init__(self, cls: type[Any], name: str, *, sparse: tuple[str, ...] = ()) -> None:
        self.type = cls
        self.name = name
        fields = dataclasses.fields(cls)
        self._names = [f.name for f in fields]
        self._tuples = {f.name for f in fields if str(f.type).startswith("tuple")}
        self._sparse = frozenset(sparse)

    def encode(self, obj: Any) -> dict[str, Any]:
        """Encode the dataclass's fields (a `sparse` field only when it is not None)."""
        return {name: value for name in self._names
                if (value := getattr(obj, name)) is not None or name not in self._sparse}

    def decode(self, data: dict[str, Any]) -> Any:
        """Rebuild the dataclass; fields added later take their defaults."""
        kwargs = {
            k: tuple(v) if k in self._tuples and isinstance(v, list) else v
            for k, v in data.items()
            if k in self._names
        }
        return self.type(**kwargs)


VALUE_OBJECTS: tuple[tuple[type[Any], str], ...] = (
    (Money, "cxgov.Money"),
    (ImpactClaim, "cxgov.ImpactClaim"),
    (Reading, "cxgov.Reading"),
    (Proposal, "cxgov.Proposal"),
    (DecisionRecord, "cxgov.DecisionRecord"),
    (PolicyTerms, "cxgov.PolicyTerms"),
    (Guardrail, "cxgov.Guardrail"),
)


#: Fields added to a value object later, stored only when set: a reading without a summary,
#: counts or the newer segments is stored exactly as before they existed (issue 15), and a
#: stored reading without them decodes with None.
SPARSE: dict[type[Any], tuple[str, ...]] = {
    Reading: ("channel", "region", "mean", "sd", "median", "p90", "share_meeting", "promoters",
              "passives", "detractors", "top_box"),
    DecisionRecord: ("plan",),  # issue 16: only a decision judged against a plan of record
}


def transcodings() -> list[Transcoding]:
    """Every transcoding the application registers besides the library's defaults."""
    return [DateAsISO(), *(DataclassTranscoding(cls, name, sparse=SPARSE.get(cls, ()))
                           for cls, name in VALUE_OBJECTS)]


#: Escapes in a stored event's JSON that may decode to a code point PostgreSQL cannot store
#: (projections.codec.storable). A cheap bytes test: a false alarm, e.g. a literal backslash
#: before "ud", only takes the slower exact path.
SUSPECT = (b"\\u0000", b"\\ud", b"\\uD")


def _decoder() -> Callable[[dict[str, Any]], Any]:
    """The object hook of a transcoder registered as the application's is."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), *transcodings()):
        transcoder.register(transcoding)
    hook = transcoder.decoder.object_hook
    assert hook is not None
    return hook


_HOOK = _decoder()
_SUFFIX: dict[type, bytes | None] = {}


def stored_details(event: Any, state: bytes | None) -> str | None:
    """The stored JSON of an event as the text of its audit details, when it holds exactly
    the event's fields: None when the event was upcast from an older class version (its
    stored fields are not the decoded ones) or its text may hold a code point PostgreSQL
    cannot store (it decodes with U+FFFD there: the caller encodes the decoded fields)."""
    if state is None:
        return None
    cls = type(event)
    suffix = _SUFFIX.get(cls, b"")
    if suffix == b"":
        version = getattr(cls, "class_version", 1)
        suffix = _SUFFIX[cls] = b',"class_version":%d}' % version if version > 1 else None
    if suffix is not None and not state.endswith(suffix):
        return None  # stored by an older class version: upcast when decoded
    if b"\\u" in state and any(s in state for s in SUSPECT):
        return None
    return state.decode("utf8")


def served_details(details: dict[str, Any]) -> dict[str, Any]:
    """The plain fields an audit row serves, from its stored `details` in either form: the
    stored event JSON (value objects tagged, bookkeeping included) or the plain fields.
    Keys come in jsonb's order (shorter first, then bytewise), as the column returns them."""
    decoded = _decode(details)
    return {k: _ordered(plain(decoded[k])) for k in sorted(decoded, key=_jsonb_key)
            if k not in STORED_BOOKKEEPING}


def _decode(value: Any) -> Any:
    """Apply the transcoder's object hook bottom-up, as its JSON decoder does."""
    kind = type(value)
    if kind is list:
        return [_decode(v) for v in value]
    if kind is dict:
        return _HOOK({k: _decode(v) for k, v in value.items()})
    return value


def _ordered(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_ordered(v) for v in value]
    if kind is dict:
        return {k: _ordered(value[k]) for k in sorted(value, key=_jsonb_key)}
    return value


def _jsonb_key(key: str) -> tuple[int, bytes]:
    data = key.encode("utf8")
    return len(data), data
