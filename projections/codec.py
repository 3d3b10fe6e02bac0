"""Canonical JSON for read-model rows and projection fold snapshots (exact decimals, no floats)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.initiative import DecisionRecord, Proposal
from domain.policy import PolicyTerms
from domain.values import ImpactClaim
from projections.state import (
    InitiativeState,
    MetricState,
    MonthPoint,
    PeriodState,
    PortfolioState,
)

#: Code points PostgreSQL cannot store in text or jsonb: NUL, and surrogates (a str holds one
#: only unpaired, and an unpaired surrogate has no UTF-8 form).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` with U+FFFD in place of each code point PostgreSQL cannot store."""
    return UNSTORABLE.sub(REPLACEMENT, text)


_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (PortfolioState, PeriodState, MetricState, MonthPoint, InitiativeState, Proposal,
                ImpactClaim, PolicyTerms, DecisionRecord)
}


def plain(value: Any) -> Any:
    """Rows as JSON-ready values: decimals and times as strings, tuples as lists."""
    convert = _PLAIN.get(type(value))
    if convert is not None:
        return convert(value)
    return _plain_slow(value)


def _plain_slow(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        convert = _PLAIN[type(value)] = _dataclass_converter(type(value))
        return convert(value)
    return value


def _dataclass_converter(cls: type) -> Any:
    names = tuple(f.name for f in dataclasses.fields(cls))

    def convert(value: Any) -> dict[str, Any]:
        return {name: plain(getattr(value, name)) for name in names}

    return convert


def _same(value: Any) -> Any:
    return value


# Exact types `plain` returns as they are: a container's member of one of these is kept
# without a call (a rendered period is a million values at 10,000 initiatives: decision 272).
_ATOMS = frozenset({str, int, bool, float, type(None)})


def _dict(value: dict[Any, Any]) -> dict[str, Any]:
    return {k if type(k) is str else str(k): v if type(v) in _ATOMS else plain(v)
            for k, v in value.items()}


def _sequence(value: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [v if type(v) in _ATOMS else plain(v) for v in value]


def _isoformat(value: date | datetime) -> str:
    return value.isoformat()


# Exact types only (a subclass takes the isinstance path above): the same answers, faster.
_PLAIN: dict[type, Any] = {
    str: _same, int: _same, bool: _same, float: _same, type(None): _same,
    Decimal: str, UUID: str, datetime: _isoformat, date: _isoformat,
    dict: _dict, list: _sequence, tuple: _sequence,
}


def plain_row(value: Any) -> dict[str, Any]:
    """`plain` of a mapping or dataclass, typed as the row it is."""
    row = plain(value)
    if not isinstance(row, dict):
        raise TypeError(f"not a row: {type(value).__name__}")
    return row


def canonical(value: Any) -> str:
    """One text per value: sorted keys, no spaces; equal rows give equal bytes."""
    return canonical_plain(plain(value))


def canonical_plain(row: Any) -> str:
    """`canonical` of a value that is already `plain` (a rendered document's payload), without
    walking it again: the same text, and a TypeError for a value `plain` would have changed
    (a decimal, a set, a time), never another text."""
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _tag(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$day": value.isoformat()}
    if isinstance(value, UUID):
        return {"$u": str(value)}
    if isinstance(value, tuple):
        return {"$tuple": [_tag(v) for v in value]}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, dict):
        return {"$map": [[_tag(k), _tag(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if name not in _TYPES:
            raise TypeError(f"cannot snapshot {name}")
        return {"$dc": name, "f": {f.name: _tag(getattr(value, f.name))
                                   for f in dataclasses.fields(value)}}
    raise TypeError(f"cannot snapshot {type(value).__name__}")


def _untag(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_untag(v) for v in value]
    if kind is not dict:
        return value
    for tag in value:  # a tagged value has one tag key ("$dc" comes with its "f")
        decode = _UNTAG.get(tag)
        if decode is None:
            break
        return decode(value)
    raise ValueError(f"unknown fold snapshot value {sorted(value)}")


def _untag_dataclass(value: dict[str, Any]) -> Any:
    return _TYPES[value["$dc"]](**{k: _untag(v) for k, v in value["f"].items()})


_UNTAG: dict[str, Any] = {
    "$d": lambda v: Decimal(v["$d"]),
    "$t": lambda v: datetime.fromisoformat(v["$t"]),
    "$day": lambda v: date.fromisoformat(v["$day"]),
    "$u": lambda v: UUID(v["$u"]),
    "$tuple": lambda v: tuple(_untag(x) for x in v["$tuple"]),
    "$map": lambda v: {_untag(k): _untag(x) for k, x in v["$map"]},
    "$dc": _untag_dataclass,
    "f": _untag_dataclass,
}


def dump_state(state: PortfolioState) -> str:
    """Serialise the whole fold for a fold snapshot."""
    return json.dumps(_tag(state), separators=(",", ":"), ensure_ascii=False)


def load_state(text: str) -> PortfolioState:
    """Rebuild the fold from a fold snapshot."""
    state = _untag(json.loads(text))
    if not isinstance(state, PortfolioState):
        raise ValueError("not a portfolio fold snapshot")
    return state


# --- partitioned fold snapshots ------------------------------------------------------------------
#
# A fold snapshot is a core part (everything but the initiatives, with the position of each
# period's part) plus one part per period holding that period's initiatives. A fold snapshot
# writes the core and only the periods changed since the previous fold snapshot; the other parts
# are shared with earlier fold snapshots. An as-of query loads the core and the periods it needs.

CORE = ""  # the core part's name; a period part is named by its period code
#: The fold's format. Bump it when the fold gains state that older fold snapshots lack (3:
#: `PortfolioState.segments`, decision 153): a core of another format is not used, the fold
#: replays from the start instead, so an upgraded service never serves a field left empty.
FORMAT = 3


class StaleFoldSnapshot(ValueError):
    """A fold snapshot core written in another format (by an older release)."""


def encode_initiative(initiative: InitiativeState) -> str:
    """One initiative's fold snapshot text (a part is a JSON array of these)."""
    return json.dumps(_tag(initiative), separators=(",", ":"), ensure_ascii=False)


def dump_core(state: PortfolioState, parts: dict[str, int]) -> str:
    """The core part: the state without its initiatives, and where each period's part is."""
    core = dataclasses.replace(state, initiatives={})
    return json.dumps({"format": FORMAT, "parts": parts, "state": _tag(core)},
                      separators=(",", ":"), ensure_ascii=False)


def dump_part(texts: list[str]) -> str:
    """A period part from its initiatives' texts."""
    return f"[{','.join(texts)}]"


def load_core(text: str) -> tuple[PortfolioState, dict[str, int]]:
    """The state without initiatives, and the position of each period's part."""
    found = json.loads(text)
    if not isinstance(found, dict) or "format" not in found:
        raise ValueError("not a fold snapshot core")
    if found["format"] != FORMAT:
        raise StaleFoldSnapshot(f"fold snapshot format {found['format']!r}, not {FORMAT}")
    state = _untag(found["state"])
    if not isinstance(state, PortfolioState):
        raise ValueError("not a portfolio fold snapshot")
    return state, {str(k): int(v) for k, v in found["parts"].items()}


def _untag_hook(value: dict[str, Any]) -> Any:
    """`_untag` of one JSON object whose members are untagged already: the JSON decoder calls
    it bottom-up from C, so lists and scalars cost no Python call (decision 232). An object
    whose first key is not a tag is a dataclass's fields ("f"), left for its "$dc" parent."""
    for tag in value:
        decode = _HOOKED.get(tag)
        return value if decode is None else decode(value)
    return value


_HOOKED: dict[str, Any] = {
    "$d": lambda v: Decimal(v["$d"]),
    "$t": lambda v: datetime.fromisoformat(v["$t"]),
    "$day": lambda v: date.fromisoformat(v["$day"]),
    "$u": lambda v: UUID(v["$u"]),
    "$tuple": lambda v: tuple(v["$tuple"]),
    "$map": lambda v: {k: x for k, x in v["$map"]},
    "$dc": lambda v: _TYPES[v["$dc"]](**v["f"]),
}


def load_part(state: PortfolioState, text: str) -> None:
    """Add a period part's initiatives to a state loaded from a core."""
    for initiative in json.loads(text, object_hook=_untag_hook):
        if not isinstance(initiative, InitiativeState):
            raise ValueError("not an initiative")
        state.initiatives[initiative.id] = initiative
    state.forget_derived()  # derived counts are rebuilt from what is loaded
