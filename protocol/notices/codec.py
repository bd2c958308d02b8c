"""Notices to bytes and back, and to the JSON form of the local API.

This is the one entry point for notice plaintext: ``decode_notice`` reads the
version first (so a future version is refused as such, not as junk), then the
kind, then hands the map to that kind's ``from_wire``. The JSON form is the
wire form with bytes as lower-case hex; ``notice_from_json`` converts it and
then goes through the very same canonical decoder, so the two forms cannot
accept different things.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TypeAlias

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.fields import as_map, join
from baliza.protocol.notices.alert import AlertOutcome, PreArrivalAlert
from baliza.protocol.notices.case import CaseNotice
from baliza.protocol.notices.common import NOTICE_VERSION
from baliza.protocol.notices.json_form import humane
from baliza.protocol.notices.lifecycle import Correction, Receipt, Retraction
from baliza.protocol.notices.seizure import SeizureNotice

Notice: TypeAlias = (
    SeizureNotice | PreArrivalAlert | AlertOutcome | CaseNotice | Receipt | Correction | Retraction
)

NOTICE_TYPES: tuple[type[Notice], ...] = (
    SeizureNotice,
    PreArrivalAlert,
    AlertOutcome,
    CaseNotice,
    Receipt,
    Correction,
    Retraction,
)
KINDS: dict[str, type[Notice]] = {cls.kind.value: cls for cls in NOTICE_TYPES}

# Sized from the field limits in docs/spec/03-notices.md: the largest legal
# notice (every list full, every text at its limit) stays well under 1 MiB,
# while 512 KiB leaves room for any realistic one and bounds the work done on
# hostile input. Depth 8 fits a correction's person's document's field; the
# longest list is 200 items; the longest string 8,000 characters of up to 4
# bytes; the only byte strings are 32-byte hashes.
NOTICE_LIMITS = Limits(
    max_size=512 * 1024, max_depth=8, max_items=256, max_str=32 * 1024, max_bin=32
)

#: Fields whose wire type is ``bin``; in JSON they are lower-case hex strings.
BYTES_FIELDS = frozenset({"sha256"})

_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def encode_notice(notice: Notice) -> bytes:
    """Canonical bytes of a notice, with ``v`` and ``kind``.

    Raises ``InputError`` if ``notice`` is not a notice or encodes larger than
    ``NOTICE_LIMITS.max_size`` (so what is encoded can always be decoded).
    """
    if not isinstance(notice, NOTICE_TYPES):
        raise InputError(ReasonCode.WRONG_TYPE, f"not a notice: {type(notice).__name__}")
    data = encode(notice.to_wire())
    if len(data) > NOTICE_LIMITS.max_size:
        raise InputError(
            ReasonCode.TOO_LARGE,
            f"notice encodes to {len(data)} bytes, over {NOTICE_LIMITS.max_size}",
        )
    return data


def decode_notice(data: bytes) -> Notice:
    """Parse canonical notice bytes; raise ``InputError`` (or ``VersionError``) otherwise."""
    return notice_from_wire(decode(data, NOTICE_LIMITS))


def notice_from_wire(value: Value) -> Notice:
    """Build a notice from a decoded canonical map (version, then kind, then fields)."""
    fields = as_map(value, "")
    version = fields.get("v")
    if version is None:
        raise InputError(ReasonCode.MISSING_FIELD, "is required", path="v")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputError(ReasonCode.WRONG_TYPE, "must be an integer", path="v")
    if version != NOTICE_VERSION:
        raise VersionError(ReasonCode.UNKNOWN_VERSION, f"notice version {version}", path="v")
    kind = fields.get("kind")
    if kind is None:
        raise InputError(ReasonCode.MISSING_FIELD, "is required", path="kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InputError(
            ReasonCode.UNKNOWN_KIND, f"must be one of: {', '.join(sorted(KINDS))}", path="kind"
        )
    return cls.from_wire(value)


def notice_to_json(notice: Notice) -> dict[str, Any]:
    """The JSON form: the wire map with byte strings as lower-case hex.

    Typed ``dict[str, Any]`` like ``json.loads`` output, because it is JSON.
    """
    return wire_to_json(notice.to_wire())


def wire_to_json(wire: Value) -> dict[str, Any]:
    """``notice_to_json`` of a notice whose wire map the caller holds already."""
    out = _to_json(wire)
    assert isinstance(out, dict)
    return out


def notice_from_json(obj: object) -> Notice:
    """Build a notice from its JSON form; raise ``InputError`` with the JSON path.

    Strings are brought to NFC first (browsers and some keyboards send
    decomposed accents); everything else must already be exact: ``null`` and
    floats are refused, integers must be integers, hex must be lower case.
    """
    value = _from_json(obj, "", 0)
    return decode_notice(encode(value))


def notice_from_written_json(obj: object) -> Notice:
    """Build a notice from JSON as a person writes it: ISO times, "412 kg", sets in any order.

    What officers and their tools post (``POST /api/v1/notices``); the strict
    ``notice_from_json`` stays the reading of the canonical form.
    """
    return notice_from_json(humane(obj))


def _to_json(value: Value) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def _from_json(obj: object, path: str, depth: int) -> Value:
    if depth > NOTICE_LIMITS.max_depth:
        raise InputError(
            ReasonCode.TOO_DEEP, f"nesting deeper than {NOTICE_LIMITS.max_depth}", path=path
        )
    if isinstance(obj, bool | int):
        return obj
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, float):
        raise InputError(ReasonCode.FLOAT_FORBIDDEN, "numbers must be integers", path=path)
    if obj is None:
        raise InputError(
            ReasonCode.UNSUPPORTED_TYPE, "null is not allowed: omit the field", path=path
        )
    if isinstance(obj, list | tuple):
        if len(obj) > NOTICE_LIMITS.max_items:
            raise InputError(ReasonCode.TOO_MANY_ITEMS, "too many items", path=path)
        return [_from_json(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if len(obj) > NOTICE_LIMITS.max_items:
            raise InputError(ReasonCode.TOO_MANY_ITEMS, "too many fields", path=path)
        out: dict[str, Value] = {}
        for key, item in obj.items():
            if not isinstance(key, str):
                raise InputError(ReasonCode.WRONG_TYPE, "keys must be strings", path=path)
            sub = join(path, key)
            if key in BYTES_FIELDS and isinstance(item, str):
                if _HEX.fullmatch(item) is None:
                    raise InputError(
                        ReasonCode.BAD_FORMAT, "must be lower-case hex of whole bytes", path=sub
                    )
                out[key] = bytes.fromhex(item)
            else:
                out[key] = _from_json(item, sub, depth + 1)
        return out
    raise InputError(ReasonCode.UNSUPPORTED_TYPE, f"{type(obj).__name__} not allowed", path=path)
