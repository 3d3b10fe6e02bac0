"""The typed read rows describe the stored documents exactly; change scopes parse once."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from api.app import create_app
from projections import render
from projections.codec import canonical
from projections.documents import Changes, Scope, ScopeKind, periods_of
from projections.rows import DOCUMENT_ROWS, RankingRow
from tests.api.conftest import auth, harborview_runtime

CX = auth("cx.chief", "cx_exec")
OWNER = auth("rb.lead", "pnl_owner", pnls=("RB",))


def test_every_rendered_document_is_its_typed_row_and_serialises_to_the_same_json() -> None:
    runtime = harborview_runtime()
    try:
        with TestClient(create_app(runtime)) as client:
            rows = client.get("/v1/periods/FY2027/ranking", headers=CX).json()["items"]
            above = [r for r in rows if r["recommended"]]
            below = [r for r in rows if not r["recommended"]]
            assert client.post(f"/v1/initiatives/{above[0]['id']}/decisions", headers=CX,
                               json={"outcome": "approve"}).status_code == 201
            assert client.post(f"/v1/initiatives/{above[1]['id']}/decisions", headers=CX, json={
                "outcome": "reject", "rationale": "held"}).status_code == 201
            assert client.post(f"/v1/initiatives/{below[0]['id']}/decisions", headers=CX, json={
                "outcome": "defer", "rationale": "next year"}).status_code == 201
        models = runtime.read_models()
        docs = render.documents(models.state_at(models.position()))
    finally:
        runtime.close()
    assert {doc.model for doc in docs.values()} == set(DOCUMENT_ROWS)
    for doc in docs.values():
        row = DOCUMENT_ROWS[doc.model].model_validate(doc.payload)
        assert canonical(row.model_dump(mode="json")) == canonical(doc.payload), doc.key


def test_stored_documents_rows_declare_their_fields_in_key_order() -> None:
    """The API serves a stored document in its canonical (sorted) key order."""
    for row in DOCUMENT_ROWS.values():
        assert list(row.model_fields) == sorted(row.model_fields), row.__name__


def test_a_ranking_row_carries_redacted_only_when_it_is() -> None:
    line = {"expected_value": "1", "gap_closed": "0.5", "metric": "M1", "points": "1",
            "reach": "1", "warning": None, "weight": 10}
    row = RankingRow.model_validate({
        "above_cut_line": True, "cip": "1", "cip_display": "1.00", "code": "I01",
        "confidence": "1", "cost": "1000000", "cut_line_rank": 1, "dependencies": [],
        "functional_areas": [], "funded": False, "id": "x", "kind": "pnl", "lines": [line],
        "mandatory": False, "period": "FY2027", "pnl": "RB", "policy_version": 1, "rank": 1,
        "reason": None, "reason_code": None, "recommended": True, "scenario": None,
        "score": "1", "score_display": "1.00", "status": "submitted", "title": "t",
        "touchpoints": []})
    assert "redacted" not in row.model_dump(mode="json")
    assert row.model_copy(update={"redacted": True}).model_dump(mode="json")["redacted"]
    assert Decimal(row.cost) == Decimal(row["cost"])


def test_change_scopes_parse_in_one_place_and_keep_their_text() -> None:
    for text in ("period:FY2027", "metric:M1", "initiative:abc", "directory", "metrics",
                 "policy"):
        assert str(Scope.parse(text)) == text
    assert Scope.parse("period:FY2027") == Scope.period("FY2027")
    changes = Changes.of({"period:FY2027", "initiative:abc", "metrics"})
    assert changes.periods == {"FY2027"} and changes.initiatives == {"abc"}
    assert changes.named(ScopeKind.METRICS) and not changes.named(ScopeKind.DIRECTORY)
    assert periods_of(["period:A", Scope.period("B"), "metric:M1"]) == {"A", "B"}
