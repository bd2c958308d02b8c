"""Notices as STIX 2.1: every bundle checked by OASIS's own validator, and what may leave.

The validator runs strict (warnings are errors) except for check 103, which
asks UUIDv4 of every id: STIX 2.1 §2.9 itself asks UUIDv5 of observables,
so that one warning is the validator disagreeing with the standard.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from notice_json import alert_notice
from stix2validator import ValidationOptions, validate_instance

from baliza.node.exchange.stix import (
    TLP2_MARKING_IDS,
    ExportedNotice,
    bundle,
    notice_objects,
    observable_id,
)
from baliza.protocol.handling import Handling, HandlingCode, Tlp
from baliza.protocol.notices import notice_from_json, notice_refs

NOW = 1_796_000_000_000
GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"
CONTAINER = "MSCU1234566"


def seizure_json(**extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": ALG},
        "seized_ms": NOW - 3_600_000,
        "location": {"locode": "ESALG"},
        "transport": "sea",
        "commodities": [{"category": "cocaine", "quantity": {"amount": 25_000, "unit": "g"}}],
        "conveyance": {"container": CONTAINER, "vessel": {"imo": "9074729"}},
        "text": {"lang": "en", "text": "Holdalls behind the doors."},
        **extra,
    }


def alert_json() -> dict[str, Any]:
    return alert_notice(GYE, CONTAINER, NOW + 86_400_000)


NOMINAL = {
    "companies": [{"role": "consignee", "name": "Frutas del Sur SL"}],
    "persons": [
        {
            "role": "driver",
            "family_name": "García López",
            "given_names": "Juan",
            "documents": [{"type": "passport", "number": "X1234567", "country": "ES"}],
        }
    ],
}


def exported(
    notice: dict[str, Any],
    *,
    eid: str = "01937a3c-0000-7000-8000-000000000001",
    tlp: Tlp = Tlp.AMBER,
    codes: tuple[HandlingCode, ...] = (),
    restrictions: str | None = None,
    supersedes: str | None = None,
    created_ms: int = NOW,
) -> ExportedNotice:
    decoded = notice_from_json(notice)
    return ExportedNotice(
        envelope_id=eid,
        kind=notice["kind"],
        sender=notice.get("unit", {}).get("agency", ALG),
        created_ms=created_ms,
        summary=f"{notice['kind']} {eid}",
        handling=Handling(tlp=tlp, codes=codes, restrictions=restrictions),
        refs=tuple(notice_refs(decoded)),
        notice=decoded,
        supersedes=supersedes,
    )


def assert_valid(stix: dict[str, Any]) -> None:
    options = ValidationOptions(version="2.1", strict=True, disabled=["103"])
    result = validate_instance(json.loads(json.dumps(stix)), options)
    problems = [str(m) for m in (*result.errors, *(result.warnings or []))]
    assert result.is_valid and not problems, problems


def by_type(stix: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in stix["objects"] if o["type"] == kind]


def test_a_seizure_is_a_report_of_its_observables_under_its_markings() -> None:
    item = exported(
        seizure_json(), codes=(HandlingCode.H1, HandlingCode.H3), restrictions="not before March"
    )
    stix = bundle([item])
    assert_valid(stix)
    (report,) = by_type(stix, "report")
    containers = by_type(stix, "baliza-container")
    vessels = by_type(stix, "baliza-vessel")
    assert [c["value"] for c in containers] == [CONTAINER]
    assert len(vessels) == 1 and vessels[0]["value"].endswith("9074729")
    assert {containers[0]["id"], vessels[0]["id"]} <= set(report["object_refs"])
    assert report["description"] == "Holdalls behind the doors."
    assert report["external_references"][0] == {
        "source_name": "baliza",
        "external_id": item.envelope_id,
    }
    # The handling travels on every object that can carry it: TLP 2.0 and a statement.
    (statement,) = [m for m in by_type(stix, "marking-definition") if "definition" in m]
    assert statement["definition"]["statement"] == (
        "Handling code H1; Handling code H3; Restrictions: not before March"
    )
    marked = [o for o in stix["objects"] if o["type"] in {"report", "indicator", "note"}]
    assert marked
    for obj in marked:
        assert obj["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.AMBER], statement["id"]]


@pytest.mark.parametrize("tlp", list(Tlp))
def test_each_tlp_is_the_oasis_tlp_2_marking(tlp: Tlp) -> None:
    stix = bundle([exported(seizure_json(), tlp=tlp)])
    assert_valid(stix)
    (marking,) = by_type(stix, "marking-definition")
    assert marking["id"] == TLP2_MARKING_IDS[tlp]
    assert marking["name"] == f"TLP:{tlp.value.upper()}"


def test_nominal_data_leaves_only_when_asked() -> None:
    item = exported(seizure_json(nominal=NOMINAL))
    without = bundle([item])
    assert_valid(without)
    assert by_type(without, "identity") == by_type(bundle([exported(seizure_json())]), "identity")
    text = json.dumps(without)
    assert "García" not in text and "Frutas" not in text and "X1234567" not in text
    with_nominal = bundle([item], nominal=True)
    assert_valid(with_nominal)
    people = {o["name"]: o["identity_class"] for o in by_type(with_nominal, "identity")}
    assert people == {
        ALG: "organization",
        "Frutas del Sur SL": "organization",
        "Juan García López": "individual",
    }
    (document,) = by_type(with_nominal, "baliza-identity-document")
    assert document["value"] == "ES:X1234567"


def test_an_alert_becomes_indicators_valid_until_a_day_after_arrival() -> None:
    stix = bundle([exported(alert_json())])
    assert_valid(stix)
    (indicator,) = by_type(stix, "indicator")
    assert indicator["pattern"] == f"[baliza-container:value = '{CONTAINER}']"
    assert indicator["valid_until"] > indicator["valid_from"]
    (report,) = by_type(stix, "report")
    assert report["report_types"] == ["indicator"] and indicator["id"] in report["object_refs"]


def test_the_same_notice_gives_the_same_objects_and_one_container_one_observable() -> None:
    first = exported(seizure_json())
    other = replace(exported(alert_json()), envelope_id="01937a3c-0000-7000-8000-000000000002")
    assert bundle([first]) == bundle([first])
    both = bundle([first, other])
    assert_valid(both)
    assert len(by_type(both, "baliza-container")) == 1
    assert by_type(both, "baliza-container")[0]["id"] == observable_id(
        "baliza-container", CONTAINER
    )
    assert len(by_type(both, "report")) == 2


def test_a_correction_is_a_new_version_and_a_retraction_revokes() -> None:
    original = exported(seizure_json())
    correction = exported(
        {
            "v": 1,
            "kind": "notice.correction",
            "supersedes": original.envelope_id,
            "reason": "Wrong weight",
            "notice": seizure_json(),
        },
        eid="01937a3c-0000-7000-8000-000000000003",
        supersedes=original.envelope_id,
        created_ms=NOW + 60_000,
    )
    retraction = exported(
        {
            "v": 1,
            "kind": "notice.retraction",
            "supersedes": original.envelope_id,
            "reason": "Entered twice",
        },
        eid="01937a3c-0000-7000-8000-000000000004",
        supersedes=original.envelope_id,
        created_ms=NOW + 120_000,
    )
    reports = [by_type(bundle([i]), "report")[0] for i in (original, correction, retraction)]
    assert len({r["id"] for r in reports}) == 1
    assert reports[0]["modified"] < reports[1]["modified"] < reports[2]["modified"]
    assert reports[1]["description"].startswith("Corrected by the sender (Wrong weight)")
    assert reports[2]["revoked"] is True and "revoked" not in reports[0]
    everything = bundle([original, correction, retraction])
    assert_valid(everything)
    assert len(by_type(everything, "report")) == 3  # three versions of one report


def test_an_outcome_is_a_note_on_the_alerts_report() -> None:
    alert = exported(alert_json())
    outcome = exported(
        {
            "v": 1,
            "kind": "notice.outcome",
            "alert": alert.envelope_id,
            "result": "negative",
            "at_ms": NOW + 86_400_000,
        },
        eid="01937a3c-0000-7000-8000-000000000005",
    )
    stix = bundle([alert, outcome])
    assert_valid(stix)
    (note,) = by_type(stix, "note")
    (report,) = by_type(stix, "report")
    assert note["object_refs"] == [report["id"]]


def test_every_object_of_a_notice_lists_shared_definitions_first() -> None:
    objects = notice_objects(exported(seizure_json()))
    assert objects[0]["type"] == "identity" and objects[-1]["type"] == "report"
