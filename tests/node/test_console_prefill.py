"""A sent notice back into its form and out again is the same notice.

The correction form starts from the fields ``prefill`` puts back; built
again by the same builders as a new notice, each example notice (one per
kind the forms publish) comes out as it went in, and nothing is reported
lost. A notice with more than the form holds names what it would lose.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from baliza.node.console.case_forms import KIND_OF_FORM, NOTICES
from baliza.node.console.prefill import fields_of, lost_fields
from baliza.protocol.notices import notice_from_written_json, notice_to_json

IDS = {
    "SEIZURE_ID": "01a23082-480c-7ff6-938b-8035fe379333",
    "ALERT_ID": "01a23082-480c-7ff6-938b-8035fe379334",
}


def example(name: str) -> dict[str, Any]:
    raw = resources.files("baliza.examples").joinpath(f"{name}.json").read_text("utf-8")
    for placeholder, value in IDS.items():
        raw = raw.replace(placeholder, value)
    return notice_to_json(notice_from_written_json(json.loads(raw)))


@pytest.mark.parametrize(
    "name", ["alert", "seizure-seaport", "seizure-air-courier", "case", "outcome"]
)
def test_an_example_goes_through_its_form_unchanged(name: str) -> None:
    sent = example(name)
    values, lists = fields_of(sent)
    builder = NOTICES[KIND_OF_FORM[sent["kind"]]]
    lang = sent.get("text", {}).get("lang", "en")
    agency = sent.get("unit", {}).get("agency", "")
    refilled = builder(values, lists, agency, lang)
    assert lost_fields(sent, refilled) == []
    assert notice_to_json(notice_from_written_json(refilled)) == sent


def test_what_the_form_cannot_hold_is_named() -> None:
    sent = example("seizure-seaport")
    sent["commodities"].append({"category": "cannabis", "quantity": {"amount": 3, "unit": "g"}})
    values, lists = fields_of(sent)
    refilled = NOTICES["seizure"](values, lists, sent["unit"]["agency"], "es")
    assert lost_fields(sent, refilled) == [
        "commodities[1].category",
        "commodities[1].quantity.amount",
        "commodities[1].quantity.unit",
    ]
