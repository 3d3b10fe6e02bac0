"""How value objects are written into stored events. Names are stored: never change them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.initiative import DecisionRecord, Proposal
from domain.policy import Guardrail, PolicyTerms
from domain.values import ImpactClaim, Money, Reading
from projections.codec import storable


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
_SUSPECT = (b"\\u0000", b"\\ud", b"\\uD")


class StorableTextTranscoder(JSONTranscoder):
    """The JSON transcoder, decoding every string of a stored event as `storable` text.

    The one place where the read side meets stored text: an event an older release let in
    with a NUL (or an escaped lone surrogate) decodes with U+FFFD there, so every projection,
    rebuild and as-of read can write and show it. Stored bytes are never changed (the audit
    chain hashes them); events without such an escape take the library's decoder as is.
    """

    def decode(self, data: bytes) -> Any:
        """Decode a stored event's state."""
        if not any(suspect in data for suspect in _SUSPECT):
            return super().decode(data)
        hook = self.decoder.object_hook
        assert hook is not None
        return _storable(json.loads(data.decode("utf8")), hook)


def _storable(value: Any, hook: Callable[[dict[str, Any]], Any]) -> Any:
    """Clean strings depth first and apply the object hook bottom-up, as the decoder does."""
    kind = type(value)
    if kind is str:
        return storable(value)
    if kind is list:
        return [_storable(v, hook) for v in value]
    if kind is dict:
        return hook({storable(k): _storable(v, hook) for k, v in value.items()})
    return value
