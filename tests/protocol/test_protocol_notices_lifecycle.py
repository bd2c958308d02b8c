"""Receipts, corrections and retractions."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from notice_examples import CORRECTION, RECEIPT, RETRACTION, SEIZURE

from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.notices import (
    Correction,
    decode_notice,
    encode_notice,
    notice_from_json,
    notice_to_json,
)

R = ReasonCode


@pytest.mark.parametrize("notice", [CORRECTION, RECEIPT, RETRACTION])
def test_round_trips(notice: Correction) -> None:
    assert decode_notice(encode_notice(notice)) == notice
    assert notice_from_json(notice_to_json(notice)) == notice


def test_correction_carries_a_full_notice_with_its_own_version_and_kind() -> None:
    obj = notice_to_json(CORRECTION)
    inner = obj["notice"]
    assert isinstance(inner, dict)
    assert inner["kind"] == "notice.seizure" and inner["v"] == 1


def test_correction_errors_point_inside_the_replacement() -> None:
    obj = copy.deepcopy(notice_to_json(CORRECTION))
    obj["notice"]["commodities"][0]["quantity"]["unit"] = "kg"
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (
        R.BAD_ENUM,
        "notice.commodities[0].quantity.unit",
    )
    obj = copy.deepcopy(notice_to_json(CORRECTION))
    obj["notice"]["v"] = 9
    with pytest.raises(VersionError) as vinfo:
        notice_from_json(obj)
    assert vinfo.value.path == "notice.v"


def test_receipts_and_retractions_cannot_be_corrected() -> None:
    obj = copy.deepcopy(notice_to_json(CORRECTION))
    obj["notice"] = notice_to_json(RECEIPT)
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (R.UNKNOWN_KIND, "notice.kind")
    with pytest.raises(InputError):
        Correction(supersedes=CORRECTION.supersedes, reason="x", notice=RECEIPT)  # type: ignore[arg-type]


def test_receipt_status_and_time() -> None:
    obj = notice_to_json(RECEIPT) | {"status": "ignored"}
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (R.BAD_ENUM, "status")
    with pytest.raises(InputError) as info:
        replace(RECEIPT, at_ms=2**60)
    assert info.value.path == "at_ms"


def test_retraction_needs_a_reason() -> None:
    with pytest.raises(InputError) as info:
        replace(RETRACTION, reason="")
    assert (info.value.reason, info.value.path) == (R.BAD_LENGTH, "reason")
    assert CORRECTION.notice != SEIZURE
