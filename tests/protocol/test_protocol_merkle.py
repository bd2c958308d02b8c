"""RFC 9162 Merkle trees: against the RFC's definitions, published roots and pymerkle.

Three independent witnesses, so that a mistake shared by the code and one
of them is still caught: the recursive definitions of RFC 9162 §2.1 written
out again here (MTH, PATH, PROOF), the roots and paths certificate
transparency published for its eight test leaves, and pymerkle, a separate
implementation used only in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from baliza.protocol import merkle
from baliza.protocol.errors import ReasonCode, TrustError, UsageError
from baliza.protocol.merkle import (
    EMPTY_ROOT,
    Subtree,
    append,
    assemble,
    consistency_ranges,
    frontier,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_of,
    subtrees_of,
    verify_consistency,
    verify_inclusion,
)

# The test leaves of certificate transparency's reference tests (and of RFC
# 6962 implementations since), with the roots of their first n leaves.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# PATH(0, D[8]) from the same tests.
CT_PATH_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]


def entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


# -- RFC 9162 §2.1, written out from the text, independently of the module --


def mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return sha256(b"").digest()
    if len(d) == 1:
        return sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


class CachedTree:
    """The module's own append and proof assembly over a dict: what the store does."""

    def __init__(self) -> None:
        self.size = 0
        self.front: list[bytes] = []
        self.cache: dict[Subtree, bytes] = {}

    def add(self, data: Sequence[bytes]) -> None:
        self.size, self.front, done = append(self.size, self.front, [leaf_hash(x) for x in data])
        self.cache.update(done)

    def root(self, size: int) -> bytes:
        return assemble([(0, size)], self.cache)[0] if size else EMPTY_ROOT

    def inclusion(self, index: int, size: int) -> list[bytes]:
        ranges = inclusion_ranges(index, size)
        return assemble(ranges, {t: self.cache[t] for t in subtrees_of(ranges)})

    def consistency(self, old: int, new: int) -> list[bytes]:
        return assemble(consistency_ranges(old, new), self.cache)


def cached(data: Sequence[bytes]) -> CachedTree:
    tree = CachedTree()
    for i in range(0, len(data), 3):  # appended in batches, as units of work do
        tree.add(data[i : i + 3])
    return tree


def test_hashes_use_the_rfc_prefixes() -> None:
    assert leaf_hash(b"abc") == sha256(b"\x00abc").digest()
    assert node_hash(b"l" * 32, b"r" * 32) == sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    assert sha256(b"").digest() == EMPTY_ROOT


def test_the_certificate_transparency_roots_and_path() -> None:
    hashes = [leaf_hash(x) for x in CT_LEAVES]
    for n in range(1, 9):
        assert root_of(hashes[:n]).hex() == CT_ROOTS[n - 1]
        assert cached(CT_LEAVES[:n]).root(n).hex() == CT_ROOTS[n - 1]
    assert [h.hex() for h in cached(CT_LEAVES).inclusion(0, 8)] == CT_PATH_0_8


def test_roots_paths_and_proofs_equal_the_rfc_definitions() -> None:
    data = entries(70)
    tree = cached(data)
    for n in range(1, 71):
        assert tree.root(n) == mth(data[:n]) == root_of([leaf_hash(x) for x in data[:n]])
        for m in range(n):
            assert tree.inclusion(m, n) == path(m, data[:n])
        for m in range(1, n):
            assert tree.consistency(m, n) == subproof(m, data[:n], True)


def test_roots_and_paths_equal_pymerkle() -> None:
    data = entries(100)
    tree = cached(data)
    other = InmemoryTree(algorithm="sha256")
    for n, x in enumerate(data, start=1):
        other.append_entry(x)
        assert tree.root(n) == other.get_root(n)
    for n in (1, 2, 3, 7, 8, 9, 31, 64, 65, 100):
        for m in range(n):
            theirs = other.prove_inclusion(m + 1, n).serialize()["path"]  # 1-based
            # pymerkle lists the leaf itself first, then the RFC path.
            assert theirs[0] == leaf_hash(data[m]).hex()
            assert [h.hex() for h in tree.inclusion(m, n)] == theirs[1:]


def test_every_proof_verifies_against_pymerkle_roots() -> None:
    data = entries(40)
    tree = cached(data)
    other = InmemoryTree(algorithm="sha256")
    for x in data:
        other.append_entry(x)
    for n in range(1, 41):
        root = other.get_root(n)
        for m in range(n):
            verify_inclusion(leaf_hash(data[m]), m, n, tree.inclusion(m, n), root)
        for m in range(1, n + 1):
            verify_consistency(m, n, other.get_root(m), root, tree.consistency(m, n))
        verify_consistency(0, n, EMPTY_ROOT, root, [])


def test_frontier_is_one_subtree_per_bit_of_the_size() -> None:
    assert frontier(0) == ()
    assert frontier(13) == (Subtree(3, 0), Subtree(2, 2), Subtree(0, 12))
    assert [t.start for t in frontier(13)] == [0, 8, 12]


def test_a_proof_at_a_million_leaves_reads_few_subtrees() -> None:
    n = 1_000_000
    for m in (0, 1, 499_999, 999_999):
        assert len(subtrees_of(inclusion_ranges(m, n))) <= 2 * n.bit_length()
    assert len(subtrees_of(consistency_ranges(654_321, n))) <= 2 * n.bit_length()


def _refused(call: object) -> None:
    assert callable(call)
    with pytest.raises(TrustError) as info:
        call()
    assert info.value.reason is ReasonCode.AUDIT_PROOF_FAILED


def test_inclusion_refuses_every_tampering() -> None:
    data = entries(11)
    tree = cached(data)
    leaf, root, proof = leaf_hash(data[5]), tree.root(11), tree.inclusion(5, 11)
    verify_inclusion(leaf, 5, 11, proof, root)
    _refused(lambda: verify_inclusion(leaf_hash(b"other"), 5, 11, proof, root))
    _refused(lambda: verify_inclusion(leaf, 4, 11, proof, root))
    # A size whose path has another shape (the size itself is bound by the signed head).
    _refused(lambda: verify_inclusion(leaf, 5, 6, proof, root))
    _refused(lambda: verify_inclusion(leaf, 5, 33, proof, root))
    _refused(lambda: verify_inclusion(leaf, 5, 11, proof[:-1], root))
    _refused(lambda: verify_inclusion(leaf, 5, 11, [*proof, proof[0]], root))
    _refused(lambda: verify_inclusion(leaf, 11, 11, proof, root))
    _refused(lambda: verify_inclusion(leaf, 5, 11, proof, tree.root(10)))
    flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    _refused(lambda: verify_inclusion(leaf, 5, 11, flipped, root))
    _refused(lambda: verify_inclusion(leaf, 5, 11, [b"short", *proof[1:]], root))


def test_consistency_refuses_a_rewritten_history() -> None:
    data = entries(13)
    tree = cached(data)
    rewritten = cached([*data[:4], b"forged", *data[5:]])
    proof = tree.consistency(7, 13)
    verify_consistency(7, 13, tree.root(7), tree.root(13), proof)
    # The log rewrote leaf 4, which the old head covered.
    forged = rewritten.consistency(7, 13)
    _refused(lambda: verify_consistency(7, 13, tree.root(7), rewritten.root(13), forged))
    _refused(lambda: verify_consistency(7, 13, tree.root(7), tree.root(13), proof[:-1]))
    _refused(lambda: verify_consistency(7, 13, tree.root(7), tree.root(13), []))
    _refused(lambda: verify_consistency(8, 13, tree.root(7), tree.root(13), proof))
    _refused(lambda: verify_consistency(13, 7, tree.root(13), tree.root(7), proof))
    # Two heads of the same size must carry the same root: equivocation.
    _refused(lambda: verify_consistency(13, 13, tree.root(13), rewritten.root(13), []))
    _refused(lambda: verify_consistency(0, 13, EMPTY_ROOT, tree.root(13), proof))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.data())
def test_random_sizes_agree_with_the_definitions(n: int, draw: st.DataObject) -> None:
    data = entries(n)
    tree = cached(data)
    m = draw.draw(st.integers(0, n - 1))
    old = draw.draw(st.integers(1, n))
    assert root_from_inclusion(leaf_hash(data[m]), m, n, tree.inclusion(m, n)) == mth(data)
    assert tree.consistency(old, n) == subproof(old, data, True)
    verify_consistency(old, n, mth(data[:old]), mth(data), tree.consistency(old, n))


def test_small_subtrees_are_recomputed_from_their_leaves() -> None:
    leaves = [merkle.leaf_hash(b"%d" % i) for i in range(45)]
    _, _, completed = merkle.append(0, [], leaves)
    every = dict(completed)
    for size in range(1, 46):
        for index in (0, size // 2, size - 1):
            ranges = merkle.inclusion_ranges(index, size)
            wanted = merkle.subtrees_of(ranges)
            kept, needed = merkle.split_kept(wanted, 4)
            assert all(t.level >= 4 for t in kept)
            # The small subtrees lie in at most two blocks of 16 leaves.
            assert len({i >> 4 for i in needed}) <= 2
            small = [t for t in wanted if t not in kept]
            computed = merkle.from_leaves(small, {i: leaves[i] for i in needed})
            hashes = {**{t: every[t] for t in kept}, **computed}
            proof = merkle.assemble(ranges, hashes)
            merkle.verify_inclusion(
                leaves[index], index, size, proof, merkle.root_of(leaves[:size])
            )
    # A leaf missing from the store leaves its subtree out, and assembling says so.
    ranges = merkle.inclusion_ranges(3, 8)
    small = list(merkle.subtrees_of(ranges))
    assert merkle.from_leaves(small, {i: leaves[i] for i in range(7)}).keys() < set(small)
    with pytest.raises(UsageError):
        merkle.assemble(ranges, merkle.from_leaves(small, {i: leaves[i] for i in range(7)}))
