"""The witness drill (issue 18, part 3 and acceptance): two witnesses cosign the log's
checkpoints as it grows; the operator rewrites an early entry and signs a new tree head with
the real log key; both witnesses refuse it, and the verifier that requires their cosignatures
fails, with nothing but public keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from auditverify.keys import public_key_pem
from auditverify.merkle import MerkleTree
from auditverify.note import TreeHead, sign_note
from auditverify.proofs import check
from auditverify.witness import Refused, Witness, cosigners, main

ORIGIN = "cxgov/42/cxgov"
LOG = Ed25519PrivateKey.generate()
A, B = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()


def entries(n: int, *, rewritten: bool = False) -> list[bytes]:
    """n chain entry hashes; with `rewritten`, entry 3 replaced (a DBA's edit re-chained)."""
    out = [bytes([i % 256]) * 32 for i in range(n)]
    if rewritten:
        out[3] = b"\xee" * 32
    return out


def head(n: int, **kw: bool) -> tuple[str, MerkleTree]:
    """The log's signed tree head over n entries, and the tree."""
    tree = MerkleTree(entries(n, **kw))
    return sign_note(TreeHead(ORIGIN, n, tree.root()), "cxgov", LOG), tree


def proof_json(note: str, tree: MerkleTree, old: int) -> dict[str, object]:
    """What `cxgov audit prove --since` prints."""
    return {"kind": "consistency", "checkpoint": note, "old_size": old,
            "proof": [base64.b64encode(p).decode() for p in tree.consistency_proof(old)]}


def test_the_witness_drill(tmp_path: Path) -> None:
    log_keys = {"cxgov": LOG.public_key()}
    witnesses = [Witness(tmp_path / name, name, key, log_keys)
                 for name, key in (("witness-a", A), ("witness-b", B))]
    first, _ = head(10)
    for w in witnesses:  # the first checkpoint each sees is taken as it is
        w.observe(first, [], now=1_800_000_000)
    second, tree = head(25)
    cosigned = [w.observe(second, tree.consistency_proof(10), now=1_800_000_100)
                for w in witnesses]
    keys = {"witness-a": A.public_key(), "witness-b": B.public_key()}
    assert [cosigners(n, keys) for n in cosigned] == [{"witness-a"}, {"witness-b"}]
    assert check(proof_json(second, tree, 10), log_keys, kept=first, witnesses=keys,
                 cosigned=cosigned)[0]

    # the operator rewrites entry 3, re-chains, and signs the new head with the real key
    forged, forged_tree = head(30, rewritten=True)
    for w in witnesses:
        with pytest.raises(Refused, match="rewritten"):
            w.observe(forged, forged_tree.consistency_proof(25))
        assert w.last(ORIGIN) is not None and "\n25\n" in w.last(ORIGIN)  # state unmoved
    ok, why = check(proof_json(forged, forged_tree, 25), log_keys, witnesses=keys,
                    cosigned=[])
    assert not ok and why.startswith("UNWITNESSED")
    # with the checkpoint the auditor kept, the rewrite is a fork as well
    assert check(proof_json(forged, forged_tree, 25), log_keys,
                 kept=cosigned[0])[1].startswith("FORKED")


def test_a_witness_refuses_a_head_not_signed_by_the_log_and_a_shrunk_log(tmp_path: Path) -> None:
    witness = Witness(tmp_path, "w", A, {"cxgov": LOG.public_key()})
    stranger = sign_note(TreeHead(ORIGIN, 5, MerkleTree(entries(5)).root()), "cxgov",
                         Ed25519PrivateKey.generate())
    with pytest.raises(Refused, match="not signed"):
        witness.observe(stranger, [])
    witness.observe(head(10)[0], [])
    with pytest.raises(Refused, match="shrank"):
        witness.observe(head(8)[0], [])


def test_the_witness_command_cosigns_and_refuses(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "w.pem"
    key_file.write_bytes(A.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    log_pem = tmp_path / "log.pem"
    log_pem.write_text(public_key_pem(LOG.public_key()))
    args = ["--state", str(tmp_path / "state"), "--name", "witness-a", "--key", str(key_file),
            "--log-key", str(log_pem)]
    first, _ = head(10)
    (tmp_path / "p1.json").write_text(json.dumps({"checkpoint": first, "proof": []}))
    assert main([str(tmp_path / "p1.json"), *args]) == 0
    second, tree = head(20)
    (tmp_path / "p2.json").write_text(json.dumps(proof_json(second, tree, 10)))
    assert main([str(tmp_path / "p2.json"), *args]) == 0
    forged, forged_tree = head(30, rewritten=True)
    (tmp_path / "p3.json").write_text(json.dumps(proof_json(forged, forged_tree, 20)))
    capsys.readouterr()
    assert main([str(tmp_path / "p3.json"), *args]) == 1
    assert "REFUSED" in capsys.readouterr().err
