"""Domain codes: real valid and invalid codes, canonical spelling, reason codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baliza.protocol import codes
from baliza.protocol.errors import InputError, ReasonCode

R = ReasonCode


def refused(check: object, raw: object, reason: ReasonCode, *, lenient: bool = False) -> str:
    assert callable(check)
    with pytest.raises(InputError) as info:
        check(raw, "conveyance.x", lenient=lenient)
    assert info.value.reason is reason
    assert info.value.path == "conveyance.x"
    return str(info.value)


@pytest.mark.parametrize("code", ["CO", "EC", "ES", "PA", "NL", "DE"])
def test_countries_accept_iso_3166(code: str) -> None:
    assert codes.country(code) == code


@pytest.mark.parametrize("code", ["XX", "UK", "EU", "co", "COL", "C", ""])
def test_countries_refuse_others(code: str) -> None:
    refused(codes.country, code, R.BAD_COUNTRY)


def test_country_lenient_upper_cases() -> None:
    assert codes.country(" co ", lenient=True) == "CO"


@pytest.mark.parametrize("code", ["ECGYE", "COCTG", "ESALG", "NLRTM", "PAONX", "COBU2"])
def test_locodes_accept_valid_shape(code: str) -> None:
    assert codes.locode(code) == code


@pytest.mark.parametrize("code", ["XXGYE", "ECGY1", "ECGY0", "ECGY", "ECGYEE", "ec gye", "EC GYE"])
def test_locodes_refuse_bad(code: str) -> None:
    refused(codes.locode, code, R.BAD_LOCODE)


def test_locode_names_the_bad_country() -> None:
    assert "'XX' is not an ISO 3166 country" in refused(codes.locode, "XXGYE", R.BAD_LOCODE)


def test_locode_lenient_removes_the_space() -> None:
    assert codes.locode("ec gye", lenient=True) == "ECGYE"


@pytest.mark.parametrize("code", ["PTY", "MAD", "BOG", "LIS", "GRU"])
def test_airports_accept_known(code: str) -> None:
    assert codes.airport(code) == code


@pytest.mark.parametrize("code", ["ZZZ", "QQQ", "pty", "PT", "PTYY", "P1Y"])
def test_airports_refuse_unknown_or_malformed(code: str) -> None:
    refused(codes.airport, code, R.BAD_AIRPORT)


def test_container_valid() -> None:
    assert codes.container("CSQU3054383") == "CSQU3054383"
    assert codes.container("MSCU1234566") == "MSCU1234566"
    # A plausible-looking number with the wrong check digit (ISO 6346).
    refused(codes.container, "MSCU1234565", R.BAD_CONTAINER)


def test_container_check_digit_message_names_the_rule() -> None:
    text = refused(codes.container, "CSQU3054384", R.BAD_CONTAINER)
    assert text == "conveyance.x: check digit is 3, not 4 (ISO 6346)"


@pytest.mark.parametrize("code", ["csqu3054383", "CSQU 305438 3", "CSQU-3054383"])
def test_container_non_canonical_refused_on_the_wire_accepted_leniently(code: str) -> None:
    text = refused(codes.container, code, R.BAD_CONTAINER)
    assert "CSQU3054383" in text
    assert codes.container(code, lenient=True) == "CSQU3054383"


@pytest.mark.parametrize("code", ["CSQX3054383", "CSQ3054383", "CSQU305438", "1SQU3054383"])
def test_container_shape_refused(code: str) -> None:
    refused(codes.container, code, R.BAD_CONTAINER)


def test_imo_valid_and_check_digit() -> None:
    assert codes.imo("9074729") == "9074729"
    text = refused(codes.imo, "9074728", R.BAD_IMO)
    assert text.endswith("check digit is 9, not 8 (IMO number)")


def test_imo_prefix_only_leniently() -> None:
    refused(codes.imo, "IMO9074729", R.BAD_IMO)
    assert codes.imo("IMO 9074729", lenient=True) == "9074729"


@pytest.mark.parametrize("code", ["907472", "90747290", "9O74729"])
def test_imo_shape_refused(code: str) -> None:
    refused(codes.imo, code, R.BAD_IMO)


@pytest.mark.parametrize("code", ["020-12345675", "176-00000011", "045-00000000"])
def test_awb_valid(code: str) -> None:
    assert codes.awb(code) == code


def test_awb_check_digit_is_mod_7() -> None:
    text = refused(codes.awb, "020-12345676", R.BAD_AWB)
    assert text.endswith("check digit is 5, not 6 (IATA mod 7)")


@pytest.mark.parametrize("code", ["02012345675", "020 12345675", "20-12345675", "020-1234567"])
def test_awb_shape_refused_strictly(code: str) -> None:
    refused(codes.awb, code, R.BAD_AWB)


def test_awb_lenient_inserts_the_dash() -> None:
    assert codes.awb("020 1234 5675", lenient=True) == "020-12345675"


@pytest.mark.parametrize("code", ["IB6454", "AV8", "2K1234", "U2123D", "CM101"])
def test_flights_valid(code: str) -> None:
    assert codes.flight(code) == code


@pytest.mark.parametrize(
    "code", ["IB06454", "ib6454", "IB 6454", "IBE6454", "12345", "IB12345", "IB"]
)
def test_flights_refused(code: str) -> None:
    refused(codes.flight, code, R.BAD_FLIGHT)


def test_flight_lenient_drops_leading_zeros() -> None:
    assert codes.flight("ib 0645", lenient=True) == "IB645"


@pytest.mark.parametrize("tag", ["es", "en", "pt-BR", "es-419", "zh-Hant-TW", "spa", "sr-Latn"])
def test_languages_valid(tag: str) -> None:
    assert codes.language(tag) == tag


@pytest.mark.parametrize("tag", ["xx", "ES", "es_CO", "es-co", "es-XX", "zh-Hanz", "english", ""])
def test_languages_refused(tag: str) -> None:
    refused(codes.language, tag, R.BAD_LANGUAGE)


def test_language_lenient_fixes_case() -> None:
    assert codes.language("ZH_hant_tw", lenient=True) == "zh-Hant-TW"


def test_currency() -> None:
    assert codes.currency("USD") == "USD"
    refused(codes.currency, "XYZ", R.BAD_CURRENCY)
    refused(codes.currency, "usd", R.BAD_CURRENCY)


CHECKS = [
    codes.country,
    codes.locode,
    codes.airport,
    codes.container,
    codes.imo,
    codes.awb,
    codes.flight,
    codes.language,
    codes.currency,
]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("raw", [None, 5, b"CO", ["CO"], "x" * 1000])
def test_wrong_types_and_huge_input_are_input_errors(check: object, raw: object) -> None:
    assert callable(check)
    with pytest.raises(InputError):
        check(raw, "p")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CHECKS), st.text(max_size=40), st.booleans())
def test_arbitrary_text_raises_only_input_error(check: object, raw: str, lenient: bool) -> None:
    assert callable(check)
    try:
        out = check(raw, "p", lenient=lenient)
    except InputError:
        return
    # Whatever is accepted is canonical: checking it again strictly returns it.
    assert check(out, "p") == out
