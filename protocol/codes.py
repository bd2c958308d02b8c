"""Domain codes: countries, ports, airports, containers, vessels, flights, waybills.

Rules of this file:

* Every check is a function ``check(raw, path, *, lenient=False) -> str``
  returning the canonical spelling, or raising ``InputError`` with the field
  path, the reason code of that kind of code and a message naming the rule
  (``check digit is 5, not 4 (ISO 6346)``).
* On the wire only the canonical spelling is accepted (``lenient=False``): two
  notices naming the same container must carry the same string, or the hit
  between them is lost and a signature would cover two spellings of one fact.
  ``lenient=True`` is for people typing: it upper-cases, strips spaces and
  dashes, and returns the canonical form to store.
* Codes are checked with the libraries made for them (pycountry,
  python-stdnum, airportsdata). Their exceptions never leave this module.
"""

from __future__ import annotations

import re
from functools import cache

import airportsdata
import pycountry
from stdnum import imo as stdnum_imo
from stdnum import iso6346 as stdnum_iso6346
from stdnum.exceptions import ValidationError

from baliza.protocol.errors import InputError, ReasonCode

# No code is longer than this in any spelling a person might type; checking the
# length first keeps the regexes and library calls cheap on hostile input.
_MAX_RAW = 32

_COUNTRY = re.compile(r"[A-Z]{2}")
_LOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
_AIRPORT = re.compile(r"[A-Z]{3}")
# ISO 6346: owner code, category identifier (U freight, J detachable equipment,
# Z trailer or chassis, R reefer per the 2022 edition), serial, check digit.
_CONTAINER = re.compile(r"[A-Z]{3}[UJZR][0-9]{7}")
_IMO = re.compile(r"[0-9]{7}")
_AWB = re.compile(r"([0-9]{3})-([0-9]{8})")
# IATA airline designator (two characters, not both digits), flight number
# 1-9999 without leading zeros, optional operational suffix letter.
_FLIGHT = re.compile(r"(?![0-9]{2})([A-Z0-9]{2})([1-9][0-9]{0,3})([A-Z]?)")
_LANGUAGE = re.compile(r"([a-z]{2,3})(?:-([A-Z][a-z]{3}))?(?:-([A-Z]{2}|[0-9]{3}))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
# The UN M.49 area codes a BCP 47 region subtag may be (RFC 5646 §2.2.4): the
# 31 three-digit "region" subtags of the IANA Language Subtag Registry.
# Country numbers are not among them: a country is named by its ISO 3166
# alpha-2 code.
M49_REGIONS = frozenset(
    {
        "001",
        "002",
        "003",
        "005",
        "009",
        "011",
        "013",
        "014",
        "015",
        "017",
        "018",
        "019",
        "021",
        "029",
        "030",
        "034",
        "035",
        "039",
        "053",
        "054",
        "057",
        "061",
        "142",
        "143",
        "145",
        "150",
        "151",
        "154",
        "155",
        "202",
        "419",
    }
)


def _text(raw: object, path: str, reason: ReasonCode, what: str) -> str:
    if not isinstance(raw, str):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a string", path=path)
    if not 1 <= len(raw) <= _MAX_RAW:
        raise InputError(reason, f"is not {what}: wrong length", path=path)
    return raw


def _squeeze(raw: str) -> str:
    """The spelling people type reduced to the canonical alphabet."""
    return re.sub(r"[\s\-]", "", raw).upper()


def _canonical(raw: str, canonical: str, path: str, reason: ReasonCode, *, lenient: bool) -> str:
    if raw != canonical and not lenient:
        raise InputError(reason, f"must be written in canonical form {canonical!r}", path=path)
    return canonical


def country(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """ISO 3166-1 alpha-2 country code, upper case (``CO``)."""
    text = _text(raw, path, ReasonCode.BAD_COUNTRY, "an ISO 3166 country")
    code = _squeeze(text)
    if _COUNTRY.fullmatch(code) is None or not _is_country(code):
        raise InputError(
            ReasonCode.BAD_COUNTRY, f"{text!r} is not an ISO 3166-1 alpha-2 country", path=path
        )
    return _canonical(text, code, path, ReasonCode.BAD_COUNTRY, lenient=lenient)


def _is_country(code: str) -> bool:
    try:
        return pycountry.countries.get(alpha_2=code) is not None
    except (KeyError, LookupError):  # pragma: no cover - older pycountry raised
        return False


def locode(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """UN/LOCODE without the space (``ECGYE``): a country and three of [A-Z2-9].

    Only the shape and the country are checked: the UN/LOCODE list itself is
    not shipped with any maintained library and changes twice a year.
    """
    text = _text(raw, path, ReasonCode.BAD_LOCODE, "a UN/LOCODE")
    code = _squeeze(text)
    if _LOCODE.fullmatch(code) is None:
        raise InputError(
            ReasonCode.BAD_LOCODE,
            f"{text!r} is not a UN/LOCODE: 2-letter country then 3 of A-Z, 2-9",
            path=path,
        )
    if not _is_country(code[:2]):
        raise InputError(
            ReasonCode.BAD_LOCODE,
            f"{code[:2]!r} is not an ISO 3166 country (UN/LOCODE)",
            path=path,
        )
    return _canonical(text, code, path, ReasonCode.BAD_LOCODE, lenient=lenient)


@cache
def _airports() -> frozenset[str]:
    """IATA codes known to airportsdata; loaded on first use, then kept."""
    return frozenset(airportsdata.load("IATA"))


def airport(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """IATA airport code known to airportsdata (``PTY``)."""
    text = _text(raw, path, ReasonCode.BAD_AIRPORT, "an IATA airport")
    code = _squeeze(text)
    if _AIRPORT.fullmatch(code) is None:
        raise InputError(
            ReasonCode.BAD_AIRPORT, f"{text!r} is not an IATA airport: 3 letters", path=path
        )
    if code not in _airports():
        raise InputError(ReasonCode.BAD_AIRPORT, f"{code!r} is not a known IATA airport", path=path)
    return _canonical(text, code, path, ReasonCode.BAD_AIRPORT, lenient=lenient)


def container(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """ISO 6346 container number with its check digit (``CSQU3054383``)."""
    text = _text(raw, path, ReasonCode.BAD_CONTAINER, "an ISO 6346 container number")
    code = _squeeze(text)
    if _CONTAINER.fullmatch(code) is None:
        raise InputError(
            ReasonCode.BAD_CONTAINER,
            f"{text!r} is not a container number: owner (3 letters), category U/J/Z/R, "
            "6 digits, check digit (ISO 6346)",
            path=path,
        )
    try:
        stdnum_iso6346.validate(code)
    except ValidationError:
        expected = stdnum_iso6346.calc_check_digit(code[:10])
        raise InputError(
            ReasonCode.BAD_CONTAINER,
            f"check digit is {expected}, not {code[10]} (ISO 6346)",
            path=path,
        ) from None
    return _canonical(text, code, path, ReasonCode.BAD_CONTAINER, lenient=lenient)


def imo(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """IMO ship identification number, seven digits without prefix (``9074729``).

    ``lenient`` also accepts the ``IMO`` prefix people write before it.
    """
    text = _text(raw, path, ReasonCode.BAD_IMO, "an IMO number")
    code = _squeeze(text)
    code = code.removeprefix("IMO")
    if _IMO.fullmatch(code) is None:
        raise InputError(ReasonCode.BAD_IMO, f"{text!r} is not an IMO number: 7 digits", path=path)
    try:
        stdnum_imo.validate(code)
    except ValidationError:
        expected = stdnum_imo.calc_check_digit(code[:6])
        raise InputError(
            ReasonCode.BAD_IMO, f"check digit is {expected}, not {code[6]} (IMO number)", path=path
        ) from None
    return _canonical(text, code, path, ReasonCode.BAD_IMO, lenient=lenient)


def awb(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """IATA air waybill number ``PPP-SSSSSSSC``: airline prefix, serial, check digit.

    The check digit is the first seven digits of the serial modulo 7 (IATA
    Resolution 600a); no library implements it, so it is computed here.
    """
    text = _text(raw, path, ReasonCode.BAD_AWB, "an air waybill number")
    digits = _squeeze(text)
    code = f"{digits[:3]}-{digits[3:]}" if lenient else text
    match = _AWB.fullmatch(code)
    if match is None:
        raise InputError(
            ReasonCode.BAD_AWB,
            f"{text!r} is not an air waybill number: 3-digit prefix, dash, 8 digits",
            path=path,
        )
    serial = match.group(2)
    expected = int(serial[:7]) % 7
    if int(serial[7]) != expected:
        raise InputError(
            ReasonCode.BAD_AWB,
            f"check digit is {expected}, not {serial[7]} (IATA mod 7)",
            path=path,
        )
    return code


def flight(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """IATA flight designator: airline, number without leading zeros, suffix (``IB6454``)."""
    text = _text(raw, path, ReasonCode.BAD_FLIGHT, "a flight designator")
    code = _squeeze(text)
    loose = re.fullmatch(r"([A-Z0-9]{2})0*([0-9]{1,4})([A-Z]?)", code)
    if loose is not None:
        code = "".join(loose.groups())
    if _FLIGHT.fullmatch(code) is None:
        raise InputError(
            ReasonCode.BAD_FLIGHT,
            f"{text!r} is not a flight designator: 2-character IATA airline (not two digits), "
            "1-4 digit number without leading zeros, optional suffix letter",
            path=path,
        )
    return _canonical(text, code, path, ReasonCode.BAD_FLIGHT, lenient=lenient)


def language(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """BCP 47 language tag of the common shape ``ll[-Ssss][-RR]`` (``es``, ``pt-BR``).

    The primary subtag must be an ISO 639 language (pycountry), the script an
    ISO 15924 script, the region an ISO 3166 country or a UN M.49 number.
    Extensions and private-use subtags are refused: free text needs none.
    """
    text = _text(raw, path, ReasonCode.BAD_LANGUAGE, "a language tag")
    code = text
    if lenient:
        parts = text.strip().replace("_", "-").split("-")
        fixed = [parts[0].lower()]
        for part in parts[1:]:
            fixed.append(part.title() if len(part) == 4 else part.upper())
        code = "-".join(fixed)
    match = _LANGUAGE.fullmatch(code)
    if match is None:
        raise InputError(
            ReasonCode.BAD_LANGUAGE,
            f"{text!r} is not a language tag like es, pt-BR or zh-Hant-TW (BCP 47)",
            path=path,
        )
    primary, script, region = match.groups()
    key = "alpha_2" if len(primary) == 2 else "alpha_3"
    if pycountry.languages.get(**{key: primary}) is None:
        raise InputError(
            ReasonCode.BAD_LANGUAGE, f"{primary!r} is not an ISO 639 language", path=path
        )
    if script is not None and pycountry.scripts.get(alpha_4=script) is None:
        raise InputError(
            ReasonCode.BAD_LANGUAGE, f"{script!r} is not an ISO 15924 script", path=path
        )
    if region is not None and region.isalpha() and not _is_country(region):
        raise InputError(
            ReasonCode.BAD_LANGUAGE, f"{region!r} is not an ISO 3166 region", path=path
        )
    if region is not None and region.isdigit() and region not in M49_REGIONS:
        raise InputError(
            ReasonCode.BAD_LANGUAGE,
            f"{region!r} is not a UN M.49 area of the IANA subtag registry",
            path=path,
        )
    return code


def currency(raw: object, path: str = "", *, lenient: bool = False) -> str:
    """ISO 4217 currency code (``USD``)."""
    text = _text(raw, path, ReasonCode.BAD_CURRENCY, "an ISO 4217 currency")
    code = _squeeze(text)
    if _CURRENCY.fullmatch(code) is None or pycountry.currencies.get(alpha_3=code) is None:
        raise InputError(
            ReasonCode.BAD_CURRENCY, f"{text!r} is not an ISO 4217 currency", path=path
        )
    return _canonical(text, code, path, ReasonCode.BAD_CURRENCY, lenient=lenient)
