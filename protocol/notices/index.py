"""What a node indexes about a notice: references for hits, a summary line,
search text, the place and the programme.

References are normalised identifiers (``("container", "MSCU1234565")``) so
that two notices naming the same container, vessel, flight, waybill, company,
document or person meet in one index entry, whoever wrote them and however
they spelled a company's legal form.
"""

from __future__ import annotations

from datetime import UTC, datetime

from baliza.protocol.canonical import Value
from baliza.protocol.notices.alert import AlertOutcome, PreArrivalAlert
from baliza.protocol.notices.case import CaseNotice
from baliza.protocol.notices.codec import Notice
from baliza.protocol.notices.json_form import say_quantity
from baliza.protocol.notices.lifecycle import Correction, Receipt
from baliza.protocol.notices.nominal import Nominal
from baliza.protocol.notices.refs import flight_ref, fold, normalise_name, vessel_ref
from baliza.protocol.notices.seizure import SeizureNotice
from baliza.protocol.notices.transport import Vessel

MAX_SUMMARY = 200

# Commodity categories in the federation's languages (es, pt, fr), so a
# search for "cocaína" or "héroïne" finds a notice that only names its category.
CATEGORY_WORDS: dict[str, str] = {
    "cocaine": "cocaína cocaína cocaïne",
    "heroin": "heroína heroína héroïne",
    "cannabis": "marihuana maconha hachís haxixe",
    "synthetic": "drogas sintéticas sintéticas synthétiques anfetaminas",
    "precursor": "precursores precursores précurseurs",
    "cigarettes": "cigarrillos tabaco cigarros cigarettes tabac",
    "currency": "efectivo dinero dinheiro espèces",
    "weapons": "armas armas armes",
    "wildlife": "fauna vida silvestre faune",
    "counterfeit": "falsificaciones falsificados contrefaçons",
    "other": "",
}


def _nominal_refs(nominal: Nominal | None) -> list[tuple[str, str]]:
    if nominal is None:
        return []
    refs = [("company", normalise_name(c.name)) for c in nominal.companies]
    refs += [("document", d.ref) for d in nominal.documents]
    for person in nominal.persons:
        name = normalise_name(f"{person.family_name} {person.given_names or ''}")
        refs.append(("person", f"{name} {person.birth_date}" if person.birth_date else name))
        refs += [("document", d.ref) for d in person.documents]
    return refs


def _vessel_refs(vessel: Vessel | None) -> list[tuple[str, str]]:
    if vessel is None or vessel.imo is None:
        return []
    return [("vessel", vessel_ref(vessel.imo))]


def notice_refs(notice: Notice) -> list[tuple[str, str]]:
    """Normalised identifiers for cross-notice hits, sorted and unique."""
    refs: list[tuple[str, str]] = []
    if isinstance(notice, SeizureNotice):
        conveyance = notice.conveyance
        if conveyance is not None:
            if conveyance.container:
                refs.append(("container", conveyance.container))
            refs += _vessel_refs(conveyance.vessel)
            if conveyance.flight:
                refs.append(("flight", flight_ref(conveyance.flight, notice.seized_ms)))
            if conveyance.awb:
                refs.append(("awb", conveyance.awb))
            if conveyance.vehicle:
                refs.append(("vehicle", conveyance.vehicle.ref))
        if notice.case_ref:
            refs.append(("case", notice.case_ref))
        refs += _nominal_refs(notice.nominal)
    elif isinstance(notice, PreArrivalAlert):
        subject = notice.subject
        if subject.container:
            refs.append(("container", subject.container))
        if subject.flight:
            refs.append(("flight", flight_ref(subject.flight, notice.expected_ms)))
        if subject.awb:
            refs.append(("awb", subject.awb))
        refs += _vessel_refs(subject.vessel)
        refs += _nominal_refs(notice.nominal)
    elif isinstance(notice, CaseNotice):
        refs.append(("case", notice.case_ref))
        refs += _nominal_refs(notice.nominal)
    elif isinstance(notice, Correction):
        return notice_refs(notice.notice)
    return sorted(set(refs))


def notice_facets(notice: Notice) -> list[tuple[str, str]]:
    """Places at any point of the route and commodity categories: they narrow, never link."""
    facets: list[tuple[str, str]] = []
    if isinstance(notice, SeizureNotice):
        facets.append(("location", notice.location.code))
        if notice.route is not None:
            facets += [("location", place.code) for place in notice.route.places()]
        facets += [("commodity", c.category.value) for c in notice.commodities]
    elif isinstance(notice, PreArrivalAlert):
        facets += [("location", notice.origin.code), ("location", notice.destination.code)]
    elif isinstance(notice, Correction):
        return notice_facets(notice.notice)
    return sorted(set(facets))


def notice_language(notice: Notice) -> str | None:
    """The two-letter language of a notice's free text (``es``), for stemming searches."""
    if isinstance(notice, Correction):
        return notice_language(notice.notice)
    text = getattr(notice, "text", None)
    return text.lang.split("-")[0].lower()[:2] if text is not None else None


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _minute(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%MZ")


def notice_summary(notice: Notice, refs: list[tuple[str, str]] | None = None) -> str:
    """One line for lists, at most ``MAX_SUMMARY`` characters.

    ``refs``: ``notice_refs(notice)`` when the caller has it (not computed again).
    """
    if isinstance(notice, SeizureNotice):
        goods = ", ".join(
            f"{c.category.value} "
            + say_quantity(c.quantity.amount, c.quantity.unit.value, c.quantity.currency)
            for c in notice.commodities
        )
        named = [
            v
            for k, v in (notice_refs(notice) if refs is None else refs)
            if k in {"container", "vessel", "flight", "awb"}
        ]
        via = f" via {', '.join(named)}" if named else ""
        line = (
            f"seizure {_day(notice.seized_ms)} {notice.location.code} "
            f"[{notice.programme.value}]: {goods}{via}"
        )
    elif isinstance(notice, PreArrivalAlert):
        s = notice.subject
        ident = s.container or s.flight or (s.vessel and (s.vessel.imo or s.vessel.name)) or ""
        line = (
            f"alert {notice.origin.code}->{notice.destination.code} [{notice.programme.value}]: "
            f"{s.type.value} {ident} expected {_minute(notice.expected_ms)}"
        )
    elif isinstance(notice, AlertOutcome):
        extra = f" -> seizure {notice.seizure}" if notice.seizure else ""
        line = f"outcome {notice.result.value} for alert {notice.alert}{extra}"
    elif isinstance(notice, CaseNotice):
        line = f"case {notice.case_ref} [{notice.status.value}]: {notice.title}"
    elif isinstance(notice, Receipt):
        line = f"receipt {notice.status.value} of {notice.envelope}"
    elif isinstance(notice, Correction):
        line = f"correction of {notice.supersedes}: {notice_summary(notice.notice, refs)}"
    else:
        line = f"retraction of {notice.supersedes}: {notice.reason}"
    line = " ".join(line.split())
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1] + "…"


def notice_search_text(
    notice: Notice,
    *,
    wire: Value | None = None,
    refs: list[tuple[str, str]] | None = None,
    facets: list[tuple[str, str]] | None = None,
) -> str:
    """Every human-readable string of the notice plus its references, for full-text search.

    Accents removed and case folded, so "cocaína" and "COCAINA" are one word
    on both engines (PostgreSQL has no accent folding without an extension).
    ``wire``, ``refs`` and ``facets``: the notice's ``to_wire()``,
    ``notice_refs`` and ``notice_facets`` when the caller has them.
    """
    parts: list[str] = []
    _strings(notice.to_wire() if wire is None else wire, parts)
    facets = notice_facets(notice) if facets is None else facets
    refs = notice_refs(notice) if refs is None else refs
    parts += [value for _, value in refs + facets]
    parts += [CATEGORY_WORDS.get(v, "") for t, v in facets if t == "commodity"]
    # Folded part by part (the same as folding the joined text: folding works
    # character by character), so the many ASCII parts take fold's quick path.
    return " ".join(fold(p) for p in dict.fromkeys(p for p in parts if p))


def _strings(value: Value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key in sorted(value):
            if key not in {"kind", "v"}:
                _strings(value[key], out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def notice_location(notice: Notice) -> str | None:
    """The place a notice is about (seizure place, alert destination) as LOCODE or IATA."""
    if isinstance(notice, SeizureNotice):
        return notice.location.code
    if isinstance(notice, PreArrivalAlert):
        return notice.destination.code
    if isinstance(notice, Correction):
        return notice_location(notice.notice)
    return None


def notice_programme(notice: Notice) -> str | None:
    """The programme of a notice, for feeds; ``None`` for kinds that have none."""
    if isinstance(notice, SeizureNotice | PreArrivalAlert | CaseNotice):
        return notice.programme.value
    if isinstance(notice, Correction):
        return notice_programme(notice.notice)
    return None
