"""An RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle tree over the chain's entry
hashes, with inclusion and consistency proofs, and their verification with O(log n) data.

Leaf i is the i-th chain entry (in position order); its leaf data is its 32-byte entry hash.
leaf hash = SHA-256(0x00 || data); node hash = SHA-256(0x01 || left || right); the root of the
empty tree is SHA-256 of nothing. Proof generation keeps every complete power-of-two subtree
(all levels: 2n hashes), so a proof costs O(log^2 n) hashes, whatever n; `append` keeps
them as leaves arrive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """The tree over a sequence of leaf data (the entry hashes), levels kept for proofs."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        level = [leaf_hash(d) for d in leaves]
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def append(self, data: bytes) -> None:
        """Add one leaf, completing each subtree it closes (O(log n) hashes): a server keeps
        its tree current by appending the entries written since, never rebuilding it."""
        self.levels[0].append(leaf_hash(data))
        level = 0
        while len(self.levels[level]) % 2 == 0:
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(
                node_hash(self.levels[level][-2], self.levels[level][-1]))
            level += 1

    def extend(self, data: Sequence[bytes]) -> None:
        """Add many leaves at once: the same tree as appending them one by one, each level's
        newly completed nodes hashed in one pass (a server catching up with 1M entries)."""
        sha256 = hashlib.sha256
        new = [sha256(b"\x00" + d).digest() for d in data]
        level = 0
        while new:
            below = self.levels[level]
            below.extend(new)
            if len(self.levels) == level + 1:
                if len(below) < 2:
                    break
                self.levels.append([])
            done = len(self.levels[level + 1])
            new = [sha256(b"\x01" + below[i] + below[i + 1]).digest()
                   for i in range(2 * done, len(below) - 1, 2)]
            level += 1

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self.levels[0])

    def _hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end), start aligned as the RFC's recursion makes it."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:  # a complete subtree: stored
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The root of the first `size` leaves (default: all)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside 0..{self.size}")
        return self._hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `size` leaves."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                proof.append(self._hash(start + k, end))
                end = start + k
            else:
                proof.append(self._hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """RFC 9162 2.1.4.1: proof that the tree of `old` leaves is a prefix of `new`."""
        new = self.size if new is None else new
        if not 0 <= old <= new <= self.size:
            raise ValueError(f"no consistency proof from {old} to {new}")
        if old in (0, new):
            return []
        return self._subproof(old, 0, new, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._hash(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self._hash(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._hash(start, start + k)]


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The root of a whole tree (no proofs kept)."""
    return MerkleTree(leaves).root()


def verify_inclusion(leaf_data: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 2.1.3.2: whether `proof` shows leaf `index` in the tree of `size` with `root`."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf_data)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: whether `proof` shows the tree (old, old_root) is a prefix of
    (new, new_root)."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
