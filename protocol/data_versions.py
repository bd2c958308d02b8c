"""The releases of the code lists that define Baliza's domain codes.

Whether ``XK`` is a country, ``ZZZ`` an airport or ``9074729`` an IMO number
is decided by pycountry (ISO 3166, 4217, 639, 15924), airportsdata (IATA
airports) and python-stdnum (ISO 6346 and IMO check digits). A new release
of one of them can turn a valid notice invalid, or the reverse, so the spec
(chapter 03) names the releases it is written against, the vectors record
them, and a test fails when the installed releases differ: moving to a new
release is then a reviewed change of the spec, not an accident of
``pip install``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

DATA_VERSIONS: Final[dict[str, str]] = {
    "airportsdata": "20260905",
    "pycountry": "26.2.16",
    "python-stdnum": "2.2",
}


def installed_data_versions() -> dict[str, str]:
    """The releases installed here, by distribution name ("" when missing)."""
    out: dict[str, str] = {}
    for name in DATA_VERSIONS:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out
