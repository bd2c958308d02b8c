"""Envelope shape parsing: exact bytes kept, every malformation refused with a path."""

from __future__ import annotations

from dataclasses import replace

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baliza.protocol.canonical import Value, decode, encode
from baliza.protocol.envelope import Envelope, Header, KeyEntry, MessageKind, parse_envelope
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, KeyId, make_envelope_id

R = ReasonCode
EID = make_envelope_id(1_767_225_600_000, bytes(range(10)))
HEADER = Header(
    id=EID,
    kind=MessageKind.SEIZURE,
    sender=AgencyId("ec.senae.gye"),
    sender_key=KeyId(b"\x01" * 16),
    created_ms=1_767_225_600_000,
    recipients=(AgencyId("co.polfa.ctg"), AgencyId("es.aeat.alg")),
    handling=Handling(tlp=Tlp.AMBER),
    suite="hybrid-v1",
    key_commitment=b"\x02" * 32,
)
KEYS = (KeyEntry(kid=KeyId(b"\x03" * 16), wrapped=b"w" * 40),)
BODY = b"b" * 32
SIGS = {"ed25519": b"s" * 64}


def build(header: Value | None = None, **outer: Value) -> bytes:
    header_bytes = encode(header if header is not None else HEADER.to_wire())
    signed = Envelope.signed_part(header_bytes, KEYS, BODY)
    fields: dict[str, Value] = {"v": 1, "signed": signed, "sig": dict(SIGS)}
    fields.update(outer)
    return encode(fields)


def refused(data: bytes, reason: ReasonCode, path: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_envelope(data)
    assert info.value.reason is reason, info.value
    assert info.value.path == path
    return info.value


def test_assemble_and_parse_keep_exact_bytes() -> None:
    env = Envelope.assemble(HEADER.to_bytes(), KEYS, BODY, SIGS)
    again = parse_envelope(env.raw)
    assert again.header == HEADER
    assert again.header_bytes == HEADER.to_bytes()
    assert again.keys == KEYS and again.body == BODY and dict(again.signatures) == SIGS
    assert again.id == EID


def test_unknown_envelope_version() -> None:
    err = refused(build(v=2), R.UNKNOWN_VERSION, "v")
    assert isinstance(err, VersionError)


def test_unknown_outer_field() -> None:
    refused(build(extra=1), R.UNKNOWN_FIELD, "extra")


def test_unknown_header_version() -> None:
    header = HEADER.to_wire() | {"v": 7}
    refused(build(header), R.UNKNOWN_VERSION, "header.v")


def test_unknown_header_field() -> None:
    refused(build(HEADER.to_wire() | {"zzz": 1}), R.UNKNOWN_FIELD, "header.zzz")


def test_non_canonical_header_bytes() -> None:
    header_bytes = msgpack.packb(dict(reversed(list(sorted(HEADER.to_wire().items())))))
    signed = Envelope.signed_part(header_bytes, KEYS, BODY)
    data = encode({"v": 1, "signed": signed, "sig": SIGS})
    refused(data, R.NON_CANONICAL, "header")


def test_bad_agency_in_recipients() -> None:
    header = HEADER.to_wire() | {"recipients": ["co.polfa.ctg", "XX.bad"]}
    refused(build(header), R.BAD_AGENCY_ID, "header.recipients[1]")


def test_recipients_and_channel_are_exclusive() -> None:
    with pytest.raises(InputError) as info:
        replace(HEADER, recipients=())
    assert info.value.reason is R.INCONSISTENT


def test_duplicate_key_ids() -> None:
    header_bytes = HEADER.to_bytes()
    signed = Envelope.signed_part(header_bytes, KEYS + KEYS, BODY)
    data = encode({"v": 1, "signed": signed, "sig": SIGS})
    refused(data, R.DUPLICATE_KEY, "signed.keys")


def test_missing_signatures_and_too_many() -> None:
    refused(build(sig={}), R.BAD_LENGTH, "sig")
    many: Value = {f"a{i}": b"s" for i in range(5)}
    refused(build(sig=many), R.BAD_LENGTH, "sig")


def test_short_body() -> None:
    signed = Envelope.signed_part(HEADER.to_bytes(), KEYS, b"x")
    refused(encode({"v": 1, "signed": signed, "sig": SIGS}), R.BAD_LENGTH, "signed.body")


def test_trailing_bytes_after_envelope() -> None:
    refused(build() + b"\x00", R.TRAILING_BYTES, "")


def test_float_and_nil_in_header() -> None:
    header = HEADER.to_wire()
    raw = msgpack.packb({k: (1.5 if k == "created_ms" else header[k]) for k in sorted(header)})
    signed = Envelope.signed_part(raw, KEYS, BODY)
    refused(
        encode({"v": 1, "signed": signed, "sig": SIGS}),
        R.FLOAT_FORBIDDEN,
        "header.created_ms",
    )


def test_non_nfc_in_header() -> None:
    header = HEADER.to_wire()
    raw = msgpack.packb(
        {k: ("hybrid-\u0065\u0301" if k == "suite" else header[k]) for k in sorted(header)}
    )
    signed = Envelope.signed_part(raw, KEYS, BODY)
    refused(encode({"v": 1, "signed": signed, "sig": SIGS}), R.NOT_NFC, "header.suite")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_envelopes_raise_only_input_error(data: st.DataObject) -> None:
    raw = bytearray(build())
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        env = parse_envelope(bytes(raw))
    except InputError:
        return
    assert decode(env.raw) is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_input_error(data: bytes) -> None:
    with pytest.raises(InputError):
        parse_envelope(data)
