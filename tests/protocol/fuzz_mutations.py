"""Hypothesis strategies that turn valid Baliza messages into hostile ones.

Random bytes rarely get past the first MessagePack header, so these start
from valid messages (the committed vectors) and damage them the way an
attacker or a broken peer would:

* **bytes**: bit flips, truncation, bytes inserted or deleted, a slice
  replaced by a hostile MessagePack fragment (huge declared lengths of maps,
  arrays, strings and bins; over-long integers; 2,000 levels of nesting;
  nil, floats, extension types);
* **structure**: the message decoded, one value deep inside it replaced
  (wrong type, non-NFC string, deep nesting, a huge integer), a map given a
  duplicate key, and re-encoded with plain msgpack, so the damage sits behind
  valid outer layers. A byte string that is itself MessagePack (an envelope's
  ``signed`` and ``header``, a directory's ``signed``, a batch's envelopes)
  is descended into, so inner layers are reached too.

Each strategy is bounded: inputs stay small, nothing here needs more than a
few kilobytes beyond the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack
from hypothesis import strategies as st

# MessagePack fragments a parser must refuse without allocating or looping.
HOSTILE_FRAGMENTS: tuple[bytes, ...] = (
    b"\xdc\xff\xff",  # array16 of 65,535 items
    b"\xdd\xff\xff\xff\xff",  # array32 of 2^32-1 items
    b"\xde\xff\xff",  # map16 of 65,535 pairs
    b"\xdf\xff\xff\xff\xff",  # map32 of 2^32-1 pairs
    b"\xda\xff\xff",  # str16 of 65,535 bytes
    b"\xdb\xff\xff\xff\xff",  # str32 of 2^32-1 bytes
    b"\xc5\xff\xff",  # bin16 of 65,535 bytes
    b"\xc6\xff\xff\xff\xff",  # bin32 of 2^32-1 bytes
    b"\xc9\xff\xff\xff\xff\x01",  # ext32 of 2^32-1 bytes
    b"\xcc\x05",  # 5 as uint8: over-long
    b"\xcd\x00\x05",  # 5 as uint16
    b"\xce\x00\x00\x00\x05",  # 5 as uint32
    b"\xcf\x00\x00\x00\x00\x00\x00\x00\x05",  # 5 as uint64
    b"\xd3\xff\xff\xff\xff\xff\xff\xff\xff",  # -1 as int64
    b"\xd9\x01a",  # "a" as str8: over-long
    b"\xc0",  # nil
    b"\xca\x3f\x80\x00\x00",  # float32 1.0
    b"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00",  # float64 1.0
    b"\xd4\x01\x00",  # fixext1
    b"\xc1",  # reserved
    b"\x91" * 2000 + b"\x00",  # 2,000 nested arrays
    b"\x81\xa1a" * 1000 + b"\x00",  # 1,000 nested maps
    b"\x82\xa1a\x01\xa1a\x02",  # duplicate key
    b"\x81\xa3a\xcc\x81\x01",  # non-NFC key
    b"\xa3a\xcc\x81",  # non-NFC string
    b"\x81\x01\x01",  # integer key
    b"\xa2\xff\xfe",  # invalid UTF-8
)


def _flip(data: bytes, positions: Sequence[int], bits: Sequence[int]) -> bytes:
    out = bytearray(data)
    for pos, bit in zip(positions, bits, strict=False):
        out[pos % len(out)] ^= 1 << bit
    return bytes(out)


@st.composite
def byte_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """One byte-level damage of ``seed``."""
    if not seed:
        return draw(st.binary(max_size=64))
    n = len(seed)
    kind = draw(st.sampled_from(("flip", "truncate", "insert", "delete", "splice", "append")))
    if kind == "flip":
        count = draw(st.integers(1, 8))
        positions = draw(st.lists(st.integers(0, n - 1), min_size=count, max_size=count))
        bits = draw(st.lists(st.integers(0, 7), min_size=count, max_size=count))
        return _flip(seed, positions, bits)
    if kind == "truncate":
        return seed[: draw(st.integers(0, n - 1))]
    at = draw(st.integers(0, n))
    if kind == "insert":
        return seed[:at] + draw(st.binary(min_size=1, max_size=16)) + seed[at:]
    if kind == "delete":
        return seed[:at] + seed[at + draw(st.integers(1, 16)) :]
    fragment = draw(st.sampled_from(HOSTILE_FRAGMENTS))
    if kind == "append":
        return seed + fragment
    end = at + draw(st.integers(0, 8))
    return seed[:at] + fragment + seed[end:]


def _decoded(data: bytes) -> Any:
    """``data`` as a plain msgpack value (pairs kept as dicts), or None if it is not one."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception:
        return None


def _nodes(value: Any, path: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Paths of every value inside ``value``, descending into embedded MessagePack."""
    out: list[tuple[Any, ...]] = [path]
    if depth > 6:
        return out
    if isinstance(value, dict):
        for key, item in value.items():
            out += _nodes(item, (*path, key), depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value[:32]):
            out += _nodes(item, (*path, i), depth + 1)
    elif isinstance(value, bytes) and len(value) > 1:
        inner = _decoded(value)
        if isinstance(inner, dict | list):
            out += _nodes(inner, (*path, _Embedded()), depth + 1)
    return out


class _Embedded:
    """A path step into a byte string that holds MessagePack."""


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    step, rest = path[0], path[1:]
    if isinstance(step, _Embedded):
        return _pack(_replace(_decoded(value), rest, new))
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == step else v) for k, v in value.items()}
    copy = list(value)
    copy[step] = _replace(copy[step], rest, new)
    return copy


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = _decoded(value) if isinstance(step, _Embedded) else value[step]
    return value


def _deep(levels: int) -> Any:
    out: Any = 0
    for _ in range(levels):
        out = [out]
    return out


REPLACEMENTS = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, width=64),
    st.text(max_size=24),
    st.sampled_from(["a\u0301", "Bogota\u0301", "\u212b", "", " x ", "\x00"]),
    st.binary(max_size=40),
    st.lists(st.integers(0, 3), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(0, 3), max_size=3),
    st.sampled_from([_deep(20), _deep(200), {"a\u0301": 1}, {1: 1}, {b"k": 1}]),
)


class _Raw(bytes):
    """Bytes that ``_pack`` emits verbatim: a fragment no encoder would produce."""


def _map_header(n: int) -> bytes:
    return bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")


def _array_header(n: int) -> bytes:
    return bytes([0x90 | n]) if n < 16 else b"\xdc" + n.to_bytes(2, "big")


def _pack(value: Any) -> bytes:
    """Plain MessagePack, except that ``_Raw`` values are spliced in as they are."""
    if isinstance(value, _Raw):
        return bytes(value)
    if isinstance(value, dict):
        body = b"".join(_pack(k) + _pack(v) for k, v in value.items())
        return _map_header(len(value)) + body
    if isinstance(value, list):
        return _array_header(len(value)) + b"".join(_pack(v) for v in value)
    try:
        return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError):
        return b"\x00"


def _with_duplicate(target: dict[Any, Any]) -> _Raw:
    """The map ``target`` packed with its first pair twice."""
    pairs = list(target.items())
    pairs.insert(1, pairs[0])
    return _Raw(_map_header(len(pairs)) + b"".join(_pack(k) + _pack(v) for k, v in pairs))


@st.composite
def structure_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """Decode ``seed``, damage one value anywhere inside (embedded layers too), re-encode."""
    value = _decoded(seed)
    if not isinstance(value, dict | list):
        return draw(byte_mutation(seed))
    path = draw(st.sampled_from(_nodes(value)))
    target = _get(value, path)
    if isinstance(target, dict) and target:
        choice = draw(st.sampled_from(("duplicate", "drop", "replace")))
        if choice == "duplicate":
            return _pack(_replace(value, path, _with_duplicate(target)))
        if choice == "drop":
            key = draw(st.sampled_from(sorted(target, key=repr)))
            smaller = {k: v for k, v in target.items() if k != key}
            return _pack(_replace(value, path, smaller))
    replacement = draw(st.one_of(REPLACEMENTS, st.sampled_from(HOSTILE_FRAGMENTS).map(_Raw)))
    return _pack(_replace(value, path, replacement))


def mutants(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Hostile variants of the valid ``seeds`` (and, now and then, the seeds themselves)."""
    seed = st.sampled_from(list(seeds))
    return st.one_of(
        seed.flatmap(byte_mutation),
        seed.flatmap(structure_mutation),
        seed,
        st.sampled_from(HOSTILE_FRAGMENTS),
    )
