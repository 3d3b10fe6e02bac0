"""The Merkle log over HTTP and the witness drill (issue 18, parts 2-4), on PostgreSQL through
the in-process API: proofs served under /v1/audit and checked by auditverify with public keys
alone; hostile parameters refused with stable codes; cosignatures checked against registered
witness keys, stored and served; two witnesses cosign as the log grows, the operator cuts and
re-signs history and then forks it, both witnesses refuse, and the verifier with the witness
keys fails; a key rotation the old key signed is trusted by an auditor holding the old key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from auditverify import cli as verifier_cli
from auditverify.live import HttpLog
from auditverify.note import parse_note
from auditverify.proofs import check, fetch_proof
from auditverify.witness import Refused, Witness, cosign, observe_log, parse_note_lenient
from governance.bootstrap import Runtime, bootstrap
from governance.principal import AUDITOR, FINANCE
from governance.settings import Settings
from governance.stores import merkle_log
from governance.stores.database import connect
from governance.stores.integrity import issue_checkpoint
from tests.api.conftest import SECRET, auth
from tests.builders import CX_CHIEF, World

pytestmark = pytest.mark.pg

KEY = Ed25519PrivateKey.generate()
AUDITOR_AUTH = auth("ann", AUDITOR)


def seed(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()


def pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def runtime(pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The service on the emptied test database, signing and sealing with KEY."""
    rt = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                            jwt_secret=SecretStr(SECRET), db_pool_size=1, db_max_overflow=4,
                            data_dir=tmp_path / "data", audit_signing_key=SecretStr(seed(KEY))))
    merkle_log.forget(rt.app)
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def http_log(client: TestClient, headers: dict[str, str] = AUDITOR_AUTH) -> HttpLog:
    """auditverify's HTTP client, talking to the in-process app."""
    def fetch(method: str, url: str, body: bytes | None,
              sent: dict[str, str]) -> tuple[int, bytes]:
        answer = client.request(method, url, content=body, headers=sent)
        return answer.status_code, answer.content
    return HttpLog("http://testserver", headers=headers, fetch=fetch)


def test_proofs_over_http_are_checked_with_the_public_key_alone(
        runtime: Runtime, client: TestClient) -> None:
    world = World(runtime.app)
    first = world.submit("I01", cost_m="4")
    log = http_log(client)
    kept = log.checkpoint()
    head, _ = parse_note(kept)
    assert head.origin.startswith("cxgov/") and head.size > 0
    decided = runtime.app.decide(CX_CHIEF, initiative_id=first, outcome="reject",
                                 rationale="not now").position
    keys = {"cxgov": KEY.public_key()}
    ok, why = check(log.inclusion(decided), keys, origin=head.origin)
    assert ok, why
    extends = fetch_proof(log, position=None, kept=kept)
    assert check(extends, keys, kept=kept)[0]
    assert parse_note(extends["checkpoint"])[0].size > head.size
    # every earlier size is provably a prefix, and every entry provably included
    for size in range(1, head.size + 1):
        assert check(log.consistency(size), keys,
                     kept=log.checkpoint(size))[0], size
    # against an older size: the first entry is in the tree of one entry
    one = log.inclusion(1, 1)
    assert one["index"] == 0 and check(one, keys)[0]


@pytest.mark.parametrize(("query", "status", "code"), [
    ("/checkpoint?size=-1", 422, "validation.request"),
    ("/checkpoint?size=abc", 422, "validation.request"),
    ("/checkpoint?size=99999999999999999999999", 422, "validation.request"),
    ("/checkpoint?size=1000000", 422, "validation.tree_size"),
    ("/proofs/inclusion", 422, "validation.request"),
    ("/proofs/inclusion?position=0", 422, "validation.request"),
    ("/proofs/inclusion?position=999999", 404, "chain_entry.not_found"),
    ("/proofs/inclusion?position=1&size=0", 422, "validation.tree_size"),
    ("/proofs/inclusion?position=1&size=1000000", 422, "validation.tree_size"),
    ("/proofs/consistency?old=-5", 422, "validation.request"),
    ("/proofs/consistency?old=3&size=2", 422, "validation.tree_size"),
    ("/proofs/consistency?old=1000000", 422, "validation.tree_size"),
    ("/cosignatures?limit=0", 422, "validation.request"),
])
def test_hostile_parameters_are_problems_with_stable_codes(
        runtime: Runtime, client: TestClient, query: str, status: int, code: str) -> None:
    World(runtime.app).submit("I01", cost_m="4")
    answer = client.get("/v1/audit" + query, headers=AUDITOR_AUTH)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


def test_only_audit_readers_read_the_log(runtime: Runtime, client: TestClient) -> None:
    assert client.get("/v1/audit/checkpoint").status_code == 401
    assert client.get("/v1/audit/checkpoint",
                      headers=auth("fiona", FINANCE)).status_code == 403
    assert client.post("/v1/audit/cosignatures", json={"note": "x"},
                       headers=auth("fiona", FINANCE)).status_code == 403


def test_cosignatures_are_checked_against_registered_witnesses_stored_and_served(
        runtime: Runtime, client: TestClient) -> None:
    World(runtime.app).submit("I01", cost_m="4")
    log = http_log(client)
    note = log.checkpoint()
    alice, mallory = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()

    def refused(body: object) -> str:
        answer = client.post("/v1/audit/cosignatures", json=body, headers=AUDITOR_AUTH)
        assert answer.status_code == 422, answer.text
        return str(answer.json()["code"])

    cosigned = cosign(note, "alice", alice, 1_800_000_000)
    assert refused({"note": cosigned}) == "validation.witness_unknown"  # not registered
    merkle_log.register_witness(runtime.app, "alice", alice.public_key())
    assert refused({"note": cosign(note, "alice", mallory, 1)}) == "validation.cosignature"
    assert refused({"note": note}) == "validation.cosignature"  # no cosignature line
    assert refused({"note": "not a note"}) == "validation.cosignature"
    assert refused({"note": "x" * 20_000}) == "validation.request"
    assert refused({"note": cosigned, "extra": 1}) == "validation.request"
    other = note.replace(parse_note(note)[0].origin, "cxgov/1/another", 1)
    assert refused({"note": cosign(other, "alice", alice, 1)}) == "validation.cosignature"
    head = parse_note(note)[0]
    forged = note.replace(str(head.size), str(head.size - 1), 1)  # a size it never signed so
    assert refused({"note": cosign(forged, "alice", alice, 1)}) == "validation.cosignature"
    with pytest.raises(Exception, match="another key"):
        merkle_log.register_witness(runtime.app, "alice", mallory.public_key())

    stored = log.post_cosignature(cosigned)
    assert stored == {"witnesses": ["alice"], "size": head.size}
    assert log.post_cosignature(cosigned) == stored  # repeated: stored once
    served = log.checkpoint(head.size)
    assert served == cosigned  # the log's signature line, then alice's
    assert log.witnessed() == [{"size": head.size, "root": note.split("\n")[2],
                                "witnesses": ["alice"]}]
    keys = {"cxgov": KEY.public_key()}
    proof = fetch_proof(log, position=1, kept=None, witnesses={"alice"})
    assert check(proof, keys, witnesses={"alice": alice.public_key()})[0]
    ok, why = check(proof, keys, witnesses={"alice": alice.public_key(),
                                            "bob": mallory.public_key()})
    assert not ok and why.startswith("UNWITNESSED")


def rewrite(url: str, sql: str, *args: object) -> None:
    """A DBA with the triggers off."""
    with connect(url, autocommit=False) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(sql, args)
        conn.commit()


def verify(pg_url: str, tmp_path: Path, witnesses: dict[str, Ed25519PrivateKey],
           notes: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    """python -m auditverify --database ... --require-witness ... --cosigned ... --json"""
    (tmp_path / "log.pem").write_text(pem(KEY))
    args = ["--database", pg_url, "--public-key", str(tmp_path / "log.pem"), "--json"]
    for name, key in witnesses.items():
        (tmp_path / f"{name}.pem").write_text(pem(key))
        args += ["--require-witness", f"{name}={tmp_path / f'{name}.pem'}"]
    for i, note in enumerate(notes):
        (tmp_path / f"cosigned-{i}.note").write_text(note)
        args += ["--cosigned", str(tmp_path / f"cosigned-{i}.note")]
    capsys.readouterr()
    status = verifier_cli.main(args)
    return status, json.loads(capsys.readouterr().out)


def kinds(report: dict[str, object]) -> set[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {f["kind"] for f in findings if f["severity"] == "error"}


def test_the_witness_drill(runtime: Runtime, client: TestClient, pg_url: str, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {"a": Ed25519PrivateKey.generate(), "b": Ed25519PrivateKey.generate()}
    witnesses = {name: Witness(tmp_path / f"witness-{name}", name, key,
                               {"cxgov": KEY.public_key()}) for name, key in keys.items()}
    for name, key in keys.items():
        merkle_log.register_witness(runtime.app, name, key.public_key())
    log = http_log(client)
    world = World(runtime.app)
    for round_ in range(3):  # the log grows; both witnesses follow it over HTTP and cosign
        world.submit(f"I{round_:02d}", cost_m="4")
        for w in witnesses.values():
            observe_log(w, log)
    last = {name: w.last(parse_note_lenient(log.checkpoint())[0].origin) for name, w in
            witnesses.items()}
    assert all(last.values())
    size = parse_note_lenient(str(last["a"]))[0].size
    assert log.witnessed()[0] == {"size": size, "root": log.checkpoint().split("\n")[2],
                                  "witnesses": ["a", "b"]}
    status, report = verify(pg_url, tmp_path, keys, [str(n) for n in last.values()], capsys)
    assert status == 0 and report["ok"], report["findings"]  # witnessed, consistent
    assert verifier_cli.main(["--database", pg_url, "--public-key", str(tmp_path / "log.pem"),
                              "--url", "http://127.0.0.1:9", "--require-witness",
                              f"a={tmp_path / 'a.pem'}"]) == 2  # nothing answers there

    # the operator cuts entries the witnesses saw (events, chain, seals), writes on, and
    # re-signs a history shorter than the witnessed one
    with connect(pg_url) as conn:
        row = conn.execute("SELECT position FROM cxgov_chain ORDER BY position "
                           "OFFSET %s LIMIT 1", (size - 3,)).fetchone()
    assert row is not None
    for table, column in (("cxgov_seals", "position"), ("cxgov_chain", "position"),
                          ("cxgov_events", "notification_id")):
        rewrite(pg_url, f"DELETE FROM {table} WHERE {column} >= %s", row[0])
    cut = parse_note_lenient(log.checkpoint())[0]
    assert cut.size < size  # signed with the real key, a shorter history
    for w in witnesses.values():
        with pytest.raises(Refused, match="shrank"):
            observe_log(w, log)
        assert w.last(cut.origin) in last.values()  # its state did not move
    status, report = verify(pg_url, tmp_path, keys, [str(n) for n in last.values()], capsys)
    assert status == 1 and "witnessed_truncated" in kinds(report)

    # then forks: an early entry rewritten and the chain re-computed above it, grown past
    # the witnessed size, signed with the real key
    world.submit("I10", cost_m="4")
    world.submit("I11", cost_m="4")
    world.submit("I12", cost_m="4")
    rewrite(pg_url, "UPDATE cxgov_chain SET entry_hash = sha256(entry_hash) "
                    "WHERE position >= (SELECT min(position) + 1 FROM cxgov_chain)")
    forked = parse_note_lenient(log.checkpoint())[0]
    assert forked.size > size
    for w in witnesses.values():
        with pytest.raises(Refused, match="rewritten"):
            observe_log(w, log)
    status, report = verify(pg_url, tmp_path, keys, [str(n) for n in last.values()], capsys)
    assert status == 1 and "witnessed_forked" in kinds(report)
    # the same from the service's own command line: cxgov audit verify --require-witness
    from typer.testing import CliRunner

    from governance.entrypoints.audit import audit_app
    from governance.settings import get_settings

    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(audit_app, [
            "verify", "--public-key", str(tmp_path / "log.pem"), "--json",
            "--require-witness", f"a={tmp_path / 'a.pem'}",
            "--require-witness", f"b={tmp_path / 'b.pem'}",
            "--cosigned", str(tmp_path / "cosigned-0.note"),
            "--cosigned", str(tmp_path / "cosigned-1.note")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "witnessed_forked" in kinds(json.loads(result.stdout))
    # the service still stores what the witnesses cosigned, but nothing for the fork
    assert log.witnessed()[0]["size"] == size
    status, report = verify(pg_url, tmp_path, keys, [log.checkpoint()], capsys)
    assert status == 1 and "unwitnessed" in kinds(report)


def test_a_rotation_the_old_key_signed_is_trusted_with_the_old_public_key(
        runtime: Runtime, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from typer.testing import CliRunner

    from governance.entrypoints.audit import audit_app
    from governance.settings import get_settings

    World(runtime.app).submit("I01", cost_m="4")
    issue_checkpoint(runtime.app, KEY)
    new = Ed25519PrivateKey.generate()
    (tmp_path / "old.key").write_text(seed(KEY))
    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        get_settings.cache_clear()
        try:
            result = runner.invoke(audit_app, list(args))
        finally:
            get_settings.cache_clear()
        return result.exit_code, result.output

    monkeypatch.setenv("CXGOV_AUDIT_SIGNING_KEY", seed(Ed25519PrivateKey.generate()))
    status, out = cli("checkpoint")  # a stranger's key: never started silently
    assert status == 2 and "refused to sign" in out
    status, out = cli("rotate-key", "--old-key", str(tmp_path / "wrong.key"))
    assert status == 2
    monkeypatch.setenv("CXGOV_AUDIT_SIGNING_KEY", seed(new))
    status, out = cli("rotate-key", "--old-key", str(tmp_path / "old.key"))
    assert status == 0, out
    status, out = cli("checkpoint")  # the handed-over key signs without --new-key
    assert status == 0, out
    status, rotations = cli("key-rotations")
    (tmp_path / "rotations.jsonl").write_text(rotations)
    (tmp_path / "old.pem").write_text(pem(KEY))
    base = ["--database", pg_url, "--public-key", str(tmp_path / "old.pem"), "--json"]
    capsys.readouterr()
    assert verifier_cli.main(base) == 1  # the new key's checkpoints are unknown_key
    assert "unknown_key" in kinds(json.loads(capsys.readouterr().out))
    assert verifier_cli.main([*base, "--key-rotations", str(tmp_path / "rotations.jsonl")]) == 0
    capsys.readouterr()
    # a statement not signed by the old key adds nothing
    tampered = json.loads(rotations.splitlines()[0])
    tampered["new_public_key"] = tampered["old_public_key"][:-4] + "AAA="
    (tmp_path / "forged.jsonl").write_text(json.dumps(tampered))
    assert verifier_cli.main([*base, "--key-rotations", str(tmp_path / "forged.jsonl")]) == 1


def test_the_served_tree_is_appended_not_rebuilt_per_request(
        runtime: Runtime, client: TestClient, pg_url: str) -> None:
    world = World(runtime.app)
    world.submit("I01", cost_m="4")
    log = http_log(client)
    first = merkle_log.current(runtime.app)
    before = parse_note_lenient(log.checkpoint())[0]
    world.submit("I02", cost_m="4")
    after = parse_note_lenient(log.checkpoint())[0]
    grown = merkle_log.current(runtime.app)
    assert after.size > before.size and grown.tree is first.tree  # the same tree, appended
    assert grown.tree.root(before.size) == before.root
    rewrite(pg_url, "UPDATE cxgov_chain SET entry_hash = sha256(entry_hash) "
                    "WHERE position = (SELECT max(position) FROM cxgov_chain)")
    rebuilt = merkle_log.current(runtime.app)
    assert rebuilt.tree is not first.tree and rebuilt.size == grown.size  # the tip changed
    assert rebuilt.tree.root() != grown.tree.root(grown.size)
