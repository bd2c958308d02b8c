"""Canonical MessagePack: the only byte form a Baliza message may take.

Rules of this file:

* A value is ``None``-free: absent optional fields are omitted, never ``nil``.
* Maps have ``str`` keys, sorted by code point (which is UTF-8 byte order),
  with no duplicates. Integers use the shortest encoding msgpack allows, no
  floats, no extension types, strings are NFC, bytes are ``bin``.
* ``decode`` bounds everything before it allocates (total size, nesting,
  element counts, string and bin lengths) and accepts ``b`` only when
  ``encode(decode(b)) == b``, so a signature never depends on an encoder.

msgpack's own exceptions never leave this module: everything becomes an
``InputError`` with a reason code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import msgpack

from baliza.protocol.errors import InputError, ReasonCode

Value: TypeAlias = "int | bool | str | bytes | list[Value] | dict[str, Value]"

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
MAX_DEPTH_LIMIT = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Upper bounds checked while decoding, before anything is allocated."""

    max_size: int = 1 << 20
    max_depth: int = 12
    max_items: int = 4096
    max_str: int = 64 * 1024
    max_bin: int = 1 << 20

    def __post_init__(self) -> None:
        # The walk recurses once per level; past a few hundred levels Python's
        # own recursion limit would end it with a RecursionError instead of a
        # refusal. No Baliza message nests deeper than 8, so 64 is plenty.
        if not 0 <= self.max_depth <= MAX_DEPTH_LIMIT:
            raise ValueError(f"max_depth must be 0 to {MAX_DEPTH_LIMIT}")


DEFAULT_LIMITS = Limits()


def encode(value: object) -> bytes:
    """Encode ``value`` canonically; raise ``InputError`` if it has no canonical form."""
    canonical = _canonical(value, "", 0)
    try:
        return msgpack.packb(canonical, use_bin_type=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:  # pragma: no cover - guarded above
        raise InputError(ReasonCode.UNSUPPORTED_TYPE, str(exc)) from exc


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Value:
    """Decode canonical bytes; raise ``InputError`` on anything else.

    Guarantees on success: the result contains only the types of ``Value``,
    and ``encode(result) == data``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(ReasonCode.WRONG_TYPE, "expected bytes")
    data = bytes(data)
    if len(data) > limits.max_size:
        raise InputError(
            ReasonCode.TOO_LARGE, f"{len(data)} bytes exceeds the limit of {limits.max_size}"
        )
    if not data:
        raise InputError(ReasonCode.MALFORMED, "empty input")
    unpacker = msgpack.Unpacker(
        raw=False,
        use_list=True,
        # Keys of any type reach the walk below, which refuses every non-string
        # key with one code (wrong_type); pairs are never hashed, so no key
        # type can be used to slow the parser down.
        strict_map_key=False,
        object_pairs_hook=_Pairs,
        max_buffer_size=limits.max_size,
        max_array_len=limits.max_items,
        max_map_len=limits.max_items,
        max_str_len=limits.max_str,
        max_bin_len=limits.max_bin,
        max_ext_len=0,
    )
    unpacker.feed(data)
    try:
        raw = unpacker.unpack()
    except msgpack.OutOfData as exc:
        raise InputError(ReasonCode.MALFORMED, "truncated input") from exc
    except msgpack.StackError as exc:
        raise InputError(ReasonCode.TOO_DEEP, "nesting too deep") from exc
    except msgpack.ExtraData as exc:  # pragma: no cover - unpack() reads one object
        raise InputError(ReasonCode.TRAILING_BYTES, "trailing bytes") from exc
    except ValueError as exc:
        # msgpack reports exceeded length limits and invalid UTF-8 as ValueError.
        text = str(exc)
        reason = ReasonCode.TOO_MANY_ITEMS if "exceeds max" in text else ReasonCode.MALFORMED
        raise InputError(reason, f"undecodable: {text}") from exc
    except Exception as exc:  # msgpack raises assorted types on garbage
        raise InputError(ReasonCode.MALFORMED, f"undecodable: {type(exc).__name__}") from exc
    if unpacker.tell() != len(data):
        raise InputError(ReasonCode.TRAILING_BYTES, "bytes after the end of the message")
    value = _normalise(raw, "", 0, limits)
    # _normalise refused unsorted keys, so the maps are already in canonical
    # order: packing the value as it is re-encodes it.
    if msgpack.packb(value, use_bin_type=True) != data:
        raise InputError(ReasonCode.NON_CANONICAL, "not in canonical form")
    return value


class _Pairs(list[tuple[object, object]]):
    """A map as decoded, kept as pairs so duplicate keys can be seen."""


def _normalise(raw: object, path: str, depth: int, limits: Limits) -> Value:
    if depth > limits.max_depth:
        raise InputError(ReasonCode.TOO_DEEP, f"nesting deeper than {limits.max_depth}", path=path)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        if not raw.isascii() and not unicodedata.is_normalized("NFC", raw):
            raise InputError(ReasonCode.NOT_NFC, "string is not in NFC form", path=path)
        return raw
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, float):
        raise InputError(ReasonCode.FLOAT_FORBIDDEN, "floats are not allowed", path=path)
    if isinstance(raw, _Pairs):
        out: dict[str, Value] = {}
        previous: str | None = None
        for key, item in raw:
            if not isinstance(key, str):
                raise InputError(ReasonCode.WRONG_TYPE, "map keys must be strings", path=path)
            if not key.isascii() and not unicodedata.is_normalized("NFC", key):
                raise InputError(ReasonCode.NOT_NFC, "map key is not in NFC form", path=path)
            if key in out:
                raise InputError(ReasonCode.DUPLICATE_KEY, f"duplicate key {key!r}", path=path)
            if previous is not None and key < previous:
                raise InputError(ReasonCode.NON_CANONICAL, "map keys not sorted", path=path)
            previous = key
            out[key] = _normalise(item, _join(path, key), depth + 1, limits)
        return out
    if isinstance(raw, list):
        return [_normalise(x, f"{path}[{i}]", depth + 1, limits) for i, x in enumerate(raw)]
    if raw is None:
        raise InputError(ReasonCode.UNSUPPORTED_TYPE, "nil is not allowed", path=path)
    raise InputError(ReasonCode.UNSUPPORTED_TYPE, f"{type(raw).__name__} not allowed", path=path)


def _canonical(value: object, path: str, depth: int) -> object:
    """Check that ``value`` has a canonical form and return it (maps sorted, tuples as lists).

    One walk does both: the checks visit maps in their own order, so the
    first fault reported is the one a separate check would have found.
    """
    # Concrete types first: isinstance against the collection ABCs is several
    # times slower, and this runs on every value of every message.
    if depth > DEFAULT_LIMITS.max_depth:
        raise InputError(ReasonCode.TOO_DEEP, "nesting too deep", path=path)
    if isinstance(value, str):
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            raise InputError(ReasonCode.NOT_NFC, "string is not in NFC form", path=path)
        return value
    if isinstance(value, bool | bytes):
        return value
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise InputError(ReasonCode.OUT_OF_RANGE, "integer outside 64 bits", path=path)
        return value
    if isinstance(value, float):
        raise InputError(ReasonCode.FLOAT_FORBIDDEN, "floats are not allowed", path=path)
    if isinstance(value, list | tuple):
        return [_canonical(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, Mapping):  # dict first in the ABC's cache
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(ReasonCode.WRONG_TYPE, "map keys must be strings", path=path)
            if not key.isascii() and not unicodedata.is_normalized("NFC", key):
                raise InputError(ReasonCode.NOT_NFC, "map key is not in NFC form", path=path)
            out[key] = _canonical(item, _join(path, key), depth + 1)
        return {key: out[key] for key in sorted(out)}
    if isinstance(value, Sequence):
        for i, item in enumerate(value):
            _canonical(item, f"{path}[{i}]", depth + 1)
        return value  # packed as it is, or refused by msgpack
    raise InputError(ReasonCode.UNSUPPORTED_TYPE, f"{type(value).__name__} not allowed", path=path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
