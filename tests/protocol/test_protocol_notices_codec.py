"""Notice encoding: round trips of every kind, and nothing but InputError on junk."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notice_examples import EXAMPLES, SEIZURE
from notice_strategies import notices

from baliza.protocol.canonical import encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.notices import (
    NOTICE_LIMITS,
    Company,
    CompanyRole,
    FreeText,
    Nominal,
    Notice,
    Person,
    PersonRole,
    SeizureNotice,
    decode_notice,
    encode_notice,
    notice_from_json,
    notice_to_json,
)

R = ReasonCode
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)


@SLOW
@given(notices)
def test_wire_round_trip(notice: Notice) -> None:
    data = encode_notice(notice)
    decoded = decode_notice(data)
    assert decoded == notice
    assert encode_notice(decoded) == data


@SLOW
@given(notices)
def test_json_round_trip_through_text(notice: Notice) -> None:
    text = json.dumps(notice_to_json(notice), ensure_ascii=False)
    assert notice_from_json(json.loads(text)) == notice


@SLOW
@given(notices, st.data())
def test_mutated_notice_bytes_raise_only_input_error(notice: Notice, data: st.DataObject) -> None:
    raw = bytearray(encode_notice(notice))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        try:
            decoded = decode_notice(candidate)
        except InputError:
            continue
        assert encode_notice(decoded) == candidate


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_input_error(data: bytes) -> None:
    with pytest.raises(InputError):
        decode_notice(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_raises_only_input_error(obj: object) -> None:
    with pytest.raises(InputError):
        notice_from_json(obj)


@SLOW
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_mutated_json_raises_only_input_error(name: str, data: st.DataObject) -> None:
    obj = notice_to_json(EXAMPLES[name])
    node: object = obj
    # Walk to a random map inside the notice and replace or drop one field.
    while True:
        assert isinstance(node, dict)
        key = data.draw(st.sampled_from(sorted(node)))
        child = node[key]
        if isinstance(child, list) and child and data.draw(st.booleans()):
            child = child[0]
        if isinstance(child, dict) and data.draw(st.booleans()):
            node = child
            continue
        break
    if data.draw(st.booleans()):
        del node[key]
    else:
        node[key] = data.draw(json_values)
    with contextlib.suppress(InputError):
        notice_from_json(obj)


def test_version_is_read_before_kind() -> None:
    with pytest.raises(VersionError) as info:
        decode_notice(encode({"v": 2, "kind": "notice.future"}))
    assert info.value.reason is R.UNKNOWN_VERSION
    with pytest.raises(InputError) as err:
        decode_notice(encode({"v": 1, "kind": "notice.future"}))
    assert (err.value.reason, err.value.path) == (R.UNKNOWN_KIND, "kind")
    with pytest.raises(InputError) as err:
        decode_notice(encode({"kind": "receipt"}))
    assert (err.value.reason, err.value.path) == (R.MISSING_FIELD, "v")
    with pytest.raises(InputError) as err:
        decode_notice(encode([1]))
    assert err.value.reason is R.WRONG_TYPE


def test_json_specific_refusals() -> None:
    obj = notice_to_json(SEIZURE)
    with pytest.raises(InputError) as info:
        notice_from_json(obj | {"seized_ms": 1.0})
    assert (info.value.reason, info.value.path) == (R.FLOAT_FORBIDDEN, "seized_ms")
    with pytest.raises(InputError) as info:
        notice_from_json(obj | {"case_ref": None})
    assert (info.value.reason, info.value.path) == (R.UNSUPPORTED_TYPE, "case_ref")
    attachment = dict(obj["attachments"][0])
    attachment["sha256"] = attachment["sha256"].upper()
    with pytest.raises(InputError) as info:
        notice_from_json(obj | {"attachments": [attachment]})
    assert (info.value.reason, info.value.path) == (R.BAD_FORMAT, "attachments[0].sha256")
    with pytest.raises(InputError):
        notice_from_json("not a map")


def test_json_strings_are_brought_to_nfc() -> None:
    obj = notice_to_json(SEIZURE)
    obj["text"] = {"lang": "es", "text": "Bogota\u0301"}
    notice = notice_from_json(obj)
    assert isinstance(notice, SeizureNotice)
    assert notice.text == FreeText(lang="es", text="Bogotá")


def test_encode_refuses_non_notices_and_oversize() -> None:
    with pytest.raises(InputError):
        encode_notice("notice")  # type: ignore[arg-type]
    wide = "\U0001d11e"  # four bytes in UTF-8
    commodity = replace(SEIZURE.commodities[0], description=wide * 1000, packaging=wide * 200)
    person = Person(role=PersonRole.SUSPECT, family_name=wide * 200, given_names=wide * 200)
    company = Company(role=CompanyRole.OTHER, name=wide * 200, registration=wide * 64)
    notice = replace(
        SEIZURE,
        commodities=(commodity,) * 50,
        nominal=Nominal(persons=(person,) * 100, companies=(company,) * 100),
        text=FreeText(lang="es", text=wide * 8000),
    )
    with pytest.raises(InputError) as info:
        encode_notice(notice)
    assert info.value.reason is R.TOO_LARGE
    smaller = replace(notice, nominal=None)
    assert decode_notice(encode_notice(smaller)) == smaller
    assert len(encode_notice(smaller)) < NOTICE_LIMITS.max_size


def test_examples_cover_every_kind() -> None:
    from baliza.protocol.envelope import MessageKind

    assert {n.kind for n in EXAMPLES.values()} == set(MessageKind)
