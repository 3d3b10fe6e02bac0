"""The audit log: every event flattened with actor, time, type, aggregate and a summary."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.codec import plain, plain_row
from projections.stored import stored_details

BOOKKEEPING = {"originator_id", "originator_version", "timestamp", "originator_topic"}


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """An event class's field names, in declaration order (cached: one lookup per event)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


SUMMARY_KEYS = ("period", "code", "title", "amount", "opex_total", "metric", "batch_key",
                "policy_version", "reason", "rationale",
                # money over time (issue 14): spend and descopes
                "spent_on", "reference", "new_cost", "gate",
                # re-decisions (issue 14): carry-overs and metric target versions
                "carried_from", "to_period", "to_code", "previous_baseline", "baseline",
                "previous_target", "target", "target_date",
                # outbound webhooks (issue 14): a subscription's target and kinds
                "url", "kinds",
                # the loop (issue 14): review items, benefit owners, review minutes
                "item", "signal", "answers", "owner", "minutes")
_SUMMARY_KEYS: dict[type, tuple[str, ...]] = {}
_DETAILS: dict[type, tuple[str, ...]] = {}


def summary(event: Any, fields: dict[str, Any] | None = None) -> str:
    """One readable line: what happened, with the amounts and reasons that matter."""
    cls = type(event)
    name = cls.__qualname__
    if fields is None:
        fields = {f: getattr(event, f) for f in _names(cls)}
    keys = _SUMMARY_KEYS.get(cls)
    if keys is None:  # the summary keys this class has, in summary order
        keys = _SUMMARY_KEYS[cls] = tuple(k for k in SUMMARY_KEYS if k in _names(cls))
    parts = []
    for key in keys:
        value = fields.get(key)
        if value is not None and value != "":
            parts.append(f"{key}={value}")
    proposal = fields.get("proposal")
    if proposal is not None:
        parts.append(f"cost={proposal.cost}")
    decision = fields.get("decision")
    if decision is not None:
        parts.append(f"outcome={decision.outcome} rank={decision.rank}"
                     f"{' departure' if decision.departure else ''}"
                     f"{f' plan={decision.plan}' if getattr(decision, 'plan', None) else ''}")
    readings = fields.get("readings")
    if readings is not None:
        parts.append(f"readings={len(readings)}")
    if name in ("SignalNote.Acknowledged", "SignalNote.Resolved"):  # which signal, and why
        parts[:0] = [f"key={fields.get('key')}"]
        if fields.get("note"):
            parts.append(f"note={fields['note']}")
    if name in ("FundingPlan.Saved", "PlanOfRecord.Adopted"):  # issue 16: which plan
        parts[:0] = [f"name={fields.get('name')}"]
        if fields.get("budget") is not None:
            parts.append(f"budget={fields['budget']}")
        funds = fields.get("items", fields.get("codes"))
        if funds is not None:
            parts.append(f"funds={len(funds)}")
        if fields.get("replaces"):
            parts.append(f"replaces={fields['replaces']}")
    if name in ("Job.Defined", "Job.Rated"):  # issue 15: a job's ratings and their source
        parts.append(f"importance={fields.get('importance')} "
                     f"satisfaction={fields.get('satisfaction')}")
        if fields.get("source"):
            parts.append(f"source={fields['source']}")
    if name == "ServedJobs.Linked":  # issue 15: the jobs an initiative serves, and before
        parts.append(f"jobs={', '.join(fields.get('jobs') or []) or 'none'} "
                     f"(was {', '.join(fields.get('previous') or []) or 'none'})")
    if name == "FundingRound.Opened":  # issue 16, part 4: the round's schedule
        parts.append(" ".join(f"{k}={_iso(fields.get(k))}" for k in (
            "intake_opens", "intake_closes", "review_deadline", "decision_deadline")))
    if name == "FundingRound.FeasibilityMarked":  # issue 16, part 4: the verdict
        parts.append(f"verdict={fields.get('verdict')}")
        if fields.get("note"):
            parts.append(f"note={fields['note']}")
    if name == "FundingRound.Rescheduled":  # decision 200: a person's phase change
        parts[1:1] = [f"change={fields.get('change')}"]
        parts.extend(f"{k}={_iso(fields.get('previous_' + k))}->{_iso(fields.get(k))}"
                     for k in ("intake_opens", "intake_closes", "review_deadline",
                               "decision_deadline")
                     if fields.get("previous_" + k) != fields.get(k))
    rails = getattr(fields.get("terms"), "guardrails", None)
    if name == "ScoringPolicy.Adopted" and rails:  # issue 16: the guardrails adopted
        parts.append("guardrails=" + "; ".join(f"{g.name} {g.describe()}" for g in rails))
    mapped = fields.get("operational_metrics")
    if name == "CustomerSuccessMetric.OperationalMetricsMapped" and mapped is not None:
        departments = sorted({m["department"] for m in mapped})  # issue 15: who owns them
        parts.append(f"operational_metrics={len(mapped)} departments={', '.join(departments)}")
    return f"{name}: {' '.join(parts)}".strip()


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _details(event: Any) -> dict[str, Any]:
    cls = type(event)
    names = _DETAILS.get(cls)
    if names is None:
        names = _DETAILS[cls] = tuple(f for f in _names(cls) if f not in BOOKKEEPING)
    return {f: getattr(event, f) for f in names}


def audit_row(position: int, event: Any) -> dict[str, Any]:
    """The audit-log row of one event."""
    details = _details(event)
    return plain_row({
        "position": position,
        "at": event.timestamp,
        "topic": getattr(type(event), "TOPIC", type(event).__qualname__),
        "aggregate_id": event.originator_id,
        "aggregate_version": event.originator_version,
        "actor": details.get("actor"),
        "summary": summary(event, details),
        "details": details,
    })


def _json_default(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal or kind is UUID:
        return str(value)
    if kind is datetime or kind is date:
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f: getattr(value, f) for f in _names(kind)}
        for name, field in fields.items():  # scalars here: no call back per value
            cls = type(field)
            if cls is Decimal or cls is UUID:
                fields[name] = str(field)
            elif cls is datetime or cls is date:
                fields[name] = field.isoformat()
        return fields
    converted = plain(value)
    if converted is value:
        raise TypeError(f"not JSON: {kind.__name__}")
    return converted


def _make_encode() -> Callable[[Any], str]:
    """A JSON encoder built once (json.JSONEncoder.encode rebuilds its C encoder per call)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                   default=_json_default)
        return encoder.encode
    iterencode = make(None, _json_default, json.encoder.encode_basestring, None, ":", ",",
                      False, False, True)
    def encode(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return encode


_encode = _make_encode()


def details_json(details: dict[str, Any]) -> str:
    """JSON text of `plain(details)` without building it (event fields: string keys)."""
    try:
        return _encode(details)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(plain(details), ensure_ascii=False, separators=(",", ":"))


def audit_record(position: int, event: Any, stored: bytes | None = None) -> tuple[Any, ...]:
    """The audit-log row of one event as column values for COPY, details as JSON text: the
    event's stored JSON as is when given and usable (projections/stored.py, decision 230),
    else its decoded fields encoded again."""
    details = _details(event)
    return (position, event.timestamp,  # the database stores times and ids, not their texts
            getattr(type(event), "TOPIC", type(event).__qualname__), event.originator_id,
            event.originator_version, plain(details.get("actor")), summary(event, details),
            stored_details(event, stored) or details_json(details))
