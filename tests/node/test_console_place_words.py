"""Countries and places in the reader's language, in the order that language sorts them."""

from __future__ import annotations

import pytest

from baliza.node.console.places import countries, local_name, sort_key

# (language, names that must be there, names that must follow one another in this order)
EXPECTED = {
    "fr": (
        {"DZ": "Algérie", "SR": "Suriname", "CI": "Côte d’Ivoire", "EC": "Équateur"},
        ("Égypte", "Émirats arabes unis", "Équateur", "Érythrée", "Espagne", "Estonie"),
    ),
    "es": (
        {"DZ": "Argelia", "SR": "Surinam", "EC": "Ecuador", "ES": "España"},
        ("Ecuador", "Egipto", "El Salvador", "Emiratos Árabes Unidos", "Eritrea", "Eslovaquia"),
    ),
    "pt": (
        {"DZ": "Argélia", "CI": "Côte d’Ivoire (Costa do Marfim)", "IR": "Irão", "EC": "Equador"},
        ("Egito", "Emirados Árabes Unidos", "Equador", "Eritreia", "Eslováquia"),
    ),
    "en": (
        {"DZ": "Algeria", "SR": "Suriname", "CI": "Côte d’Ivoire", "AX": "Åland Islands"},
        ("Afghanistan", "Åland Islands", "Albania", "Algeria"),
    ),
}


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_country_pickers_name_and_sort_as_the_language_does(lang: str) -> None:
    names, run = EXPECTED[lang]
    listed = countries(lang)
    by_code = dict(listed)
    for code, name in names.items():
        assert by_code[code] == name, (lang, code)
    order = [name for _, name in listed]
    positions = [order.index(name) for name in run]
    assert positions == sorted(positions), (lang, run)
    # Not by code point: no accented initial lands after the last plain letter.
    assert [sort_key(n) for n in order] == sorted(sort_key(n) for n in order)
    assert order[-1][0] not in "ÉÅÎ"


def test_a_port_named_after_its_city_takes_the_city_name_in_the_reader_language() -> None:
    assert [local_name("PTLIS", lang) for lang in ("en", "es", "fr", "pt")] == [
        "Lisbon",
        "Lisboa",
        "Lisbonne",
        "Lisboa",
    ]
    assert local_name("SGSIN", "es") == "Singapur"
    assert local_name("ESALG", "fr") == "Algeciras"  # no CLDR city: the port's own name
    assert local_name("XXXXX", "fr") == ""
