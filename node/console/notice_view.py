"""A notice as people read it: a title in the reader's language, labelled sections.

The signed notice is JSON; a person reads a title ("Pre-arrival alert:
container MSCU1234566, Guayaquil → Algeciras"), then the fields in
sections in reading order — what, where and when, route, conveyance,
persons and companies, the text, who sent it — each under a label in the
reader's language, places by name with their code, quantities and times as
the locale writes them. Keys the console has no label for still show
(under "Other details"), so nothing signed is hidden from the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from baliza.node.console import places
from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.vocabulary import WORDS

VOCABULARY = frozenset(WORDS)
# Media types a browser draws as a picture and nothing else (no SVG: it is a document).
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})

LABELS = {
    "action": N_("Action"),
    "agency": N_("Agency"),
    "airport": N_("Airport"),
    "alert": N_("Alert answered"),
    "amount": N_("Amount"),
    "assignee": N_("Assigned to"),
    "at_ms": N_("When"),
    "awb": N_("Air waybill"),
    "birth_date": N_("Date of birth"),
    "case_ref": N_("Case reference"),
    "category": N_("Category"),
    "commodities": N_("Commodities"),
    "companies": N_("Companies"),
    "concealment": N_("Concealment"),
    "contact": N_("Contact"),
    "container": N_("Container"),
    "conveyance": N_("Conveyance"),
    "country": N_("Country"),
    "currency": N_("Currency"),
    "description": N_("Description"),
    "destination": N_("Destination"),
    "detection": N_("What led to the find"),
    "discharge": N_("Discharge"),
    "documents": N_("Documents"),
    "due_ms": N_("Due"),
    "evaluation": N_("Evaluation"),
    "expected_ms": N_("Expected arrival"),
    "family_name": N_("Family name"),
    "flag": N_("Flag"),
    "flight": N_("Flight"),
    "given_names": N_("Given names"),
    "imo": N_("IMO number"),
    "indicators": N_("Risk indicators"),
    "lang": N_("Language"),
    "loading": N_("Loading"),
    "location": N_("Place of seizure"),
    "locode": N_("Port"),
    "name": N_("Name"),
    "nationality": N_("Nationality"),
    "note": N_("Note"),
    "number": N_("Number"),
    "offences": N_("Offences"),
    "origin": N_("Origin"),
    "packaging": N_("Packaging"),
    "persons": N_("Persons"),
    "plate": N_("Number plate"),
    "programme": N_("Programme"),
    "quantity": N_("Quantity"),
    "reason": N_("Reason"),
    "ref": N_("Reference"),
    "ref_type": N_("Kind of reference"),
    "registration": N_("Registration"),
    "requests": N_("Requests"),
    "result": N_("Result"),
    "role": N_("Role"),
    "route": N_("Route"),
    "seals": N_("Seals"),
    "seized_ms": N_("Seized"),
    "status": N_("Status"),
    "subject": N_("Subject"),
    "supersedes": N_("Replaces"),
    "tasks": N_("Tasks"),
    "text": N_("Text"),
    "title": N_("Title"),
    "transit": N_("Transit"),
    "transport": N_("Transport"),
    "type": N_("Type"),
    "unit": N_("Unit"),
    "vehicle": N_("Vehicle"),
    "vessel": N_("Vessel"),
}
# The sections of a notice page, in reading order, and the top-level keys each shows.
SECTIONS = (
    (
        N_("What"),
        (
            "subject",
            "commodities",
            "result",
            "alert",
            "case_ref",
            "title",
            "status",
            "offences",
            "indicators",
            "concealment",
            "detection",
            "requests",
            "tasks",
        ),
    ),
    (
        N_("Where and when"),
        ("location", "origin", "destination", "expected_ms", "seized_ms", "at_ms"),
    ),
    (N_("Route"), ("route",)),
    (N_("Conveyance"), ("transport", "conveyance")),
    (N_("Persons, companies and documents"), ("persons", "companies", "documents", "nominal")),
    (N_("In the sender's words"), ("text",)),
    (N_("Who sent it"), ("programme", "unit", "supersedes")),
)
# Keys read in the order they happen, not the canonical (alphabetical) one.
READING_ORDER = {"loading": 0, "transit": 1, "discharge": 2, "destination": 3}
HIDDEN = frozenset({"v", "kind", "attachments", "notice"})
SHOWN = frozenset(k for _, keys in SECTIONS for k in keys)


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of labelled values."""

    title: str
    lines: tuple[tuple[str, str], ...]


def place_name(loc: Any, lang: str = "en") -> str:
    """A location object as a person reads it: "Algeciras (ESALG)", "Lisboa (PTLIS)"."""
    if not isinstance(loc, dict):
        return str(loc)
    code = loc.get("locode") or loc.get("airport")
    if not isinstance(code, str):
        return ""
    name = places.local_name(code, lang)
    return f"{name} ({code})" if name else code


def _label(key: str, fmt: Formatter) -> str:
    known = LABELS.get(key)
    return fmt.gettext(known) if known else key.replace("_", " ").capitalize()


def _value(key: str, value: Any, fmt: Formatter) -> str:
    if key.endswith("_ms") and isinstance(value, int):
        return fmt.datetime(value)
    if isinstance(value, bool):
        return fmt.gettext("yes") if value else fmt.gettext("no")
    if isinstance(value, str) and value in VOCABULARY and key not in ("text", "title", "name"):
        return fmt.gettext(value)  # a protocol code (cocaine, sea, ccp)
    return str(value)


def _lines(label: str, key: str, value: Any, fmt: Formatter) -> list[tuple[str, str]]:
    """``value`` under ``label`` as (label, text) lines, nested objects as "A · B"."""
    if isinstance(value, dict) and isinstance(value.get("amount"), int) and "unit" in value:
        return [(label, fmt.quantity(value["amount"], value["unit"], value.get("currency")))]
    if isinstance(value, dict) and ("locode" in value or "airport" in value) and len(value) == 1:
        return [(label, place_name(value, fmt.lang))]
    if isinstance(value, dict) and set(value) == {"lang", "text"}:
        return [(label, str(value["text"]))]
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for sub, item in sorted(value.items(), key=lambda kv: READING_ORDER.get(kv[0], 99)):
            if key == "subject" and sub == "type":
                continue  # "container: MSCU…" says the type already
            inner = _label(sub, fmt)
            out.extend(_lines(f"{label} · {inner}" if label else inner, sub, item, fmt))
        return out
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return [(label, ", ".join(_value(key, v, fmt) for v in value))]
        out = []
        for i, item in enumerate(value, 1):
            out.extend(_lines(f"{label} {i}", key, item, fmt))
        return out
    return [(label, _value(key, value, fmt))]


def sections(body: dict[str, Any], fmt: Formatter) -> list[Section]:
    """The notice's fields in labelled sections (a correction: its replacement's)."""
    if body.get("kind") == "notice.correction" and isinstance(body.get("notice"), dict):
        inner = {**body["notice"], "supersedes": body.get("supersedes")}
        reason = body.get("reason")
        found = sections(inner, fmt)
        if reason:
            found.insert(
                0, Section(fmt.gettext("Correction"), ((_label("reason", fmt), str(reason)),))
            )
        return found
    out = []
    for title, keys in SECTIONS:
        lines: list[tuple[str, str]] = []
        for key in keys:
            if body.get(key) not in (None, "", [], {}):
                label = _label(key, fmt)
                # Under a heading of the same words, the fields need no prefix.
                shown = "" if label == fmt.gettext(title) and isinstance(body[key], dict) else label
                lines.extend(_lines(shown, key, body[key], fmt))
        if lines:
            out.append(Section(fmt.gettext(title), tuple(lines)))
    rest: list[tuple[str, str]] = []
    for key, value in body.items():
        if key not in SHOWN and key not in HIDDEN and value not in (None, "", [], {}):
            rest.extend(_lines(_label(key, fmt), key, value, fmt))
    if rest:
        out.append(Section(fmt.gettext("Other details"), tuple(rest)))
    return out


def _subject(subject: Any, fmt: Formatter) -> str:
    if not isinstance(subject, dict):
        return ""
    kind = str(subject.get("type", ""))
    value = subject.get(kind) or next(
        (v for k, v in subject.items() if k != "type" and isinstance(v, str)), ""
    )
    return f"{fmt.gettext(kind)} {value}".strip()


def _commodities(items: Any, fmt: Formatter) -> str:
    parts = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        what = fmt.gettext(str(item.get("category", "")))
        qty = item.get("quantity")
        if isinstance(qty, dict) and isinstance(qty.get("amount"), int):
            what += " " + fmt.quantity(qty["amount"], str(qty.get("unit")), qty.get("currency"))
        parts.append(what)
    return ", ".join(parts)


def title(body: dict[str, Any], fmt: Formatter, fallback: str) -> str:
    """A title in the reader's language; the stored summary for a kind it does not know."""
    _ = fmt.gettext
    kind = body.get("kind")
    if kind == "notice.alert":
        return _(
            "Pre-arrival alert: %(subject)s, %(origin)s → %(destination)s, expected %(when)s"
        ) % {
            "subject": _subject(body.get("subject"), fmt),
            "origin": place_name(body.get("origin"), fmt.lang),
            "destination": place_name(body.get("destination"), fmt.lang),
            "when": fmt.datetime(body.get("expected_ms")),
        }
    if kind == "notice.seizure":
        return _("Seizure: %(what)s at %(place)s, %(when)s") % {
            "what": _commodities(body.get("commodities"), fmt),
            "place": place_name(body.get("location"), fmt.lang),
            "when": fmt.datetime(body.get("seized_ms")),
        }
    if kind == "notice.outcome":
        return _("Outcome of an alert: %(result)s") % {"result": _(str(body.get("result", "")))}
    if kind == "notice.case":
        return _("Case notice %(ref)s: %(title)s") % {
            "ref": body.get("case_ref", ""),
            "title": body.get("title", ""),
        }
    if kind == "notice.correction" and isinstance(body.get("notice"), dict):
        return _("Correction — %(title)s") % {"title": title(body["notice"], fmt, fallback)}
    return fallback


def size(value: int, fmt: Formatter) -> str:
    """A file size as people say it: 18 kB, 2.4 MB."""
    if value < 1000:
        return f"{fmt.number(value)} B"
    if value < 1_000_000:
        return f"{fmt.number(round(value / 1000, 1))} kB"
    return f"{fmt.number(round(value / 1_000_000, 1))} MB"


HIT_LABELS = {
    "container": N_("Container"),
    "vessel": N_("Vessel"),
    "flight": N_("Flight"),
    "awb": N_("Air waybill"),
    "company": N_("Company"),
    "person": N_("Person"),
    "document": N_("Document"),
    "vehicle": N_("Vehicle"),
    "case": N_("Case"),
}
HITS_SHOWN = 10  # per identifier; the rest are a search away


@dataclass(frozen=True, slots=True)
class HitGroup:
    """The other notices naming one identifier: some shown, how many there are, where all are."""

    label: str
    value: str
    shown: tuple[Any, ...]
    total: int
    search: str


def hit_groups(hits: Any) -> list[HitGroup]:
    """Hits grouped by the identifier they share, each group capped at ``HITS_SHOWN``."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for hit in hits:
        groups.setdefault(tuple(hit.ref), []).append(hit)
    out = []
    for (kind, value), found in groups.items():
        field = "container" if kind == "container" else "q"
        out.append(
            HitGroup(
                label=HIT_LABELS.get(kind, kind),
                value=value,
                shown=tuple(found[:HITS_SHOWN]),
                total=len(found),
                search=f"/console/?{field}={quote(value)}",
            )
        )
    return sorted(out, key=lambda g: -g.total)
