"""References, summaries, search text, location and programme."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from notice_examples import ALERT, CASE, CORRECTION, OUTCOME, RECEIPT, RETRACTION, SEIZURE

from baliza.protocol.notices import (
    Company,
    CompanyRole,
    Nominal,
    notice_location,
    notice_programme,
    notice_refs,
    notice_search_text,
    notice_summary,
)
from baliza.protocol.notices.index import MAX_SUMMARY, notice_facets
from baliza.protocol.notices.refs import FACET_TYPES, fold, normalise_name


def test_seizure_refs() -> None:
    assert notice_refs(SEIZURE) == [
        ("case", "EC-2026/0042"),
        ("company", "FRUIT IMPORT"),
        ("company", "FRUTAS DEL PACIFICO"),
        ("container", "CSQU3054383"),
        ("document", "MEDUEC123456"),
        ("vessel", "IMO9074729"),
    ]


def test_alert_refs_include_person_and_passport() -> None:
    refs = notice_refs(ALERT)
    assert ("flight", "IB6454 2026-01-01") in refs  # a flight on a day
    assert ("document", "CO:AB123456") in refs
    assert ("person", "PEREZ GOMEZ JUAN CARLOS 1990-04-12") in refs


def test_company_names_meet_across_spellings() -> None:
    assert normalise_name("Frutas del Pacífico S.A.") == normalise_name("FRUTAS DEL PACIFICO SA")
    assert normalise_name("Acme Ltd") == "ACME"
    assert normalise_name("Ltd") == "LTD"  # a name is never reduced to nothing
    other = replace(
        SEIZURE,
        nominal=Nominal(
            companies=(Company(role=CompanyRole.SHIPPER, name="frutas del pacifico, s.a."),)
        ),
    )
    assert set(notice_refs(SEIZURE)) & set(notice_refs(other)) >= {
        ("company", "FRUTAS DEL PACIFICO")
    }


def test_correction_refs_are_those_of_the_replacement() -> None:
    assert notice_refs(CORRECTION) == notice_refs(CORRECTION.notice)
    assert notice_refs(RECEIPT) == [] and notice_refs(OUTCOME) == []


def test_summaries() -> None:
    assert notice_summary(SEIZURE) == (
        "seizure 2026-01-01 ECGYE [ccp]: cocaine 1250 kg, currency 4500000 minor USD "
        "via CSQU3054383, IMO9074729"
    )
    assert (
        notice_summary(ALERT)
        == "alert PTY->MAD [aircop]: passenger IB6454 expected 2026-01-01 10:00Z"
    )
    assert notice_summary(CASE).startswith("case JIT-CO-ES-2026/07 [active]")
    assert notice_summary(RETRACTION).startswith("retraction of ")
    long_case = replace(CASE, title="x" * 200)
    assert len(notice_summary(long_case)) == MAX_SUMMARY


def test_search_text() -> None:
    text = notice_search_text(SEIZURE)
    # Folded (case, accents) so both engines search it alike.
    assert "contenedor de banano" in text
    assert "csqu3054383" in text and "frutas del pacifico" in text
    assert "ecgye" in text  # places and categories are words too
    assert "notice.seizure" not in text
    assert text == fold(text)


def test_facets_name_every_place_of_the_route_and_each_category() -> None:
    facets = notice_facets(SEIZURE)
    assert ("location", "ECGYE") in facets
    assert ("commodity", "cocaine") in facets
    assert all(t in FACET_TYPES for t, _ in facets)
    assert notice_facets(CORRECTION) == notice_facets(CORRECTION.notice)


def test_location_and_programme() -> None:
    assert notice_location(SEIZURE) == "ECGYE"
    assert notice_location(ALERT) == "MAD"
    assert notice_location(CORRECTION) == "ECGYE"
    assert notice_location(RECEIPT) is None
    assert notice_programme(SEIZURE) == "ccp"
    assert notice_programme(CASE) == "jit"
    assert notice_programme(CORRECTION) == "ccp"
    assert notice_programme(OUTCOME) is None


def _fold_by_definition(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


@given(st.text(max_size=80))
def test_fold_is_its_definition(text: str) -> None:
    # ASCII and non-ASCII runs take different paths; the result is the one rule.
    assert fold(text) == _fold_by_definition(text)
    assert fold("Cocaína HÉROÏNE Ærø ﬁ") == _fold_by_definition("Cocaína HÉROÏNE Ærø ﬁ")
