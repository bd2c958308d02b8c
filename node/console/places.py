"""Pickers' data: countries (pycountry), airports (airportsdata), seaports (a curated list).

No maintained package ships UN/LOCODE, so the console carries a short list of
the seaports the programmes work with (``data/seaports.csv``, with
coordinates for the route view); any other LOCODE can still be typed, and
the protocol checks its shape and country. Airports come from airportsdata,
which the protocol uses to check IATA codes too.

Each place has its time zone, so an alert's arrival can be typed as the
destination says it: an airport's from airportsdata, a listed seaport's from
the list. Any other LOCODE gets its country's zone when the country has only
one (tzdata's ``zone1970.tab``); a country of several zones (Brazil, the
United States) gets none rather than a guess, and the viewer's zone is used.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import airportsdata
import pycountry
from babel import Locale
from babel.dates import get_timezone_location

SEAPORTS = Path(__file__).with_name("data") / "seaports.csv"
# The console's Portuguese is European Portuguese; CLDR's bare "pt" is Brazil's ("Irã", "Madri").
CLDR_LOCALES = {"pt": "pt_PT"}
MAX_MATCHES = 20


@dataclass(frozen=True, slots=True)
class Place:
    """A seaport (LOCODE) or airport (IATA) with a name and coordinates."""

    code: str
    name: str
    kind: str  # "seaport" or "airport"
    lat: float
    lon: float
    tz: str  # its IANA time zone


@cache
def seaports() -> tuple[Place, ...]:
    """The curated seaports."""
    with SEAPORTS.open(encoding="utf-8") as f:
        return tuple(
            Place(r["locode"], r["name"], "seaport", float(r["lat"]), float(r["lon"]), r["tz"])
            for r in csv.DictReader(f)
        )


@cache
def airports() -> dict[str, Place]:
    """Every airport with an IATA code, by code."""
    data = airportsdata.load("IATA")
    return {
        code: Place(
            code,
            f"{a['name']}, {a['city']}",
            "airport",
            float(a["lat"]),
            float(a["lon"]),
            a["tz"],
        )
        for code, a in data.items()
    }


def find(query: str) -> list[Place]:
    """Places whose code or name starts with or contains ``query`` (seaports first)."""
    q = query.strip().lower()
    if len(q) < 2:
        return []
    found = [p for p in seaports() if p.code.lower().startswith(q) or q in p.name.lower()]
    exact = airports().get(q.upper())
    if exact is not None:
        found.append(exact)
    for place in airports().values():
        if len(found) >= MAX_MATCHES:
            break
        if place is not exact and q in place.name.lower():
            found.append(place)
    return found[:MAX_MATCHES]


def locate(code: str) -> Place | None:
    """The place a LOCODE or IATA code names, if the console knows it."""
    code = code.strip().upper()
    if len(code) == 3:
        return airports().get(code)
    return next((p for p in seaports() if p.code == code), None)


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Each country's zones, from tzdata's ``zone1970.tab`` (a zone may serve several)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text("utf-8")
    out: dict[str, list[str]] = {}
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        codes, _, zone = line.split("\t")[:3]
        for code in codes.split(","):
            out.setdefault(code, []).append(zone)
    return {code: tuple(zones) for code, zones in out.items()}


def zone_of(code: str) -> str | None:
    """The time zone of the place ``code`` names, when it is known (see the module's docstring)."""
    place = locate(code)
    if place is not None:
        return place.tz
    code = code.strip().upper()
    if len(code) != 5:
        return None
    zones = _country_zones().get(code[:2], ())
    return zones[0] if len(zones) == 1 else None


@cache
def local_name(code: str, lang: str) -> str:
    """A listed seaport's name in ``lang`` where CLDR names its city ("Lisboa", "Singapur").

    CLDR names the cities its time zones are named after; a port named after
    that city (Lisbon in Europe/Lisbon) takes the city's name in the reader's
    language. Any other keeps the name on the list, as the port itself writes it.
    """
    place = locate(code)
    if place is None:
        return ""
    if place.kind != "seaport":
        return place.name
    english = get_timezone_location(place.tz, "en", return_city=True)
    if english != place.name:
        return place.name
    return str(get_timezone_location(place.tz, CLDR_LOCALES.get(lang, lang), return_city=True))


def sort_key(name: str) -> tuple[str, str]:
    """A locale-neutral collation key: letters first without their accents, then as written.

    "Équateur" sorts among the E's and "Åland" among the A's, as French,
    Spanish and Portuguese readers look for them; ties keep a stable order.
    """
    folded = unicodedata.normalize("NFKD", name.casefold())
    base = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return base, name


@cache
def countries(lang: str) -> tuple[tuple[str, str], ...]:
    """Every ISO 3166 country as (alpha-2, name in ``lang``), in that language's order.

    Names come from CLDR (Babel's locale data: "Argelia", "Surinam", "Côte
    d'Ivoire"), which is what each language's readers write; pycountry's
    English name stands in only for a code CLDR does not name.
    """
    cldr = Locale.parse(CLDR_LOCALES.get(lang, lang)).territories
    pairs = ((c.alpha_2, cldr.get(c.alpha_2, c.name)) for c in pycountry.countries)
    return tuple(sorted(pairs, key=lambda c: sort_key(c[1])))
