"""The Merkle log over PostgreSQL (issue 18, part 2): `cxgov audit tree-head` signs a C2SP
checkpoint with the log's origin; `cxgov audit prove` gives inclusion and consistency proofs
that `auditverify.proofs` checks with the public key alone; a history rewritten after a
checkpoint the auditor kept cannot be proven consistent with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from auditverify.note import NoteError, parse_note
from auditverify.proofs import check
from governance.app import Governance
from governance.stores.database import connect
from tests.builders import CX_CHIEF, World

pytestmark = pytest.mark.pg


def test_tree_heads_and_proofs_from_the_command_line(
    pg_env: dict[str, str], pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from governance.entrypoints.audit import audit_app
    from governance.settings import get_settings

    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CXGOV_AUDIT_SIGNING_KEY", seed)
    runner = CliRunner()

    def cli(*args: str) -> str:
        get_settings.cache_clear()
        try:
            result = runner.invoke(audit_app, list(args))
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        return result.stdout

    gov = Governance(env=pg_env)
    try:
        world = World(gov)
        initiative = world.submit("I01", cost_m="4")
        kept = cli("tree-head")
        head, _ = parse_note(kept)
        assert head.origin.startswith("cxgov/") and head.origin.endswith(pg_url.rsplit("/")[-1])
        decided = gov.decide(CX_CHIEF, initiative_id=initiative, outcome="reject",
                             rationale="not now").position
    finally:
        gov.close()
    keys = {"cxgov": key.public_key()}
    included = json.loads(cli("prove", "--position", str(decided)))
    assert check(included, keys, origin=head.origin)[0]
    with pytest.raises(NoteError):
        check(included, keys, origin="cxgov/1/another")
    (tmp_path / "kept.note").write_text(kept)
    extends = json.loads(cli("prove", "--since", str(tmp_path / "kept.note")))
    assert check(extends, keys, kept=kept) == (
        True, f"{head.origin} at size {parse_note(extends['checkpoint'])[0].size} extends the "
              f"one you kept ({head.size})")

    with connect(pg_url, autocommit=False) as conn:  # a DBA rewrites an early entry
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE cxgov_chain SET entry_hash = %s WHERE position = "
                     "(SELECT min(position) FROM cxgov_chain)", (bytes(32),))
        conn.commit()
    forked = json.loads(cli("prove", "--since", str(tmp_path / "kept.note")))
    ok, why = check(forked, keys, kept=kept)
    assert not ok and why.startswith("FORKED")


def test_a_kept_connection_the_server_closed_is_replaced_and_the_read_retried(
    pg_env: dict[str, str], pg_url: str,
) -> None:
    """The served log keeps its snapshot connections between requests (decision 220); one the
    server closed meanwhile (a restart, an idle timeout) is dropped and the read done again on
    a new connection, never a failed request."""
    from governance.stores import merkle_log

    gov = Governance(env=pg_env)
    try:
        World(gov).submit("I01", cost_m="4")
    finally:
        gov.close()
    merkle_log.forget(pg_url)
    try:
        first = merkle_log.current(pg_url)
        with connect(pg_url) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid()").fetchone()
        assert killed is not None and killed[0] >= 1  # the kept connection among them
        again = merkle_log.current(pg_url)
        assert (again.size, again.root(again.size)) == (first.size, first.root(first.size))
    finally:
        merkle_log.forget(pg_url)
