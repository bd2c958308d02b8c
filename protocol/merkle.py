"""RFC 9162 Merkle tree hashing and proofs, pure: no storage, no clock.

The audit log (docs/spec/11-audit-log.md) is a Merkle tree over its leaves
exactly as certificate transparency (RFC 9162 §2.1) defines it::

    MTH({})        = SHA-256()
    MTH({d0})      = SHA-256(0x00 || d0)                    leaf hash
    MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
                     k = the largest power of two smaller than n

Rules of this file:

* Proofs are built in two steps so that storage stays outside: the
  ``*_ranges`` functions say which subtree hashes a proof is made of (as
  leaf ranges ``[start, end)``), ``range_subtrees`` breaks each range into
  the perfect subtrees a store caches, and ``assemble`` folds the hashes the
  store handed back into the proof. Every range of an RFC 9162 proof starts
  at a multiple of the largest power of two not above its length, so it is
  at most log2(n) cached subtrees, and a proof at any size is O(log n) reads.
  ``split_kept`` and ``from_leaves`` serve a store that keeps only the
  larger subtrees and recomputes the small ones from their leaves.
* Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and
  raises ``TrustError(AUDIT_PROOF_FAILED)``; it never returns ``False``.
* ``root_of`` is the recursive definition above, kept for tests and vectors;
  the node never holds all leaves in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Final

from baliza.protocol.errors import ReasonCode, TrustError, UsageError

HASH_SIZE: Final = 32
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = sha256(b"").digest()
# A tree never grows past 2**62 leaves; bounds keep shifts and proofs small.
MAX_SIZE: Final = 2**62
MAX_PROOF: Final = 64


@dataclass(frozen=True, slots=True)
class Subtree:
    """A perfect subtree: ``2**level`` leaves starting at leaf ``index * 2**level``."""

    level: int
    index: int

    @property
    def start(self) -> int:
        """The first leaf it covers."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf it covers."""
        return (self.index + 1) << self.level


Range = tuple[int, int]


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` at least 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaves given by their leaf hashes: the definition, recursively."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = split_point(len(leaf_hashes))
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def range_subtrees(start: int, end: int) -> tuple[Subtree, ...]:
    """The perfect subtrees, left to right, whose hashes make MTH(D[start:end]).

    ``start`` must be a multiple of the largest power of two not above the
    length (true of every range an RFC 9162 proof or root names).
    """
    if not 0 <= start < end <= MAX_SIZE:
        raise UsageError(ReasonCode.OUT_OF_RANGE, f"no leaves in [{start}, {end})")
    out: list[Subtree] = []
    at = start
    for level in range((end - start).bit_length() - 1, -1, -1):
        if (end - start) >> level & 1:
            if at & ((1 << level) - 1):
                raise UsageError(ReasonCode.OUT_OF_RANGE, f"[{start}, {end}) is not aligned")
            out.append(Subtree(level, at >> level))
            at += 1 << level
    return tuple(out)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its perfect subtrees' hashes, left to right.

    The rightmost subtrees are the smallest and hang deepest, so the fold
    runs right to left: MTH = H(s0, H(s1, ... H(s_{k-1}, s_k))).
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(left, acc)
    return acc


def frontier(size: int) -> tuple[Subtree, ...]:
    """The perfect subtrees whose hashes make the root of a tree of ``size`` leaves."""
    return range_subtrees(0, size) if size else ()


def append(
    size: int, frontier_hashes: Sequence[bytes], leaves: Iterable[bytes]
) -> tuple[int, list[bytes], list[tuple[Subtree, bytes]]]:
    """Append leaf hashes to a tree known by its size and frontier hashes.

    Returns the new size, the new frontier's hashes and every perfect
    subtree completed on the way (each new leaf at level 0 and each node a
    new leaf closes), which is what a store caches so that proofs need no
    recomputation.
    """
    if len(frontier_hashes) != bin(size).count("1"):
        raise UsageError(ReasonCode.INCONSISTENT, "the frontier does not match the size")
    stack = list(frontier_hashes)  # left to right: largest first
    levels = [t.level for t in frontier(size)]
    completed: list[tuple[Subtree, bytes]] = []
    for leaf in leaves:
        completed.append((Subtree(0, size), leaf))
        stack.append(leaf)
        levels.append(0)
        size += 1
        # Merge equal-sized neighbours: a carry in binary addition.
        while len(levels) >= 2 and levels[-1] == levels[-2]:
            right, left = stack.pop(), stack.pop()
            level = levels.pop() + 1
            levels[-1] = level
            merged = node_hash(left, right)
            stack.append(merged)
            completed.append((Subtree(level, (size >> level) - 1), merged))
    if size > MAX_SIZE:
        raise UsageError(ReasonCode.OUT_OF_RANGE, "the tree is full")
    return size, stack, completed


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes make PATH(index, D[size]) (RFC 9162 §2.1.3.1), in order."""
    if not 0 <= index < size <= MAX_SIZE:
        raise UsageError(ReasonCode.OUT_OF_RANGE, f"no leaf {index} in a tree of {size}")
    out: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()  # the path is listed from the leaf up
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose hashes make PROOF(old, D[new]) (RFC 9162 §2.1.4.1), in order.

    Empty when ``old`` is 0 or equals ``new``: nothing needs proving.
    """
    if not 0 <= old <= new <= MAX_SIZE:
        raise UsageError(ReasonCode.OUT_OF_RANGE, f"no consistency from {old} to {new}")
    if old in (0, new):
        return []
    out: list[Range] = []
    start, end, whole = 0, new, True
    m = old
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        out.append((start, end))
    out.reverse()
    return out


def subtrees_of(ranges: Iterable[Range]) -> set[Subtree]:
    """Every cached subtree the given ranges need, each once (what a store reads)."""
    return {t for start, end in ranges for t in range_subtrees(start, end)}


def split_kept(wanted: Iterable[Subtree], lowest: int) -> tuple[set[Subtree], set[int]]:
    """The subtrees of ``wanted`` a store keeps (level ``lowest`` and up), and the others' leaves.

    A store that keeps only subtrees of ``2**lowest`` leaves or more writes
    one row per ``2**lowest`` leaves instead of two per leaf; the smaller
    subtrees of a proof lie in at most two blocks of ``2**lowest`` leaves
    (the leaf's own and the tree's last), recomputed from those leaves.
    """
    kept: set[Subtree] = set()
    leaves: set[int] = set()
    for t in wanted:
        if t.level >= lowest:
            kept.add(t)
        else:
            leaves.update(range(t.start, t.end))
    return kept, leaves


def from_leaves(
    wanted: Iterable[Subtree], leaf_hashes: Mapping[int, bytes]
) -> dict[Subtree, bytes]:
    """The hashes of perfect subtrees computed from their leaves' hashes (those present)."""
    out: dict[Subtree, bytes] = {}
    for t in wanted:
        if all(i in leaf_hashes for i in range(t.start, t.end)):
            out[t] = root_of([leaf_hashes[i] for i in range(t.start, t.end)])
    return out


def assemble(ranges: Sequence[Range], hashes: Mapping[Subtree, bytes]) -> list[bytes]:
    """The proof: each range's hash, folded from the subtree hashes a store read."""
    try:
        return [fold([hashes[t] for t in range_subtrees(s, e)]) for s, e in ranges]
    except KeyError as missing:
        raise UsageError(
            ReasonCode.INCONSISTENT, f"subtree {missing.args[0]} is not cached"
        ) from None


def _fail(detail: str) -> TrustError:
    return TrustError(ReasonCode.AUDIT_PROOF_FAILED, detail, path="proof")


def _check_hashes(proof: Sequence[bytes], *named: bytes) -> None:
    if len(proof) > MAX_PROOF:
        raise _fail(f"a proof of {len(proof)} hashes is longer than any tree's")
    for h in (*proof, *named):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise _fail("every hash is 32 bytes")


def root_from_inclusion(entry_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` (RFC 9162 §2.1.3.2) leads to from leaf ``index``.

    Raises ``TrustError(AUDIT_PROOF_FAILED)`` when the proof has the wrong
    length for ``index`` and ``size``.
    """
    _check_hashes(proof, entry_hash)
    if not 0 <= index < size <= MAX_SIZE:
        raise _fail(f"no leaf {index} in a tree of {size}")
    fn, sn, r = index, size - 1, entry_hash
    for p in proof:
        if sn == 0:
            raise _fail("the proof is longer than the path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise _fail("the proof is shorter than the path")
    return r


def verify_inclusion(
    entry_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Return if leaf ``entry_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises ``TrustError(AUDIT_PROOF_FAILED)`` otherwise.
    """
    if root_from_inclusion(entry_hash, index, size, proof) != root:
        raise _fail(f"leaf {index} is not in the tree of {size} with that root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Return if the tree ``old_root`` of ``old_size`` is a prefix of ``new_root`` (§2.1.4.2).

    Every tree is consistent with the empty one; a tree only with itself at
    its own size (no proof). Raises ``TrustError(AUDIT_PROOF_FAILED)``.
    """
    _check_hashes(proof, old_root, new_root)
    if not 0 <= old_size <= new_size <= MAX_SIZE:
        raise _fail(f"no consistency from {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise _fail("nothing to prove, yet a proof was given")
        if old_size == new_size and old_root != new_root:
            raise _fail(f"two different roots for the same size {old_size}")
        return
    if not proof:
        raise _fail("an empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise _fail("the proof is longer than the path")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise _fail(f"the tree of {old_size} is not a prefix of the tree of {new_size}")
