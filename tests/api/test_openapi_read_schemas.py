"""Every read of the API has a named response schema whose properties are typed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

#: Models of the read rows the issue names: each field of them is in the OpenAPI document.
NAMED_ROWS = ("RankingRow", "ScorecardCard", "Ledger", "DecisionRecord", "ExplainedDecision",
              "Recommendation", "InitiativeCard", "AuditEvent")


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from api.app import create_app
    from tests.api.conftest import harborview_runtime

    runtime = harborview_runtime()
    try:
        with TestClient(create_app(runtime)) as client:
            found: dict[str, Any] = client.get("/openapi.json").json()
    finally:
        runtime.close()
    return found


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = schema["$ref"]
    name = ref.rsplit("/", 1)[1]
    return name, doc["components"]["schemas"][name]


def _untyped(doc: dict[str, Any], schema: dict[str, Any], where: str,
             seen: set[str]) -> list[str]:
    """Places under `schema` that are objects without declared properties."""
    if "$ref" in schema:
        name, target = _resolve(doc, schema)
        if name in seen:
            return []
        return _untyped(doc, target, name, seen | {name})
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [p for s in schema[key] for p in _untyped(doc, s, where, seen)]
    if schema.get("type") == "array":
        return _untyped(doc, schema.get("items", {}), f"{where}[]", seen)
    if schema.get("type") == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type") in {"string", "integer"}:
            return []  # a map of typed values (ledger breakdowns, weights)
        return [where]
    found = []
    for name, prop in schema.get("properties", {}).items():
        if where.endswith("AuditEvent") and name == "details":
            continue  # the event's own fields: they vary by topic
        if not prop:
            found.append(f"{where}.{name}")
        found += _untyped(doc, prop, f"{where}.{name}", seen)
    return found


def test_every_read_has_a_named_response_schema_with_typed_properties(
        openapi: dict[str, Any]) -> None:
    reads = [(path, op) for path, ops in openapi["paths"].items() for method, op in ops.items()
             if path.startswith("/v1") and (method == "get" or path.endswith("/preview"))]
    assert len(reads) >= 15
    for path, op in reads:
        content = op["responses"]["200"]["content"]
        if "application/atom+xml" in content:
            continue  # an Atom feed: XML (tests/api/test_you_said_we_did.py parses it)
        if path == "/v1/audit/checkpoint":
            assert content["text/plain"]["schema"]["type"] == "string", path
            continue  # a C2SP signed note: text by its specification
        schema = (content.get("application/json") or content["application/feed+json"])["schema"]
        assert "$ref" in schema, f"{path}: the response schema has no name"
        name, target = _resolve(openapi, schema)
        assert target.get("properties"), f"{path}: {name} has no properties"
        assert _untyped(openapi, schema, name, set()) == [], path


def test_the_named_rows_describe_every_field(openapi: dict[str, Any]) -> None:
    from projections import rows

    schemas = openapi["components"]["schemas"]
    for name in NAMED_ROWS:
        model = getattr(rows, name)
        assert set(schemas[name]["properties"]) == set(model.model_fields), name
        assert all(p for p in schemas[name]["properties"].values()), name


def test_money_is_a_decimal_string_in_the_schema(openapi: dict[str, Any]) -> None:
    cost = openapi["components"]["schemas"]["RankingRow"]["properties"]["cost"]
    assert cost["type"] == "string" and cost["format"] == "decimal"
