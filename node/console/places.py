"""Pickers' data: countries (pycountry), airports (airportsdata), seaports (a curated list).

No maintained package ships UN/LOCODE, so the console carries a short list of
the seaports the programmes work with (``data/seaports.csv``, with
coordinates for the route view); any other LOCODE can still be typed, and
the protocol checks its shape and country. Airports come from airportsdata,
which the protocol uses to check IATA codes too.
"""

from __future__ import annotations

import csv
import gettext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import airportsdata
import pycountry

SEAPORTS = Path(__file__).with_name("data") / "seaports.csv"
MAX_MATCHES = 20


@dataclass(frozen=True, slots=True)
class Place:
    """A seaport (LOCODE) or airport (IATA) with a name and coordinates."""

    code: str
    name: str
    kind: str  # "seaport" or "airport"
    lat: float
    lon: float


@cache
def seaports() -> tuple[Place, ...]:
    """The curated seaports."""
    with SEAPORTS.open(encoding="utf-8") as f:
        return tuple(
            Place(r["locode"], r["name"], "seaport", float(r["lat"]), float(r["lon"]))
            for r in csv.DictReader(f)
        )


@cache
def airports() -> dict[str, Place]:
    """Every airport with an IATA code, by code."""
    data = airportsdata.load("IATA")
    return {
        code: Place(code, f"{a['name']}, {a['city']}", "airport", float(a["lat"]), float(a["lon"]))
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
def countries(lang: str) -> tuple[tuple[str, str], ...]:
    """Every ISO 3166 country as (alpha-2, name in ``lang``), by name."""
    names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
    pairs = ((c.alpha_2, names.gettext(c.name)) for c in pycountry.countries)
    return tuple(sorted(pairs, key=lambda c: c[1]))
