"""Identifiers on the wire: agencies, envelopes, keys, channels.

Agency ids read like ``co.polfa.ctg``: an ISO 3166 alpha-2 country, then the
agency, then optional units, lower case, so the country of an agency is never
in doubt. Envelope ids are UUIDv7 (time-ordered, so cursors sort by time) in
their canonical text form. Key ids are the first 16 bytes of a SHA-256 over a
key's canonical public encoding: computing them is the crypto layer's job;
here they are only checked for shape.
"""

from __future__ import annotations

import re
from typing import NewType

import pycountry

from baliza.protocol.errors import InputError, ReasonCode

AgencyId = NewType("AgencyId", str)
EnvelopeId = NewType("EnvelopeId", str)
KeyId = NewType("KeyId", bytes)
ChannelId = NewType("ChannelId", str)

KEY_ID_LEN = 16
_AGENCY = re.compile(r"[a-z]{2}(\.[a-z0-9][a-z0-9-]{0,30}){1,3}")
_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_CHANNEL = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")


def agency_id(raw: object, path: str = "") -> AgencyId:
    """Validate an agency id (``cc.agency[.unit...]``, country first)."""
    if not isinstance(raw, str):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a string", path=path)
    if len(raw) > 100 or _AGENCY.fullmatch(raw) is None:
        raise InputError(
            ReasonCode.BAD_AGENCY_ID,
            "must look like cc.agency.unit: lower case, country code first",
            path=path,
        )
    if pycountry.countries.get(alpha_2=raw[:2].upper()) is None:
        raise InputError(
            ReasonCode.BAD_AGENCY_ID, f"{raw[:2]!r} is not an ISO 3166 country", path=path
        )
    return AgencyId(raw)


def envelope_id(raw: object, path: str = "") -> EnvelopeId:
    """Validate a UUIDv7 envelope id in lower-case canonical text form."""
    if not isinstance(raw, str) or _UUID7.fullmatch(raw) is None:
        raise InputError(ReasonCode.BAD_ENVELOPE_ID, "must be a lower-case UUIDv7", path=path)
    return EnvelopeId(raw)


def key_id(raw: object, path: str = "") -> KeyId:
    """Validate the shape of a key id (16 bytes)."""
    if not isinstance(raw, bytes) or len(raw) != KEY_ID_LEN:
        raise InputError(ReasonCode.BAD_LENGTH, f"must be {KEY_ID_LEN} bytes", path=path)
    return KeyId(raw)


def channel_id(raw: object, path: str = "") -> ChannelId:
    """Validate a channel id (lower case letters, digits, dots and dashes)."""
    if not isinstance(raw, str) or _CHANNEL.fullmatch(raw) is None:
        raise InputError(
            ReasonCode.BAD_FORMAT, "must be a channel id like jit.co-es-2026-07", path=path
        )
    return ChannelId(raw)


def make_envelope_id(now_ms: int, random_bytes: bytes) -> EnvelopeId:
    """Build a UUIDv7 from a Unix time in milliseconds and 10 random bytes.

    The caller supplies time and randomness, so this stays pure and testable.
    """
    if len(random_bytes) < 10:
        raise ValueError("need 10 random bytes")
    value = (now_ms & ((1 << 48) - 1)) << 80
    rand = int.from_bytes(random_bytes[:10], "big")
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 68) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 9562 variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    text = f"{value:032x}"
    return EnvelopeId(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")


def envelope_id_time_ms(eid: EnvelopeId) -> int:
    """The creation time, in Unix milliseconds, embedded in a UUIDv7."""
    return int(eid.replace("-", "")[:12], 16)
