"""Case notices."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from notice_examples import CASE, eid

from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import notice_from_json, notice_to_json

R = ReasonCode


def test_round_trip() -> None:
    assert notice_from_json(notice_to_json(CASE)) == CASE


def test_linked_notices_sorted_unique_and_valid() -> None:
    with pytest.raises(InputError) as info:
        replace(CASE, linked=(eid(4), eid(1)))
    assert (info.value.reason, info.value.path) == (R.NON_CANONICAL, "linked")
    obj = copy.deepcopy(notice_to_json(CASE))
    obj["linked"][1] = "x"
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (R.BAD_ENVELOPE_ID, "linked[1]")


def test_offences_and_tasks() -> None:
    obj = copy.deepcopy(notice_to_json(CASE))
    obj["offences"] = ["drug_trafficking", "jaywalking"]
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (R.BAD_ENUM, "offences[1]")
    with pytest.raises(InputError) as info:
        replace(CASE, tasks=CASE.tasks * 2)
    assert (info.value.reason, info.value.path) == (R.DUPLICATE_KEY, "tasks")
    obj = copy.deepcopy(notice_to_json(CASE))
    obj["tasks"][0]["assignee"] = "NL.FIOD"
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (R.BAD_AGENCY_ID, "tasks[0].assignee")


def test_status_enum() -> None:
    obj = copy.deepcopy(notice_to_json(CASE))
    obj["status"] = "archived"
    with pytest.raises(InputError) as info:
        notice_from_json(obj)
    assert (info.value.reason, info.value.path) == (R.BAD_ENUM, "status")
