"""Seizure notices: fields, nominal section, conveyance, route, and their refusals."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from notice_examples import SEIZURE

from baliza.protocol.canonical import encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.notices import (
    Conveyance,
    Nominal,
    Person,
    PersonRole,
    Route,
    SeizureNotice,
    Vehicle,
    Vessel,
    decode_notice,
    notice_from_json,
    notice_to_json,
)

R = ReasonCode


def refused_json(obj: dict[str, Any], reason: ReasonCode, path: str) -> InputError:
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert info.value.reason is reason, info.value
    assert info.value.path == path
    # The wire gives the same answer as the JSON form.
    with pytest.raises(InputError) as wire:
        decode_notice(encode(_wire(obj)))
    assert (wire.value.reason, wire.value.path) == (reason, path)
    return info.value


def _wire(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: bytes.fromhex(v) if k == "sha256" else _wire(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_wire(v) for v in obj]
    return obj


def base() -> dict[str, Any]:
    return copy.deepcopy(notice_to_json(SEIZURE))


def test_round_trip_of_the_example() -> None:
    assert notice_from_json(base()) == SEIZURE
    assert base()["kind"] == "notice.seizure" and base()["v"] == 1


def test_nominal_data_is_a_separate_section() -> None:
    obj = base()
    assert set(obj["nominal"]) == {"companies", "documents"}
    assert "companies" not in obj and "persons" not in obj


def test_quantity_path_in_errors() -> None:
    obj = base()
    obj["commodities"][1]["quantity"]["amount"] = 0
    err = refused_json(obj, R.OUT_OF_RANGE, "commodities[1].quantity.amount")
    assert str(err) == "commodities[1].quantity.amount: must be a positive integer"


def test_lower_case_container_refused() -> None:
    obj = base()
    obj["conveyance"]["container"] = "csqu3054383"
    refused_json(obj, R.BAD_CONTAINER, "conveyance.container")


def test_bad_check_digits_refused() -> None:
    obj = base()
    obj["conveyance"]["container"] = "CSQU3054384"
    err = refused_json(obj, R.BAD_CONTAINER, "conveyance.container")
    assert "check digit is 3, not 4 (ISO 6346)" in str(err)
    obj = base()
    obj["conveyance"]["vessel"]["imo"] = "9074728"
    refused_json(obj, R.BAD_IMO, "conveyance.vessel.imo")


def test_route_codes_checked() -> None:
    obj = base()
    obj["route"]["transit"][0] = {"locode": "XXCTG"}
    refused_json(obj, R.BAD_LOCODE, "route.transit[0].locode")


def test_company_country_checked() -> None:
    obj = base()
    obj["nominal"]["companies"][1]["country"] = "UK"
    refused_json(obj, R.BAD_COUNTRY, "nominal.companies[1].country")


def test_unknown_missing_and_empty() -> None:
    obj = base()
    obj["colour"] = "red"
    refused_json(obj, R.UNKNOWN_FIELD, "colour")
    obj = base()
    del obj["location"]
    refused_json(obj, R.MISSING_FIELD, "location")
    obj = base()
    obj["commodities"] = []
    refused_json(obj, R.BAD_LENGTH, "commodities")
    obj = base()
    obj["requests"] = []  # an empty list is omitted, never sent
    refused_json(obj, R.BAD_LENGTH, "requests")


def test_unknown_version_and_wrong_types() -> None:
    obj = base()
    obj["v"] = 2
    err = refused_json(obj, R.UNKNOWN_VERSION, "v")
    assert isinstance(err, VersionError)
    obj = base()
    obj["seized_ms"] = "yesterday"
    refused_json(obj, R.WRONG_TYPE, "seized_ms")
    obj = base()
    obj["transport"] = "teleport"
    refused_json(obj, R.BAD_ENUM, "transport")


def test_case_ref_format() -> None:
    obj = base()
    obj["case_ref"] = "ec 2026"
    refused_json(obj, R.BAD_FORMAT, "case_ref")


def test_duplicate_attachment_and_request() -> None:
    obj = base()
    obj["attachments"].append(dict(obj["attachments"][0]))
    refused_json(obj, R.DUPLICATE_KEY, "attachments")
    obj = base()
    obj["requests"].append({"action": "share_outcome"})
    refused_json(obj, R.DUPLICATE_KEY, "requests")


def test_conveyance_rules() -> None:
    with pytest.raises(InputError) as info:
        Conveyance()
    assert info.value.reason is R.MISSING_FIELD
    with pytest.raises(InputError) as info:
        Conveyance(flight="IB6454", seals=("S1",))
    assert (info.value.reason, info.value.path) == (R.INCONSISTENT, "seals")
    with pytest.raises(InputError) as info:
        Conveyance(vehicle=Vehicle(plate="ab 123"))
    assert info.value.path == "plate"
    with pytest.raises(InputError) as info:
        Vessel()
    assert info.value.reason is R.MISSING_FIELD
    with pytest.raises(InputError):
        Route()
    assert Conveyance(awb="020-12345675").awb == "020-12345675"


def test_person_rules() -> None:
    person = Person(role=PersonRole.COURIER, family_name="Doe", birth_date="1985-02-28")
    with pytest.raises(InputError) as info:
        replace(person, birth_date="1985-02-30")
    assert (info.value.reason, info.value.path) == (R.BAD_FORMAT, "birth_date")
    with pytest.raises(InputError) as info:
        replace(person, birth_date="19850228")
    assert info.value.path == "birth_date"
    with pytest.raises(InputError) as info:
        replace(person, nationality="XK")
    assert info.value.reason is R.BAD_COUNTRY
    with pytest.raises(InputError) as info:
        Nominal()
    assert info.value.reason is R.MISSING_FIELD


def test_direct_construction_validates() -> None:
    with pytest.raises(InputError) as info:
        replace(SEIZURE, commodities=())
    assert (info.value.reason, info.value.path) == (R.BAD_LENGTH, "commodities")
    with pytest.raises(InputError) as info:
        replace(SEIZURE, seized_ms=-1)
    assert info.value.path == "seized_ms"
    assert SeizureNotice.kind.value == "notice.seizure"
