"""The audit log as units of work append to it and read proofs from it (spec chapter 11).

``append`` runs inside the unit that stores what the entries are about, so
an entry and its subject are committed together or not at all. It locks the
one ``audit_state`` row first (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite the writer lock already serialises units), so concurrent units and
workers append one after the other and every leaf gets the next index. The
tree arithmetic is ``baliza.protocol.merkle``: this module only moves its
inputs and outputs between rows and memory.

What is stored, per leaf: its row in ``audit_leaves`` with its leaf hash
and, for every subtree of ``2**KEPT_FROM`` leaves or more that the leaf
completes, one row in ``audit_nodes``: about one node row per eight
leaves, written in the unit that appends, never read back by it (the
frontier row carries what the next append needs). A proof is one SELECT:
the kept subtrees it names by (level, index) keys and the leaf hashes of
its small subtrees (at most two blocks of ``2**KEPT_FROM``), and for
``inclusion`` the entry's row and the root's subtrees too, so that an
auditor's proof with its entry and root is one round trip.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Connection,
    Integer,
    and_,
    bindparam,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql

from baliza.node.storage.models import (
    AuditHeadRow,
    AuditLeafRow,
    AuditNodeRow,
    AuditPeerHeadRow,
    AuditStateRow,
    table_of,
)
from baliza.node.storage.sql._dialect import Upsert
from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind
from baliza.protocol.errors import BalizaError, ReasonCode, StorageError
from baliza.protocol.ids import AgencyId

_leaves = table_of(AuditLeafRow)
_nodes = table_of(AuditNodeRow)
_state = table_of(AuditStateRow)
_heads = table_of(AuditHeadRow)
_peer_heads = table_of(AuditPeerHeadRow)

# Subtrees of 16 leaves and more are kept; smaller ones are folded from the
# leaf hashes (at most two blocks of 16 per proof). Migration 0017 removed
# the smaller ones an earlier version kept.
KEPT_FROM = 4

_LOCK_STATE = select(_state.c.size, _state.c.frontier).where(_state.c.id == 1).with_for_update()
_STATE = select(_state.c.size, _state.c.frontier).where(_state.c.id == 1)
_SET_STATE = (
    update(_state)
    .where(_state.c.id == 1)
    .values(size=bindparam("new_size"), frontier=bindparam("new_frontier"))
)
_INSERT_LEAVES = insert(_leaves)
_INSERT_NODES = insert(_nodes)
_LEAF_COLUMNS = (
    _leaves.c.idx,
    _leaves.c.kind,
    _leaves.c.at_ms,
    _leaves.c.subject,
    _leaves.c.peer,
    _leaves.c.digest,
)
_LEAVES_ABOUT = (
    select(*_LEAF_COLUMNS).where(_leaves.c.subject == bindparam("subject")).order_by(_leaves.c.idx)
)
_LEAF_AT = select(*_LEAF_COLUMNS).where(_leaves.c.idx == bindparam("idx"))
_LEAF_HASHES = select(_leaves.c.idx, _leaves.c.hash).where(
    _leaves.c.idx.in_(bindparam("indices", expanding=True))
)
_KEEP_HEAD = Upsert(_heads, lambda s: s.on_conflict_do_nothing(index_elements=["size"]))
_LATEST_HEAD = (
    select(_heads.c.size, _heads.c.at_ms, _heads.c.signed).order_by(_heads.c.size.desc()).limit(1)
)
_HEADS = (
    select(_heads.c.size, _heads.c.at_ms, _heads.c.signed)
    .order_by(_heads.c.size.desc())
    .limit(bindparam("limit"))
)
_HEAD_COVERING = (
    select(_heads.c.signed)
    .where(_heads.c.size > bindparam("idx"))
    .order_by(_heads.c.size.desc())
    .limit(1)
)


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i : i + merkle.HASH_SIZE] for i in range(0, len(frontier), merkle.HASH_SIZE)]


def _read_state(connection: Connection, *, lock: bool) -> tuple[int, list[bytes]]:
    row = connection.execute(_LOCK_STATE if lock else _STATE).one_or_none()
    if row is None:
        raise StorageError(ReasonCode.STORAGE_FAILED, "the audit log has no state row (migrate)")
    return int(row.size), _split(row.frontier)


def append(connection: Connection, entries: Sequence[AuditEntry]) -> int:
    """Append ``entries`` in order and return the log's new size.

    Three statements whatever the number of entries (four when the entries
    complete a subtree of ``2**KEPT_FROM`` leaves): lock and read the
    state, insert the leaves, insert the kept subtrees, write the state.
    """
    if not entries:
        return -1
    size, frontier = _read_state(connection, lock=True)
    leaves = [merkle.leaf_hash(e.to_bytes()) for e in entries]
    new_size, new_frontier, completed = merkle.append(size, frontier, leaves)
    connection.execute(
        _INSERT_LEAVES,
        [
            {
                "idx": size + i,
                "kind": e.kind.value,
                "at_ms": e.at_ms,
                "subject": e.subject,
                "peer": e.peer,
                "digest": e.digest,
                "hash": leaves[i],
            }
            for i, e in enumerate(entries)
        ],
    )
    kept = [
        {"level": t.level, "idx": t.index, "hash": h} for t, h in completed if t.level >= KEPT_FROM
    ]
    if kept:
        connection.execute(_INSERT_NODES, kept)
    connection.execute(_SET_STATE, {"new_size": new_size, "new_frontier": b"".join(new_frontier)})
    return new_size


def size_and_root(connection: Connection) -> tuple[int, bytes]:
    """The log's current size and root (from the frontier: no tree walk)."""
    size, frontier = _read_state(connection, lock=False)
    return size, merkle.fold(frontier)


def leaf_hashes(connection: Connection, indices: Iterable[int]) -> dict[int, bytes]:
    """The stored leaf hashes of the leaves at ``indices`` (those that exist)."""
    wanted = sorted(indices)
    if not wanted:
        return {}
    rows = connection.execute(_LEAF_HASHES, {"indices": wanted})
    return {int(i): bytes(h) for i, h in rows}


# The entry's columns after (level, idx, hash) in a proof statement that
# also reads the entry: NULL in the rows of subtrees and leaf hashes.
_ENTRY_EXTRA = (
    _leaves.c.kind,
    _leaves.c.at_ms,
    _leaves.c.subject,
    _leaves.c.peer,
    _leaves.c.digest,
)
_ENTRY_LEVEL = -2
_LEAF_LEVEL = -1


def _kept_by_keys(subtrees: int) -> ColumnElement[bool]:
    # One ``level = ? AND idx = ?`` per subtree, OR-ed: each a primary-key
    # lookup on SQLite (a row-value IN scans the table there).
    return or_(
        *(
            and_(_nodes.c.level == bindparam(f"l{n}"), _nodes.c.idx == bindparam(f"i{n}"))
            for n in range(subtrees)
        )
    )


# On PostgreSQL the keys travel as two arrays joined to the primary key: one
# statement text (one prepared statement, one plan) for every number of
# subtrees, and about a third less server time than the OR-ed form.
_KEYS = (
    func.unnest(
        bindparam("levels", type_=postgresql.ARRAY(Integer)),
        bindparam("indices", type_=postgresql.ARRAY(BigInteger)),
    )
    .table_valued("level", "idx")
    .render_derived(name="wanted")
)


@functools.cache
def _hashes_at(
    subtrees: int, blocks: int, entry: bool = False, arrays: bool = False
) -> CompoundSelect[Any]:
    # One statement for a whole proof: the kept subtrees, each a primary-key
    # lookup (OR-ed keys, or on PostgreSQL (``arrays``) a join to the keys
    # as arrays), and the leaf hashes of whole blocks of 2**KEPT_FROM
    # leaves, as level -1; with ``entry``, first the entry's own row (level
    # -2) by its primary key, the other rows padding its columns with typed
    # NULLs, so that a proof with its entry and root is one round trip.
    # Built once per shape, then only parameters change.
    pad = tuple(null().cast(c.type).label(c.name) for c in _ENTRY_EXTRA) if entry else ()
    parts = []
    if entry:
        parts.append(
            select(literal(_ENTRY_LEVEL).label("level"), _leaves.c.idx, _leaves.c.hash)
            .add_columns(*_ENTRY_EXTRA)
            .where(_leaves.c.idx == bindparam("entry"))
        )
    parts.extend(
        select(literal(_LEAF_LEVEL).label("level"), _leaves.c.idx, _leaves.c.hash)
        .add_columns(*pad)
        .where(_leaves.c.idx.between(bindparam(f"from{n}"), bindparam(f"to{n}")))
        for n in range(blocks)
    )
    if subtrees:
        kept = select(_nodes.c.level, _nodes.c.idx, _nodes.c.hash).add_columns(*pad)
        if arrays:
            kept = kept.join(
                _KEYS, and_(_nodes.c.level == _KEYS.c.level, _nodes.c.idx == _KEYS.c.idx)
            )
        else:
            kept = kept.where(_kept_by_keys(subtrees))
        parts.append(kept)
    return union_all(*parts)


def _read(
    connection: Connection, wanted: Iterable[merkle.Subtree], entry: int | None = None
) -> tuple[dict[merkle.Subtree, bytes], Sequence[Any] | None]:
    """The hashes of ``wanted`` (and the row of leaf ``entry``), in one statement."""
    wanted = list(wanted)
    kept, leaves = merkle.split_kept(wanted, KEPT_FROM)
    blocks = sorted({i >> KEPT_FROM for i in leaves})
    arrays = connection.dialect.name == "postgresql"
    params: dict[str, int | list[int]] = {}
    if arrays and kept:
        params["levels"] = [t.level for t in kept]
        params["indices"] = [t.index for t in kept]
    else:
        for n, t in enumerate(kept):
            params[f"l{n}"], params[f"i{n}"] = t.level, t.index
    for n, block in enumerate(blocks):
        params[f"from{n}"] = block << KEPT_FROM
        params[f"to{n}"] = ((block + 1) << KEPT_FROM) - 1
    if entry is not None:
        params["entry"] = entry
    if not params:
        return {}, None
    found: dict[merkle.Subtree, bytes] = {}
    leaf_hashes: dict[int, bytes] = {}
    entry_row: Sequence[Any] | None = None
    statement = (
        _hashes_at(1, len(blocks), entry is not None, arrays=True)
        if arrays and kept
        else _hashes_at(len(kept), len(blocks), entry is not None)
    )
    for row in connection.execute(statement, params):
        level, index, h = row[0], row[1], row[2]
        if level == _ENTRY_LEVEL:
            entry_row = row
        elif level == _LEAF_LEVEL:
            leaf_hashes[int(index)] = bytes(h)
        else:
            found[merkle.Subtree(int(level), int(index))] = bytes(h)
    small = [t for t in wanted if t.level < KEPT_FROM]
    found.update(merkle.from_leaves(small, leaf_hashes))
    return found, entry_row


def _assemble(ranges: list[merkle.Range], hashes: dict[merkle.Subtree, bytes]) -> list[bytes]:
    try:
        return merkle.assemble(ranges, hashes)
    except BalizaError as err:  # a subtree missing: the rows were tampered with or lost
        raise StorageError(ReasonCode.STORAGE_FAILED, f"the audit log is damaged: {err}") from None


def _proof(connection: Connection, ranges: list[merkle.Range]) -> list[bytes]:
    return _assemble(ranges, _read(connection, merkle.subtrees_of(ranges))[0])


def root_at(connection: Connection, size: int) -> bytes:
    """The root of the first ``size`` leaves, from cached subtrees (one read)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return _proof(connection, [(0, size)])[0]


def inclusion_proof(connection: Connection, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) from cached subtrees, in one read."""
    return _proof(connection, merkle.inclusion_ranges(index, size))


def inclusion(
    connection: Connection, index: int, size: int
) -> tuple[AuditEntry, bytes, list[bytes]] | None:
    """The entry at leaf ``index``, the root at ``size`` and PATH(index, D[size]), in one read.

    One statement (one round trip on PostgreSQL) where ``entry_at``,
    ``root_at`` and ``inclusion_proof`` take three: the subtrees of the root
    and of the path are read together. None when there is no leaf ``index``.
    """
    path = merkle.inclusion_ranges(index, size)
    whole: list[merkle.Range] = [(0, size)]
    hashes, row = _read(connection, merkle.subtrees_of([*whole, *path]), entry=index)
    if row is None:
        return None
    return _entry((row[1], *row[3:8]))[1], _assemble(whole, hashes)[0], _assemble(path, hashes)


def consistency_proof(connection: Connection, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[new]) from cached subtrees, in one read."""
    return _proof(connection, merkle.consistency_ranges(old, new))


def consistency(connection: Connection, old: int, new: int) -> tuple[bytes, bytes, list[bytes]]:
    """The roots at ``old`` and ``new`` and PROOF(old, D[new]), in one read (one statement)."""
    if old == 0:
        return merkle.EMPTY_ROOT, root_at(connection, new), []
    ranges = merkle.consistency_ranges(old, new)
    roots: list[merkle.Range] = [(0, old), (0, new)]
    hashes, _ = _read(connection, merkle.subtrees_of([*roots, *ranges]))
    old_root, new_root = _assemble(roots, hashes)
    return old_root, new_root, _assemble(ranges, hashes)


def _entry(row: Sequence[Any]) -> tuple[int, AuditEntry]:
    idx, kind, at_ms, subject, peer, digest = (row[i] for i in range(6))
    return int(idx), AuditEntry(
        kind=EntryKind(kind),
        at_ms=int(at_ms),
        subject=subject,
        peer=None if peer is None else AgencyId(peer),
        digest=bytes(digest),
    )


def entries_about(connection: Connection, subject: str) -> list[tuple[int, AuditEntry]]:
    """Every entry whose subject is ``subject`` (an envelope id, an action), oldest first."""
    return [_entry(row) for row in connection.execute(_LEAVES_ABOUT, {"subject": subject})]


def entry_at(connection: Connection, index: int) -> AuditEntry | None:
    """The entry at leaf ``index``, or None."""
    row = connection.execute(_LEAF_AT, {"idx": index}).one_or_none()
    return None if row is None else _entry(row)[1]


def add_head(connection: Connection, *, size: int, at_ms: int, root: bytes, signed: bytes) -> None:
    """Keep a head this node signed; one already kept at ``size`` stays as it was.

    ``ON CONFLICT DO NOTHING``: the head signer, an auditor's request and
    other workers may sign the log at one size at the same moment, and on
    PostgreSQL each sees no head of that size before the first commits.
    """
    connection.execute(
        _KEEP_HEAD.on(connection), {"size": size, "at_ms": at_ms, "root": root, "signed": signed}
    )


def latest_head(connection: Connection) -> tuple[int, int, bytes] | None:
    """(size, at_ms, signed bytes) of the newest head signed, or None."""
    row = connection.execute(_LATEST_HEAD).one_or_none()
    return None if row is None else (int(row.size), int(row.at_ms), bytes(row.signed))


def heads(connection: Connection, limit: int = 100) -> list[tuple[int, int, bytes]]:
    """The heads signed, newest first."""
    return [
        (int(size), int(at_ms), bytes(signed))
        for size, at_ms, signed in connection.execute(_HEADS, {"limit": max(1, min(limit, 1000))})
    ]


def head_covering(connection: Connection, index: int) -> bytes | None:
    """The newest signed head that covers leaf ``index``, or None."""
    return connection.execute(_HEAD_COVERING, {"idx": index}).scalar_one_or_none()


_PEER_HEAD = (
    select(_peer_heads.c.signed)
    .where(_peer_heads.c.peer == bindparam("peer"), _peer_heads.c.accepted.is_(True))
    .order_by(_peer_heads.c.size.desc())
    .limit(1)
)
_KEEP_PEER_HEAD = Upsert(
    _peer_heads, lambda s: s.on_conflict_do_nothing(index_elements=["peer", "size", "root"])
)
_PEER_HEADS = select(
    _peer_heads.c.peer,
    _peer_heads.c.size,
    _peer_heads.c.root,
    _peer_heads.c.at_ms,
    _peer_heads.c.seen_ms,
    _peer_heads.c.accepted,
    _peer_heads.c.signed,
).order_by(_peer_heads.c.peer, _peer_heads.c.size.desc())


def peer_head(connection: Connection, peer: str) -> bytes | None:
    """The newest head accepted from ``peer`` (signed bytes), or None."""
    return connection.execute(_PEER_HEAD, {"peer": peer}).scalar_one_or_none()


def keep_peer_head(
    connection: Connection,
    *,
    peer: str,
    size: int,
    root: bytes,
    at_ms: int,
    seen_ms: int,
    accepted: bool,
    signed: bytes,
) -> None:
    """Keep a head from ``peer``; one already kept (same size and root) stays as it was.

    ``ON CONFLICT DO NOTHING`` rather than look-then-insert: a delivery proof
    and the head exchange may keep the same head at the same moment, and on
    PostgreSQL both would see no row and the second would fail.
    """
    connection.execute(
        _KEEP_PEER_HEAD.on(connection),
        {
            "peer": peer,
            "size": size,
            "root": root,
            "at_ms": at_ms,
            "seen_ms": seen_ms,
            "accepted": accepted,
            "signed": signed,
        },
    )


def peer_heads(connection: Connection) -> list[tuple[str, int, bytes, int, int, bool, bytes]]:
    """Every head kept from peers: (peer, size, root, at_ms, seen_ms, accepted, signed)."""
    return [
        (str(p), int(n), bytes(r), int(a), int(s), bool(ok), bytes(sig))
        for p, n, r, a, s, ok, sig in connection.execute(_PEER_HEADS)
    ]
