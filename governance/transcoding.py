"""How value objects are written into stored events. Names are stored: never change them."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.initiative import DecisionRecord, Proposal
from domain.policy import PolicyTerms
from domain.values import ImpactClaim, Money, Reading


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

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name
        fields = dataclasses.fields(cls)
        self._names = [f.name for f in fields]
        self._tuples = {f.name for f in fields if str(f.type).startswith("tuple")}

    def encode(self, obj: Any) -> dict[str, Any]:
        """Encode the dataclass's fields."""
        return {name: getattr(obj, name) for name in self._names}

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
)


def transcodings() -> list[Transcoding]:
    """Every transcoding the application registers besides the library's defaults."""
    return [DateAsISO(), *(DataclassTranscoding(cls, name) for cls, name in VALUE_OBJECTS)]
