"""Canonical JSON for read-model rows and projection checkpoints (exact decimals, no floats)."""

from __future__ import annotations

import dataclasses
import json
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

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (PortfolioState, PeriodState, MetricState, MonthPoint, InitiativeState, Proposal,
                ImpactClaim, PolicyTerms, DecisionRecord)
}


def plain(value: Any) -> Any:
    """Rows as JSON-ready values: decimals and times as strings, tuples as lists."""
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
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def plain_row(value: Any) -> dict[str, Any]:
    """`plain` of a mapping or dataclass, typed as the row it is."""
    row = plain(value)
    if not isinstance(row, dict):
        raise TypeError(f"not a row: {type(value).__name__}")
    return row


def canonical(value: Any) -> str:
    """One text per value: sorted keys, no spaces; equal rows give equal bytes."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
            raise TypeError(f"cannot checkpoint {name}")
        return {"$dc": name, "f": {f.name: _tag(getattr(value, f.name))
                                   for f in dataclasses.fields(value)}}
    raise TypeError(f"cannot checkpoint {type(value).__name__}")


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$d" in value:
        return Decimal(value["$d"])
    if "$t" in value:
        return datetime.fromisoformat(value["$t"])
    if "$day" in value:
        return date.fromisoformat(value["$day"])
    if "$u" in value:
        return UUID(value["$u"])
    if "$tuple" in value:
        return tuple(_untag(v) for v in value["$tuple"])
    if "$map" in value:
        return {_untag(k): _untag(v) for k, v in value["$map"]}
    if "$dc" in value:
        return _TYPES[value["$dc"]](**{k: _untag(v) for k, v in value["f"].items()})
    raise ValueError(f"unknown checkpoint value {sorted(value)}")


def dump_state(state: PortfolioState) -> str:
    """Serialise the whole fold for a checkpoint."""
    return json.dumps(_tag(state), separators=(",", ":"), ensure_ascii=False)


def load_state(text: str) -> PortfolioState:
    """Rebuild the fold from a checkpoint."""
    state = _untag(json.loads(text))
    if not isinstance(state, PortfolioState):
        raise ValueError("not a portfolio checkpoint")
    return state
