"""Pre-arrival alerts and alert outcomes."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from notice_examples import ALERT, OUTCOME, eid

from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import (
    OutcomeResult,
    RiskIndicator,
    Subject,
    SubjectType,
    notice_from_json,
    notice_to_json,
)

R = ReasonCode


def refused_json(obj: dict[str, Any], reason: ReasonCode, path: str) -> None:
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (reason, path), info.value


def test_round_trips() -> None:
    assert notice_from_json(notice_to_json(ALERT)) == ALERT
    assert notice_from_json(notice_to_json(OUTCOME)) == OUTCOME


@pytest.mark.parametrize(
    ("kind", "needed"),
    [
        (SubjectType.CONTAINER, "container"),
        (SubjectType.FLIGHT, "flight"),
        (SubjectType.PASSENGER, "flight"),
        (SubjectType.VESSEL, "vessel"),
    ],
)
def test_subject_needs_its_identifier(kind: SubjectType, needed: str) -> None:
    with pytest.raises(InputError) as info:
        Subject(type=kind)
    assert (info.value.reason, info.value.path) == (R.MISSING_FIELD, needed)


def test_passenger_alert_names_the_passenger() -> None:
    with pytest.raises(InputError) as info:
        replace(ALERT, nominal=None)
    assert (info.value.reason, info.value.path) == (R.MISSING_FIELD, "nominal")


def test_subject_codes_checked() -> None:
    obj = copy.deepcopy(notice_to_json(ALERT))
    obj["subject"]["flight"] = "IB06454"
    refused_json(obj, R.BAD_FLIGHT, "subject.flight")
    obj = copy.deepcopy(notice_to_json(ALERT))
    obj["origin"] = {"airport": "ZZZ"}
    refused_json(obj, R.BAD_AIRPORT, "origin.airport")


def test_indicators_sorted_and_unique() -> None:
    with pytest.raises(InputError) as info:
        replace(ALERT, indicators=(RiskIndicator.TRAVEL_PATTERN, RiskIndicator.TICKET))
    assert (info.value.reason, info.value.path) == (R.NON_CANONICAL, "indicators")
    obj = copy.deepcopy(notice_to_json(ALERT))
    obj["indicators"] = ["ticket", "ticket"]
    refused_json(obj, R.NON_CANONICAL, "indicators")


def test_passport_path_in_nominal() -> None:
    obj = copy.deepcopy(notice_to_json(ALERT))
    obj["nominal"]["persons"][0]["documents"][0]["country"] = "ZZ"
    refused_json(obj, R.BAD_COUNTRY, "nominal.persons[0].documents[0].country")
    obj = copy.deepcopy(notice_to_json(ALERT))
    obj["nominal"]["persons"][0]["documents"][0]["number"] = "ab123"
    refused_json(obj, R.BAD_FORMAT, "nominal.persons[0].documents[0].number")


def test_outcome_seizure_link() -> None:
    with pytest.raises(InputError) as info:
        replace(OUTCOME, seizure=None)
    assert (info.value.reason, info.value.path) == (R.INCONSISTENT, "seizure")
    with pytest.raises(InputError):
        replace(OUTCOME, result=OutcomeResult.NEGATIVE)
    assert replace(OUTCOME, result=OutcomeResult.NEGATIVE, seizure=None).seizure is None
    obj = copy.deepcopy(notice_to_json(OUTCOME))
    obj["alert"] = "not-an-id"
    refused_json(obj, R.BAD_ENVELOPE_ID, "alert")
    obj = copy.deepcopy(notice_to_json(OUTCOME))
    obj["seizure"] = eid(3).upper()
    refused_json(obj, R.BAD_ENVELOPE_ID, "seizure")
