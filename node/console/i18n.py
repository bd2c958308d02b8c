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

from babel import Locale, dates, numbers, units
from babel.support import NullTranslations, Translations

LANGUAGES = ("es", "pt", "en", "fr")
DEFAULT = "en"
DOMAIN = "console"
LOCALE_DIR = Path(__file__).with_name("locale")
LANG_COOKIE = "baliza_lang"

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


@dataclass(frozen=True, slots=True)
class Formatter:
    """Translation and formatting in one language, handed to every template."""

    lang: str

    def gettext(self, message: str) -> str:
        """``message`` in this language (the English text if not translated)."""
        return translations(self.lang).gettext(message)

    def datetime(self, ms: int | None) -> str:
        """A UTC timestamp as the locale writes date and time."""
        if ms is None:
            return ""
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        return dates.format_datetime(moment, "medium", tzinfo=UTC, locale=self.lang) + " UTC"

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
