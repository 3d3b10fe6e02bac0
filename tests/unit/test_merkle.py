"""The RFC 9162 Merkle tree over the chain and C2SP signed-note checkpoints (issue 18, part 2):
roots against the RFC's recursive definition, every inclusion and consistency proof of small
trees verifies and any change to one does not, and a checkpoint verifies only with its key and
its log's origin."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from auditverify.note import DASH, NoteError, TreeHead, add_signature, sign_note, verify_note

LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, literally."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def test_roots_match_the_rfcs_definition() -> None:
    tree = MerkleTree(LEAVES)
    for size in range(len(LEAVES) + 1):
        assert tree.root(size) == mth(LEAVES[:size])
    assert MerkleTree([]).root() == EMPTY_ROOT


def test_every_inclusion_proof_verifies_and_a_changed_one_does_not() -> None:
    tree = MerkleTree(LEAVES)
    for size in range(1, 40):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root)
            if proof:
                bad = [bytes(32), *proof[1:]]
                assert not verify_inclusion(LEAVES[index], index, size, bad, root)
            other = LEAVES[(index + 1) % len(LEAVES)]
            assert not verify_inclusion(other, index, size, proof, root)


def test_every_consistency_proof_verifies_and_a_forked_tree_does_not() -> None:
    tree = MerkleTree(LEAVES)
    forked = MerkleTree([*LEAVES[:20], bytes(32), *LEAVES[21:]])
    for new in range(1, 40):
        for old in range(1, new + 1):
            proof = tree.consistency_proof(old, new)
            assert verify_consistency(old, new, tree.root(old), tree.root(new), proof)
            if 20 < old < new:  # the fork changed leaf 20, inside the old tree
                assert not verify_consistency(old, new, tree.root(old), forked.root(new),
                                              forked.consistency_proof(old, new))
            if proof and old < new:
                assert not verify_consistency(old, new, tree.root(old), tree.root(new),
                                              [bytes(32), *proof[1:]])


def test_proofs_are_logarithmic_in_the_tree_size() -> None:
    tree = MerkleTree([i.to_bytes(32, "big") for i in range(1 << 14)])
    proof = tree.inclusion_proof(12345)
    assert len(proof) == 14
    assert verify_inclusion((12345).to_bytes(32, "big"), 12345, tree.size, proof, tree.root())


def test_a_signed_checkpoint_verifies_with_its_key_and_origin_only() -> None:
    key, witness, stranger = (Ed25519PrivateKey.generate() for _ in range(3))
    head = TreeHead("cxgov/123/cxgov", 70, MerkleTree(LEAVES).root())
    note = sign_note(head, "cxgov-log", key)
    assert note.startswith("cxgov/123/cxgov\n70\n") and f"\n\n{DASH} cxgov-log " in note
    found, valid = verify_note(note, {"cxgov-log": key.public_key()}, origin=head.origin)
    assert (found, valid) == (head, {"cxgov-log"})
    assert verify_note(note, {"cxgov-log": stranger.public_key()})[1] == set()
    with pytest.raises(NoteError):
        verify_note(note, {"cxgov-log": key.public_key()}, origin="cxgov/456/cxgov")
    cosigned = add_signature(note, "witness-a", witness)
    assert verify_note(cosigned, {"cxgov-log": key.public_key(),
                                  "witness-a": witness.public_key()})[1] == {
        "cxgov-log", "witness-a"}
    forged = note.replace("\n70\n", "\n71\n")
    assert verify_note(forged, {"cxgov-log": key.public_key()})[1] == set()


def test_extending_in_batches_builds_the_same_tree_as_appending_one_by_one() -> None:
    """MerkleTree.extend (a server catching up with many entries) keeps the very levels that
    append keeps, whatever the batch sizes, so every root and proof is the same."""
    import random

    rnd = random.Random(3)
    for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 257]:
        leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]
        appended = MerkleTree([])
        for leaf in leaves:
            appended.append(leaf)
        extended = MerkleTree([])
        done = 0
        while done < n:
            step = rnd.randint(1, 20)
            extended.extend(leaves[done:done + step])
            done += step
        assert extended.levels == appended.levels, n
        assert extended.root() == mth(leaves)
