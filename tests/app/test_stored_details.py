"""Audit details taken from the stored event JSON (projections/stored.py, decision 230): served,
they equal the decoded event's plain fields, key order included; an upcast or NUL-escaped
event is not taken from its stored JSON; plain details pass through unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.values import Reading
from governance.app import Governance
from projections.audit import _details
from projections.codec import plain
from projections.log import ApplicationLog
from projections.stored import served_details, stored_details
from tests.builders import CX_CHIEF, INGESTER, World


def _jsonb(value: Any) -> Any:
    """What a jsonb column gives back: keys shorter first, then bytewise, at every level."""
    if isinstance(value, dict):
        return {k: _jsonb(value[k]) for k in sorted(value, key=lambda k: (len(k.encode()),
                                                                            k.encode()))}
    if isinstance(value, list):
        return [_jsonb(v) for v in value]
    return value


def _events(gov: Governance) -> list[tuple[int, Any, bytes | None]]:
    return list(ApplicationLog(gov).read_stored(after=0))


def test_served_details_from_the_stored_json_equal_the_plain_fields(
        gov: Governance, world: World) -> None:
    first = world.submit("I01")
    world.submit("I02", cost_m="7", impacts=(("M1", "60", "0.5"), ("M2", "80", "0.4")))
    gov.decide(CX_CHIEF, initiative_id=first, outcome="approve", rationale="go")
    gov.record_observations(INGESTER, metric="M1", batch_key="b1", source="s",
                            readings=[Reading(Decimal("90.5"), datetime(2026, 1, 31, tzinfo=UTC),
                                              400, channel="app", mean=Decimal("1.25"))])
    events = _events(gov)
    assert len({type(e).__qualname__ for _, e, _ in events}) > 8
    for _, event, state in events:
        text = stored_details(event, state)
        assert text is not None, type(event).__qualname__
        expected = _jsonb(json.loads(json.dumps(plain(_details(event)))))
        served = served_details(_jsonb(json.loads(text)))
        assert json.dumps(served) == json.dumps(expected), type(event).__qualname__
        assert served_details(expected) == expected  # plain rows (live projector) unchanged


def test_an_upcast_or_nul_escaped_event_is_not_taken_from_its_stored_json(
        gov: Governance, world: World) -> None:
    transcoder: Any = gov.mapper.transcoder
    encode = transcoder.encode
    transcoder.encode = lambda obj: (encode(obj).replace(b"QQ", b"\\u0000")
                                     .replace(b',"class_version":2}', b"}"))
    try:
        world.submit("I01", title="stored as class version 1")
        gov.record_observations(INGESTER, metric="M1", batch_key="b1", source="aQQb",
                                readings=[Reading(Decimal(90), datetime(2026, 1, 31, tzinfo=UTC),
                                                  400)])
    finally:
        transcoder.encode = encode
    found = {type(e).__qualname__: (e, s) for _, e, s in _events(gov)}
    submitted, state = found["Initiative.Submitted"]
    assert state is not None and b"class_version" not in state
    assert submitted.carried_from is None  # upcast when decoded
    assert stored_details(submitted, state) is None
    recorded, state = found["ObservationBatch.Recorded"]
    assert recorded.source == "a\ufffdb"
    assert stored_details(recorded, state) is None
    assert stored_details(recorded, None) is None
