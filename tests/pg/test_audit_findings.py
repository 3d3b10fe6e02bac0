"""Clear findings on PostgreSQL (issue 18, part 7): a decision event whose JSON a superuser
corrupted or whose key they renamed is a finding with its position and kind (exit 1), never a
traceback or "unusable input"; `cxgov audit checkpoint` never starts a new key silently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.cli import main
from auditverify.keys import key_id, public_key_pem
from governance.app import Governance
from governance.stores.database import connect
from governance.stores.integrity import issue_checkpoint, latest_checkpoint
from tests.builders import CX_CHIEF, World

pytestmark = pytest.mark.pg


@pytest.fixture
def gov(pg_env: dict[str, str]) -> Iterator[Governance]:
    """The service on the emptied test database."""
    service = Governance(env=pg_env)
    try:
        yield service
    finally:
        service.close()


def decided(gov: Governance) -> int:
    """A small history with one rejection; its position."""
    world = World(gov)
    initiative = world.submit("I01", cost_m="4")
    return gov.decide(CX_CHIEF, initiative_id=initiative, outcome="reject",
                      rationale="not now").position


def as_superuser(url: str, position: int, state: bytes) -> None:
    """Overwrite an event's stored bytes, triggers bypassed as a superuser can."""
    with connect(url, autocommit=False) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE cxgov_events SET state = %s WHERE notification_id = %s",
                     (state, position))
        conn.commit()


def stored_state(url: str, position: int) -> bytes:
    """An event's stored bytes."""
    with connect(url) as conn:
        row = conn.execute("SELECT state FROM cxgov_events WHERE notification_id = %s",
                           (position,)).fetchone()
    assert row is not None
    return bytes(row[0])


def verify(url: str, key: Ed25519PrivateKey, tmp_path: Path,
           capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    """`python -m auditverify --database URL --json`: status, report, stderr."""
    pem = tmp_path / "key.pem"
    pem.write_text(public_key_pem(key.public_key()))
    capsys.readouterr()
    status = main(["--database", url, "--public-key", str(pem), "--json"])
    out = capsys.readouterr()
    return status, (json.loads(out.out) if out.out else {}), out.err


@pytest.mark.parametrize("damage", ["corrupted_json", "renamed_key"])
def test_a_damaged_decision_event_is_a_finding_at_its_position(
    damage: str, gov: Governance, pg_url: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    position = decided(gov)
    key = Ed25519PrivateKey.generate()
    issue_checkpoint(gov, key)
    state = stored_state(pg_url, position)
    if damage == "corrupted_json":
        broken = state[:-9]
    else:
        data = json.loads(state)
        data["verdict"] = data.pop("decision")
        broken = json.dumps(data).encode()
    as_superuser(pg_url, position, broken)
    status, report, err = verify(pg_url, key, tmp_path, capsys)
    assert status == 1, err
    assert "unusable" not in err and "Traceback" not in err
    found = {(f["tamper"], f["position"]) for f in report["findings"]
             if f["severity"] == "error"}
    assert ("altered", position) in found
    assert report["first_bad_position"] == position


def test_audit_checkpoint_refuses_to_start_a_new_key_for_a_log_with_checkpoints(
    gov: Governance, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from governance.entrypoints.audit import audit_app
    from governance.settings import get_settings

    decided(gov)
    first, other = tmp_path / "first", tmp_path / "other"
    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.delenv("CXGOV_AUDIT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("CXGOV_AUDIT_SIGNING_KEY_FILE", raising=False)
    runner = CliRunner()

    def checkpoint(data_dir: Path, *args: str) -> tuple[int, str]:
        monkeypatch.setenv("CXGOV_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        try:
            result = runner.invoke(audit_app, ["checkpoint", *args])
        finally:
            get_settings.cache_clear()
        return result.exit_code, result.output

    created = checkpoint(first)  # a log without checkpoints: its first key is made
    assert created[0] == 0, created[1]
    signed_by = latest_checkpoint(pg_url)
    assert signed_by is not None and "created a new signing key" in created[1]

    refused = checkpoint(other)  # another data folder: no key there, and none is made
    assert refused[0] == 2 and "refused to sign" in refused[1], refused[1]
    assert not (other / "audit" / "signing.key").exists()
    assert latest_checkpoint(pg_url) == signed_by

    (other / "audit").mkdir(parents=True)  # a different key there: refused too
    (other / "audit" / "signing.key").write_bytes(_new_key_pem())
    assert checkpoint(other)[0] == 2
    assert latest_checkpoint(pg_url) == signed_by

    again = checkpoint(first)  # the right key signs
    assert again[0] == 0, again[1]
    rotated = checkpoint(other, "--new-key")  # a deliberate rotation
    assert rotated[0] == 0, rotated[1]
    newest = latest_checkpoint(pg_url)
    assert newest is not None and newest.key_id != signed_by.key_id
    assert newest.key_id == key_id(_load(other).public_key())


def _new_key_pem() -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )
    return Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _load(data_dir: Path) -> Ed25519PrivateKey:
    from governance.stores.integrity import parse_signing_key
    return parse_signing_key((data_dir / "audit" / "signing.key").read_text())
