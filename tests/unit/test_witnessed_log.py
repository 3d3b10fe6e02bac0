"""The auditor's side of the served Merkle log (issue 18, parts 2-4), without a service: the
tree kept by appending equals the tree built at once; witnessed tree heads in the full
verifier (quorum across the witnesses' own notes, truncation, fork); signed key rotations;
the HTTP client refuses what a hostile server answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.keys import key_id, public_key_pem
from auditverify.live import MAX_ANSWER_BYTES, HttpLog, LogUnavailable
from auditverify.merkle import MerkleTree, verify_consistency, verify_inclusion
from auditverify.note import TreeHead, sign_note
from auditverify.rotation import KeyRotation, load_rotations, sign_rotation, trusted_keys
from auditverify.treeheads import check_witnessed
from auditverify.witness import Witness, cosign, main, observe_log

ORIGIN = "cxgov/42/cxgov"
LOG = Ed25519PrivateKey.generate()
A, B, C = (Ed25519PrivateKey.generate() for _ in range(3))
WITNESSES = {"a": A.public_key(), "b": B.public_key()}


def test_appending_leaves_keeps_the_same_tree_and_proofs() -> None:
    leaves = [os.urandom(32) for _ in range(300)]
    grown = MerkleTree([])
    for n, leaf in enumerate(leaves, 1):
        grown.append(leaf)
        assert grown.root() == MerkleTree(leaves[:n]).root()
    whole = MerkleTree(leaves)
    assert grown.levels == whole.levels
    for size in (1, 2, 3, 7, 8, 9, 100, 255, 256, 257, 300):
        for index in {0, size // 2, size - 1}:
            assert verify_inclusion(leaves[index], index, size,
                                    grown.inclusion_proof(index, size), grown.root(size))
        for old in {0, 1, size // 3, size - 1, size}:
            assert verify_consistency(old, size, grown.root(old), grown.root(size),
                                      grown.consistency_proof(old, size))


def entries(n: int, *, changed: int | None = None) -> list[tuple[int, bytes]]:
    """(position, entry hash) of n entries at positions 10, 20, ...; one changed if asked."""
    return [(10 * (i + 1), (b"\xee" if i == changed else bytes([i % 256])) * 32)
            for i in range(n)]


def cosigned(n: int, *signers: tuple[str, Ed25519PrivateKey]) -> list[str]:
    """The log's checkpoint of n entries as each witness cosigned it (one note each)."""
    tree = MerkleTree([d for _, d in entries(n)])
    note = sign_note(TreeHead(ORIGIN, n, tree.root()), "cxgov", LOG)
    return [cosign(note, name, key, 1_800_000_000) for name, key in signers]


def kinds(findings: list) -> list[tuple[str, int | None]]:  # type: ignore[type-arg]
    return [(f.kind, f.position) for f in findings]


def test_a_history_that_extends_the_witnessed_checkpoint_passes() -> None:
    notes = cosigned(8, ("a", A), ("b", B))  # each witness gives its own note
    assert check_witnessed(entries(8), notes, [LOG.public_key()], WITNESSES) == []
    assert check_witnessed(entries(12), notes, [LOG.public_key()], WITNESSES) == []


def test_cut_and_rewritten_histories_fail_against_the_witnessed_checkpoint() -> None:
    notes = cosigned(8, ("a", A), ("b", B))
    assert kinds(check_witnessed(entries(6), notes, [LOG.public_key()], WITNESSES)) == [
        ("witnessed_truncated", 61)]  # after the last row left
    found = check_witnessed(entries(9, changed=2), notes, [LOG.public_key()], WITNESSES)
    assert kinds(found) == [("witnessed_forked", 80)]
    assert found[0].tamper == "forked"


def test_the_quorum_counts_named_witnesses_with_valid_cosignatures_only() -> None:
    one = cosigned(8, ("a", A))
    found = check_witnessed(entries(8), one, [LOG.public_key()], WITNESSES)
    assert ("unwitnessed", 81) in kinds(found)
    assert check_witnessed(entries(8), one, [LOG.public_key()], WITNESSES, quorum=1) == []
    impostor = cosigned(8, ("a", A), ("b", C))  # b's name, another key
    assert "unwitnessed" in {f.kind for f in check_witnessed(
        entries(8), impostor, [LOG.public_key()], WITNESSES)}
    other_log = cosigned(8, ("a", A), ("b", B))  # signed by the log, but not a key you gave
    assert "unwitnessed" in {f.kind for f in check_witnessed(
        entries(8), other_log, [C.public_key()], WITNESSES)}


def test_a_key_is_trusted_only_through_a_rotation_its_predecessor_signed(
        tmp_path: Path) -> None:
    first, second, third = (Ed25519PrivateKey.generate() for _ in range(3))
    chain = [sign_rotation(first, second.public_key(), 1),
             sign_rotation(second, third.public_key(), 2)]
    trusted = {key_id(k) for k in trusted_keys([first.public_key()], chain)}
    assert trusted == {key_id(k.public_key()) for k in (first, second, third)}
    assert {key_id(k) for k in trusted_keys([third.public_key()], chain)} == {
        key_id(third.public_key())}  # never backwards
    forged = KeyRotation(chain[0].old_public_key, bytes(range(32)), 1, chain[0].signature)
    assert not forged.valid()
    assert len(trusted_keys([first.public_key()], [forged])) == 1
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r.to_json()) for r in chain))
    assert load_rotations(tmp_path / "r.jsonl") == chain
    (tmp_path / "bad.jsonl").write_text('{"old_public_key": 1}')
    with pytest.raises(ValueError):
        load_rotations(tmp_path / "bad.jsonl")


def answering(status: int, body: bytes) -> HttpLog:
    return HttpLog("http://log", fetch=lambda method, url, data, headers: (status, body))


@pytest.mark.parametrize(("status", "body", "match"), [
    (500, b'{"code": "server.error"}', "HTTP 500"),
    (200, b"not json", "not JSON"),
    (200, b"[1, 2]", "not a JSON object"),
    (200, b"x" * (MAX_ANSWER_BYTES + 1), "over"),
])
def test_the_http_client_refuses_what_a_hostile_server_answers(
        status: int, body: bytes, match: str) -> None:
    with pytest.raises(LogUnavailable, match=match):
        answering(status, body).consistency(1)


def test_a_witness_over_http_refuses_a_proof_from_another_size(tmp_path: Path) -> None:
    tree = MerkleTree([d for _, d in entries(8)])
    note = sign_note(TreeHead(ORIGIN, 8, tree.root()), "cxgov", LOG)
    witness = Witness(tmp_path / "w", "a", A, {"cxgov": LOG.public_key()})
    witness.observe(sign_note(TreeHead(ORIGIN, 4, tree.root(4)), "cxgov", LOG), [])
    sent: list[tuple[str, str]] = []

    def fetch(method: str, url: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[int, bytes]:
        sent.append((method, url))
        if url.endswith("/checkpoint"):
            return 200, note.encode()
        return 200, json.dumps({"checkpoint": note, "kind": "consistency", "old_size": 3,
                                "proof": []}).encode()

    with pytest.raises(Exception, match="not from 4"):
        observe_log(witness, HttpLog("http://log", fetch=fetch))
    assert sent == [("GET", "http://log/v1/audit/checkpoint"),
                    ("GET", "http://log/v1/audit/proofs/consistency?old=4&size=8")]


def test_the_witness_command_says_when_the_log_does_not_answer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )
    (tmp_path / "w.pem").write_bytes(A.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                     NoEncryption()))
    (tmp_path / "log.pem").write_text(public_key_pem(LOG.public_key()))
    base = ["--state", str(tmp_path / "s"), "--name", "a", "--key", str(tmp_path / "w.pem"),
            "--log-key", str(tmp_path / "log.pem")]
    assert main([*base, "--url", "http://127.0.0.1:9"]) == 2
    assert "did not answer" in capsys.readouterr().err
    assert main([*base, "--url", "file:///etc/passwd"]) == 2
    assert main(base) == 2  # neither a proof file nor --url
