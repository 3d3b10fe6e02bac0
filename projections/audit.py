"""The audit log: every event flattened with actor, time, type, aggregate and a summary."""

from __future__ import annotations

import dataclasses
from typing import Any

from projections.codec import plain_row

BOOKKEEPING = {"originator_id", "originator_version", "timestamp", "originator_topic"}


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """An event class's field names, in declaration order (cached: one lookup per event)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def summary(event: Any) -> str:
    """One readable line: what happened, with the amounts and reasons that matter."""
    name = type(event).__qualname__
    fields = {f: getattr(event, f) for f in _names(type(event))}
    parts = []
    for key in ("period", "code", "title", "amount", "opex_total", "metric", "batch_key",
                "policy_version", "reason", "rationale"):
        if key in fields and fields[key] not in (None, ""):
            parts.append(f"{key}={fields[key]}")
    proposal = fields.get("proposal")
    if proposal is not None:
        parts.append(f"cost={proposal.cost}")
    decision = fields.get("decision")
    if decision is not None:
        parts.append(f"outcome={decision.outcome} rank={decision.rank}"
                     f"{' departure' if decision.departure else ''}")
    readings = fields.get("readings")
    if readings is not None:
        parts.append(f"readings={len(readings)}")
    return f"{name}: {' '.join(parts)}".strip()


def audit_row(position: int, event: Any) -> dict[str, Any]:
    """The audit-log row of one event."""
    details = {f: getattr(event, f) for f in _names(type(event)) if f not in BOOKKEEPING}
    return plain_row({
        "position": position,
        "at": event.timestamp,
        "topic": getattr(type(event), "TOPIC", type(event).__qualname__),
        "aggregate_id": event.originator_id,
        "aggregate_version": event.originator_version,
        "actor": details.get("actor"),
        "summary": summary(event),
        "details": details,
    })
