"""A rebuild writes each event's stored JSON as its audit details (decision 230); the audit log
serves exactly what it served before: the rows the live projector wrote, in the same key order.

The history is the living demo (Harborview: every kind of event the demo writes), plus an
event stored with a NUL escape and a submission stored as class version 1 (both must take the
decoded path: the first decodes with U+FFFD, the second is upcast when decoded).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from domain.values import Reading
from governance.app import Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.entrypoints.demo_history import apply_history
from governance.stores.readside import in_process_postgres, rebuild
from projections.loop_source import ReadSideSignals
from tests.builders import INGESTER, RB_OWNER, proposal

pytestmark = pytest.mark.pg

MARK = "QQNULQQ"


@pytest.fixture
def history(pg_env: dict[str, str]) -> Iterator[Governance]:
    gov = Governance(env=pg_env)
    gov.signal_source = ReadSideSignals(in_process_postgres(gov, pg_env).read_models)
    company = bundled_company()
    import_company(gov, company)
    apply_history(gov, company)
    transcoder: Any = gov.mapper.transcoder
    encode = transcoder.encode

    def older_release(obj: Any) -> bytes:  # a NUL, and a submission of class version 1
        return (encode(obj).replace(MARK.encode(), b"\\u0000")
                .replace(b',"class_version":2}', b"}"))

    transcoder.encode = older_release
    try:
        gov.submit_initiative(RB_OWNER, period="FY2027", kind="pnl", pnl="RB", code="ZZ01",
                              proposal=proposal(title="stored as class version 1", scenario=None))
        gov.record_observations(INGESTER, metric="M1", batch_key="nul", source=f"s{MARK}t",
                                readings=[Reading(Decimal(90), datetime(2026, 1, 31, tzinfo=UTC),
                                                  400)])
    finally:
        transcoder.encode = encode
    yield gov
    gov.close()


def _served(gov: Governance, env: dict[str, str]) -> list[str]:
    """Every audit row as the API reads it, as JSON text (key order included)."""
    rows = in_process_postgres(gov, env).read_models().audit_events(limit=100_000)
    return [json.dumps(r.model_dump(mode="json")) for r in rows]


def _stored_form(url: str) -> int:
    """Rows whose details are the stored event JSON (they keep the event's timestamp)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM rm_audit_log WHERE details ? 'timestamp'"
                           ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_rebuild_serves_the_audit_rows_the_live_projector_wrote(
        history: Governance, pg_env: dict[str, str], pg_url: str) -> None:
    live = _served(history, pg_env)  # written by the in-process projector: plain fields
    assert len(live) == history.position() > 400
    assert _stored_form(pg_url) == 0
    topics = {json.loads(r)["topic"] for r in live}
    assert len(topics) > 20  # the demo's history has many kinds of event

    rebuild(history, pg_env)

    assert _stored_form(pg_url) == len(live) - 2  # all but the NUL and the upcast one
    assert _served(history, pg_env) == live
    nul = next(json.loads(r) for r in live if '"batch_key": "nul"' in r)
    assert nul["details"]["source"] == "s\ufffdt"
    upcast = next(row for row in map(json.loads, live) if row["details"].get("code") == "ZZ01"
                  and row["topic"] == "cxgov.Initiative.Submitted")
    assert upcast["details"]["carried_from"] is None
