"""Languages of the console: gettext catalogues (Babel) and locale formatting.

Spanish, Portuguese, English and French from the first day. The language is
the one remembered in a cookie, else the best match of the browser's
Accept-Language, else English. Dates, numbers and quantities are formatted
by Babel with the locale's own conventions (``25.000 g`` in Spanish,
``25,000 g`` in English), so no template formats a number by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale, dates, numbers, units
from babel.support import NullTranslations, Translations

LANGUAGES = ("es", "pt", "en", "fr")
DEFAULT = "en"
DOMAIN = "console"
LOCALE_DIR = Path(__file__).with_name("locale")
LANG_COOKIE = "baliza_lang"
# The viewer's time zone (an IANA name): times are typed and shown in it, stored in UTC.
TZ_COOKIE = "baliza_tz"
DEFAULT_TZ = "UTC"

# Babel's CLDR unit names for the protocol's units; the rest are counted.
_CLDR_UNITS = {"g": "mass-gram", "ml": "volume-milliliter"}


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for translation without translating it now."""
    return message


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (English is the source language)."""
    return Translations.load(str(LOCALE_DIR), [lang], domain=DOMAIN)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language to answer in: the remembered one, else the browser's best match."""
    if cookie in LANGUAGES:
        return cookie
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag:
            wanted.append((weight, tag.replace("_", "-")))
    ranked = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    found = Locale.negotiate(ranked, list(LANGUAGES), sep="-") if ranked else None
    return str(found.language) if found else DEFAULT


@cache
def zones() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted (the preferences' choices)."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def zone_or_none(name: str | None) -> str | None:
    """``name`` if it is a known IANA zone, else None (a cookie or form is never trusted)."""
    return name if name in _zone_set() else None


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(zones())


def local_minute(ms: int, tz: str) -> str:
    """Unix ms as a ``datetime-local`` value in zone ``tz``."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True, slots=True)
class Formatter:
    """Translation and formatting in one language and time zone, handed to every template."""

    lang: str
    tz: str = DEFAULT_TZ

    def gettext(self, message: str) -> str:
        """``message`` in this language (the English text if not translated)."""
        return translations(self.lang).gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        """``message`` as meant in ``context`` (a state of a subscription, not of a delivery)."""
        return str(translations(self.lang).pgettext(context, message))

    def datetime(self, ms: int | None) -> str:
        """A UTC timestamp as the locale writes date and time, in the viewer's zone, named.

        The zone is named by its abbreviation where it has one (``CET``,
        ``CEST``, ``UTC``) and by its IANA name otherwise, so nobody reads a
        local time as another zone's.
        """
        if ms is None:
            return ""
        zone = ZoneInfo(self.tz)
        moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
        shown = dates.format_datetime(moment, "medium", tzinfo=zone, locale=self.lang)
        abbreviation = moment.strftime("%Z")
        named = abbreviation if abbreviation.isalpha() else self.tz
        return f"{shown} {named}"

    def minute(self, ms: int) -> str:
        """Unix ms as a ``datetime-local`` value in the viewer's zone."""
        return local_minute(ms, self.tz)

    def number(self, value: int | float) -> str:
        """A number with the locale's grouping and decimal signs."""
        return numbers.format_decimal(value, locale=self.lang)

    def quantity(self, amount: int, unit: str, currency: str | None = None) -> str:
        """An amount in a protocol unit (grams, millilitres, pieces, minor currency units)."""
        if unit == "minor" and currency:
            return numbers.format_currency(amount / 100, currency, locale=self.lang)
        if unit in _CLDR_UNITS:
            if amount >= 1000 and amount % 1000 == 0:
                big = "mass-kilogram" if unit == "g" else "volume-liter"
                return units.format_unit(amount // 1000, big, "short", locale=self.lang)
            return units.format_unit(amount, _CLDR_UNITS[unit], "short", locale=self.lang)
        return f"{self.number(amount)} {self.gettext(unit)}"
