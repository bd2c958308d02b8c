"""Canonical MessagePack: round trips, and each refusal with its reason code."""

from __future__ import annotations

import unicodedata

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode

R = ReasonCode

scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(max_size=20).map(lambda s: unicodedata.normalize("NFC", s))
    | st.binary(max_size=20)
)
values: st.SearchStrategy[Value] = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=6).map(lambda s: unicodedata.normalize("NFC", s)), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_round_trip(value: Value) -> None:
    data = encode(value)
    assert decode(data) == value
    assert encode(decode(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_input_error(data: bytes) -> None:
    try:
        value = decode(data)
    except InputError:
        return
    assert encode(value) == data


@settings(max_examples=300, deadline=None)
@given(values, st.data())
def test_mutated_bytes_raise_only_input_error_or_stay_canonical(
    value: Value, data: st.DataObject
) -> None:
    raw = bytearray(encode(value))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] = data.draw(st.integers(0, 255))
    try:
        decoded = decode(bytes(raw))
    except InputError:
        return
    assert encode(decoded) == bytes(raw)


def refused(data: bytes, reason: ReasonCode, path: str = "", limits: Limits | None = None) -> None:
    with pytest.raises(InputError) as info:
        decode(data) if limits is None else decode(data, limits)
    assert info.value.reason is reason, info.value
    assert info.value.path == path


def test_map_keys_are_sorted_on_encode() -> None:
    assert encode({"b": 1, "a": 2}) == b"\x82\xa1a\x02\xa1b\x01"


def test_overlong_integer_is_non_canonical() -> None:
    refused(b"\xcc\x05", R.NON_CANONICAL)  # 5 as uint8 instead of a fixint
    refused(b"\xd1\x00\x01", R.NON_CANONICAL)  # 1 as int16


def test_overlong_string_header_is_non_canonical() -> None:
    refused(b"\xd9\x01a", R.NON_CANONICAL)  # str8 for a 1-byte string


def test_unsorted_keys_are_non_canonical() -> None:
    refused(b"\x82\xa1b\x01\xa1a\x02", R.NON_CANONICAL)


def test_duplicate_keys_are_refused_with_path() -> None:
    refused(b"\x81\xa1x\x82\xa1a\x01\xa1a\x02", R.DUPLICATE_KEY, "x")


def test_trailing_bytes() -> None:
    refused(b"\x01\x02", R.TRAILING_BYTES)


def test_floats_forbidden_with_path() -> None:
    refused(msgpack.packb({"q": 1.5}), R.FLOAT_FORBIDDEN, "q")
    refused(msgpack.packb([1.0], use_single_float=True), R.FLOAT_FORBIDDEN, "[0]")


def test_nil_forbidden() -> None:
    refused(msgpack.packb({"a": None}), R.UNSUPPORTED_TYPE, "a")


def test_ext_types_refused() -> None:
    with pytest.raises(InputError):
        decode(msgpack.packb(msgpack.ExtType(1, b"x")))


def test_non_nfc_string_refused_on_decode_and_encode() -> None:
    decomposed = "Bogota\u0301"
    refused(msgpack.packb({"city": decomposed}), R.NOT_NFC, "city")
    with pytest.raises(InputError) as info:
        encode({"city": decomposed})
    assert info.value.reason is R.NOT_NFC


def test_non_string_keys_refused_with_one_code() -> None:
    refused(msgpack.packb({1: 2}), R.WRONG_TYPE)
    refused(msgpack.packb({b"k": 1}, use_bin_type=True), R.WRONG_TYPE)
    refused(bytes.fromhex("81910101"), R.WRONG_TYPE)  # {[1]: 1}
    refused(b"\x81\xc0\x01", R.WRONG_TYPE)  # {nil: 1}
    refused(msgpack.packb({"outer": {2: 1}}), R.WRONG_TYPE, "outer")


def test_non_nfc_map_keys_refused_on_decode_and_encode() -> None:
    refused(bytes.fromhex("81a361cc8101"), R.NOT_NFC)  # {"a\u0301": 1}
    refused(msgpack.packb({"m": {"a\u0301": 1}}), R.NOT_NFC, "m")
    with pytest.raises(InputError) as info:
        encode({"a\u0301": 1})
    assert info.value.reason is R.NOT_NFC
    assert decode(encode({"\u00e1": 1})) == {"\u00e1": 1}


def test_oversize_refused_before_parsing() -> None:
    refused(encode(b"x" * 100), R.TOO_LARGE, limits=Limits(max_size=50))


def test_depth_limit() -> None:
    nested: Value = 1
    for _ in range(6):
        nested = [nested]
    data = encode(nested)
    refused(data, R.TOO_DEEP, "[0][0][0][0]", limits=Limits(max_depth=3))
    assert decode(data, Limits(max_depth=6)) == nested


def test_no_profile_may_nest_deeper_than_the_walk_can_follow() -> None:
    # 1,023 nested arrays parse (the parser's stack holds 1,024); a profile
    # allowing that depth would end the walk in a RecursionError, not a refusal.
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=5000)
    refused(b"\x91" * 1023 + b"\x00", R.TOO_DEEP, "[0]" * 65, limits=Limits(max_depth=64))


def test_unpacker_stack_limit_is_an_input_error() -> None:
    refused(b"\x91" * 5000 + b"\x01", R.TOO_DEEP)


def test_item_limits_without_allocating() -> None:
    refused(b"\xdd\x7f\xff\xff\xff", R.TOO_MANY_ITEMS)  # array claiming 2^31 items
    refused(encode(list(range(10))), R.TOO_MANY_ITEMS, limits=Limits(max_items=5))
    refused(encode("x" * 10), R.TOO_MANY_ITEMS, limits=Limits(max_str=5))


def test_empty_truncated_and_garbage() -> None:
    refused(b"", R.MALFORMED)
    refused(b"\x92\x01", R.MALFORMED)
    refused(b"\xc1", R.MALFORMED)
    refused(b"\xa2\xff\xfe", R.MALFORMED)  # invalid UTF-8


def test_non_bytes_input() -> None:
    with pytest.raises(InputError) as info:
        decode("text")  # type: ignore[arg-type]
    assert info.value.reason is R.WRONG_TYPE


@pytest.mark.parametrize("value", [1.5, None, {1: 2}, 2**64, -(2**63) - 1, object()])
def test_encode_refuses_values_without_canonical_form(value: object) -> None:
    with pytest.raises(InputError):
        encode(value)
