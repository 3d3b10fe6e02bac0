"""Schemathesis on the Merkle log routes (/v1/audit/checkpoint, proofs, cosignatures, key
rotations) on PostgreSQL, where the hash chain and the signing key exist: every default check,
so a hostile size, position or note is a 4xx with a stable code, never a 5xx. The in-memory run
(tests/api/test_schemathesis.py) leaves these routes out: there they answer 503 by design."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from api.app import create_app
from governance.bootstrap import bootstrap
from governance.principal import AUDITOR
from governance.settings import Settings
from governance.stores import merkle_log
from governance.stores.integrity import issue_checkpoint
from tests.api.conftest import SECRET, auth
from tests.api.test_schemathesis import MERKLE_LOG_ROUTES, POSITIVE_STATUSES
from tests.builders import CX_CHIEF, World

pytestmark = pytest.mark.pg


def test_the_merkle_log_routes_answer_hostile_input_without_a_server_error(
        pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    runtime = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                                 jwt_secret=SecretStr(SECRET), db_pool_size=1,
                                 db_max_overflow=4, data_dir=tmp_path / "data",
                                 audit_signing_key=SecretStr(seed)))
    merkle_log.forget(runtime.app)
    try:
        world = World(runtime.app)
        first = world.submit("I01", cost_m="4")
        runtime.app.decide(CX_CHIEF, initiative_id=first, outcome="reject", rationale="not now")
        issue_checkpoint(runtime.app, key)
        config = SchemathesisConfig.from_dict({
            "seed": 20270102,
            "headers": auth("st.auditor", AUDITOR),
            "generation": {"max-examples": 25},
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        })
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime),
                                                config=config)
        schema = schema.include(path_regex=MERKLE_LOG_ROUTES)
        failures: list[str] = []
        labels: set[str] = set()
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                labels.add(event.label.split(" ")[1] if " " in event.label else event.label)
                if event.status in {Status.FAILURE, Status.ERROR}:
                    for nodes in event.recorder.checks.values():
                        failures.extend(f"{event.label} {n.name}: {n.failure_info}"
                                        for n in nodes if n.status == Status.FAILURE)
                    if event.status == Status.ERROR:
                        failures.append(f"{event.label}: error")
            if isinstance(event, events.NonFatalError | events.FatalError):
                failures.append(f"engine error: {event}")
    finally:
        runtime.close()
    assert failures == []
    # every Merkle log route was exercised, not filtered away
    assert {"/v1/audit/checkpoint", "/v1/audit/proofs/inclusion",
            "/v1/audit/proofs/consistency", "/v1/audit/cosignatures",
            "/v1/audit/key-rotations"} <= labels, labels
