"""A notice as STIX 2.1 objects, for the agency's MISP or OpenCTI.

One notice becomes a ``report`` (or, for an outcome, a ``note`` on the
alert's report) that refers to:

- the sender agency as an ``identity`` (``created_by_ref`` of everything);
- one observable per transport identifier it names (container, vessel,
  flight, air waybill, vehicle). STIX 2.1 has no object for these, so they
  are new SCO types (``baliza-container``…) declared by one
  ``extension-definition``, as STIX 2.1 §7.3 asks instead of ``x-`` types;
- for a pre-arrival alert, one ``indicator`` per identifier, valid from the
  alert until a day after the expected arrival: "watch for this";
- with ``nominal=True`` only, the companies and persons it names
  (``identity`` objects) and their documents: nominal data leaves the node
  only when the caller asks for it (the API and CLI say who may).

Markings: the FIRST TLP 2.0 ``marking-definition`` objects OASIS publishes
(fixed ids, so a platform recognises them), and a statement marking for the
handling codes and restrictions, which TLP cannot say.

Ids are derived, not random: exporting a notice twice gives the same
objects, so a platform that pulls again updates instead of duplicating. A
correction is a new version (same id, later ``modified``) of the report it
corrects; a retraction revokes it. Observables have STIX's deterministic
UUIDv5 ids over their ``value``, so two notices naming one container share
one observable, as two Baliza notices sharing it are a hit.

Written as plain JSON rather than with the ``stix2`` library: the objects
are few and fixed, and the library would bring requests, ANTLR and
simplejson into every node. The tests check every bundle with OASIS's
``stix2-validator``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.notices import AlertOutcome, Correction, Notice, PreArrivalAlert, Retraction
from baliza.protocol.notices.nominal import Nominal

StixObject = dict[str, Any]

SPEC_VERSION = "2.1"
MEDIA_TYPE = "application/stix+json;version=2.1"

# STIX 2.1 §2.9: the namespace of deterministic SCO ids.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

# The TLP 2.0 extension and its marking definitions, as OASIS publishes
# them (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATOR = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"
TLP2_MARKING_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# Transport identifiers (stored reference type -> observable type).
OBSERVABLE_TYPES = {
    "container": "baliza-container",
    "vessel": "baliza-vessel",
    "flight": "baliza-flight",
    "awb": "baliza-air-waybill",
    "vehicle": "baliza-vehicle",
}
DOCUMENT_TYPE = "baliza-identity-document"
_EPOCH = "2026-01-01T00:00:00.000Z"  # when Baliza's own definitions were first written
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedNotice:
    """What a STIX export needs of one stored notice (``views/exports.py`` builds it)."""

    envelope_id: str
    kind: str
    sender: str
    created_ms: int
    summary: str
    handling: Handling
    refs: tuple[tuple[str, str], ...]
    notice: Notice
    supersedes: str | None = None


def timestamp(ms: int) -> str:
    """STIX's timestamp form: UTC, millisecond precision, ``Z``."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def derived_id(object_type: str, *parts: str) -> str:
    """A stable id shaped as UUIDv4 (STIX asks v4 of domain objects), from what it stands for."""
    digest = hashlib.sha256("\x00".join(("baliza-stix", object_type, *parts)).encode()).digest()
    return f"{object_type}--{uuid.UUID(bytes=digest[:16], version=4)}"


def observable_id(object_type: str, value: str) -> str:
    """STIX 2.1 §2.9's deterministic SCO id: UUIDv5 over the canonical id-contributing JSON."""
    canonical = json.dumps({"value": value}, ensure_ascii=False, separators=(",", ":"))
    return f"{object_type}--{uuid.uuid5(SCO_NAMESPACE, canonical)}"


def tlp_marking(tlp: Tlp) -> StixObject:
    """The OASIS TLP 2.0 marking definition for ``tlp``."""
    return {
        "type": "marking-definition",
        "spec_version": SPEC_VERSION,
        "id": TLP2_MARKING_IDS[tlp],
        "created_by_ref": TLP2_CREATOR,
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{tlp.value.upper()}",
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value}
        },
    }


def handling_statement(handling: Handling) -> str | None:
    """The handling codes and restrictions in words, or None when there are none."""
    parts = [f"Handling code {code.value.upper()}" for code in handling.codes]
    if handling.restrictions:
        parts.append(f"Restrictions: {handling.restrictions}")
    return "; ".join(parts) if parts else None


def handling_marking(handling: Handling) -> StixObject | None:
    """A statement marking for the handling codes and restrictions (None without any)."""
    statement = handling_statement(handling)
    if statement is None:
        return None
    return {
        "type": "marking-definition",
        "spec_version": SPEC_VERSION,
        "id": derived_id("marking-definition", "handling", statement),
        "created": _EPOCH,
        "name": statement[:250],
        "definition_type": "statement",
        "definition": {"statement": statement},
    }


def agency_identity(agency: str) -> StixObject:
    """The identity of a Baliza agency (its id is its name in the directory)."""
    return {
        "type": "identity",
        "spec_version": SPEC_VERSION,
        "id": derived_id("identity", "agency", agency),
        "created": _EPOCH,
        "modified": _EPOCH,
        "name": agency,
        "identity_class": "organization",
        "external_references": [{"source_name": "baliza-agency", "external_id": agency}],
    }


def observables_extension(creator: str) -> StixObject:
    """The extension definition that declares Baliza's observable types."""
    return {
        "type": "extension-definition",
        "spec_version": SPEC_VERSION,
        "id": derived_id("extension-definition", "baliza-observables"),
        "created_by_ref": creator,
        "created": _EPOCH,
        "modified": _EPOCH,
        "name": "Baliza transport identifiers",
        "description": (
            "Observables for what customs and police notices name and STIX 2.1 has no "
            "type for: containers (ISO 6346), vessels (IMO number), flights (designator "
            "and date), air waybills, vehicles and identity documents. Each has one "
            "property, value, in the form Baliza normalises it to."
        ),
        "schema": "https://baliza.example/docs/spec/03-notices.md",
        "version": "1.0.0",
        "extension_types": ["new-sco"],
    }


def _observable(object_type: str, value: str, extension_id: str) -> StixObject:
    return {
        "type": object_type,
        "spec_version": SPEC_VERSION,
        "id": observable_id(object_type, value),
        "value": value,
        "extensions": {extension_id: {"extension_type": "new-sco"}},
    }


def _markings(handling: Handling) -> tuple[list[str], list[StixObject]]:
    objects = [tlp_marking(handling.tlp)]
    statement = handling_marking(handling)
    if statement is not None:
        objects.append(statement)
    return [m["id"] for m in objects], objects


def _common(object_id: str, creator: str, markings: list[str], ms: int) -> StixObject:
    return {
        "type": object_id.split("--", 1)[0],
        "spec_version": SPEC_VERSION,
        "id": object_id,
        "created_by_ref": creator,
        "created": timestamp(ms),
        "modified": timestamp(ms),
        "object_marking_refs": markings,
    }


def _nominal_of(notice: Notice) -> Nominal | None:
    if isinstance(notice, Correction):
        return _nominal_of(notice.notice)
    nominal = getattr(notice, "nominal", None)
    return nominal if isinstance(nominal, Nominal) else None


def _nominal_objects(
    item: ExportedNotice, creator: str, markings: list[str], extension_id: str
) -> list[StixObject]:
    nominal = _nominal_of(item.notice)
    if nominal is None:
        return []
    out: list[StixObject] = []
    for company in nominal.companies:
        obj = _common(
            derived_id("identity", "company", item.envelope_id, company.name),
            creator,
            markings,
            item.created_ms,
        )
        obj |= {"name": company.name, "identity_class": "organization", "roles": [company.role]}
        out.append(obj)
    documents = list(nominal.documents)
    for person in nominal.persons:
        name = " ".join(p for p in (person.given_names, person.family_name) if p)
        obj = _common(
            derived_id("identity", "person", item.envelope_id, name, person.birth_date or ""),
            creator,
            markings,
            item.created_ms,
        )
        obj |= {"name": name, "identity_class": "individual", "roles": [person.role]}
        out.append(obj)
        documents += person.documents
    for document in documents:
        out.append(_observable(DOCUMENT_TYPE, document.ref, extension_id))
    return out


def _indicators(
    item: ExportedNotice,
    creator: str,
    markings: list[str],
    observables: Sequence[StixObject],
) -> list[StixObject]:
    notice = item.notice.notice if isinstance(item.notice, Correction) else item.notice
    if not isinstance(notice, PreArrivalAlert):
        return []
    out: list[StixObject] = []
    for obs in observables:
        root = item.supersedes or item.envelope_id
        obj = _common(derived_id("indicator", root, obs["id"]), creator, markings, item.created_ms)
        obj |= {
            "name": f"{obs['type'].removeprefix('baliza-')} {obs['value']}",
            "description": f"Pre-arrival alert: {item.summary}",
            "indicator_types": ["anomalous-activity"],
            "pattern": f"[{obs['type']}:value = '{_quote(obs['value'])}']",
            "pattern_type": "stix",
            "valid_from": timestamp(item.created_ms),
            "valid_until": timestamp(max(notice.expected_ms, item.created_ms) + _DAY_MS),
        }
        out.append(obj)
    return out


def _quote(value: str) -> str:
    """A STIX pattern string literal's body (backslash and quote escaped)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _report_id(envelope_id: str) -> str:
    return derived_id("report", envelope_id)


def notice_objects(item: ExportedNotice, *, nominal: bool = False) -> list[StixObject]:
    """The STIX objects one notice becomes, shared definitions first, the report last."""
    creator_obj = agency_identity(item.sender)
    creator = creator_obj["id"]
    marking_ids, marking_objs = _markings(item.handling)
    extension = observables_extension(creator)
    base: list[StixObject] = [creator_obj, *marking_objs]
    notice = item.notice

    if isinstance(notice, Retraction):
        report = _common(_report_id(notice.supersedes), creator, marking_ids, item.created_ms)
        report |= {
            "name": item.summary,
            "description": f"Retracted by the sender: {notice.reason}",
            "published": timestamp(item.created_ms),
            "report_types": ["threat-report"],
            "object_refs": [creator],
            "revoked": True,
            "external_references": _references(item),
        }
        return [*base, report]

    if isinstance(notice, AlertOutcome):
        note = _common(derived_id("note", item.envelope_id), creator, marking_ids, item.created_ms)
        note |= {
            "abstract": item.summary[:250],
            "content": _text_of(notice) or item.summary,
            "object_refs": [_report_id(notice.alert)],
            "external_references": _references(item),
        }
        return [*base, note]

    observables = [
        _observable(OBSERVABLE_TYPES[kind], value, extension["id"])
        for kind, value in item.refs
        if kind in OBSERVABLE_TYPES
    ]
    people = _nominal_objects(item, creator, marking_ids, extension["id"]) if nominal else []
    indicators = _indicators(item, creator, marking_ids, observables)
    if observables or any(o["type"] == DOCUMENT_TYPE for o in people):
        base.append(extension)
    root = item.supersedes if isinstance(notice, Correction) and item.supersedes else None
    report = _common(_report_id(root or item.envelope_id), creator, marking_ids, item.created_ms)
    if root is not None:
        # A new version of the report it corrects: same id, later ``modified``.
        report["created"] = timestamp(item.created_ms)
    described = _text_of(notice.notice if isinstance(notice, Correction) else notice)
    if isinstance(notice, Correction):
        described = f"Corrected by the sender ({notice.reason}). {described or ''}".strip()
    report |= {
        "name": item.summary,
        "published": timestamp(item.created_ms),
        "report_types": ["indicator" if indicators else "threat-report"],
        "labels": [item.kind.removeprefix("notice.")],
        "object_refs": [creator]
        + [o["id"] for o in observables]
        + [o["id"] for o in people]
        + [o["id"] for o in indicators],
        "external_references": _references(item),
    }
    if described:
        report["description"] = described
    return [*base, *observables, *people, *indicators, report]


def _text_of(notice: Notice) -> str | None:
    text = getattr(notice, "text", None)
    body = getattr(text, "text", None)
    return body if isinstance(body, str) else None


def _references(item: ExportedNotice) -> list[dict[str, str]]:
    refs = [{"source_name": "baliza", "external_id": item.envelope_id}]
    refs += [{"source_name": "baliza-case", "external_id": v} for k, v in item.refs if k == "case"]
    return refs


def unique(objects: Iterable[StixObject]) -> list[StixObject]:
    """Each object once (the first of each id and version), in order."""
    seen: set[tuple[str, str]] = set()
    out: list[StixObject] = []
    for obj in objects:
        key = (str(obj["id"]), str(obj.get("modified", obj.get("created", ""))))
        if key not in seen:
            seen.add(key)
            out.append(obj)
    return out


def bundle(items: Sequence[ExportedNotice], *, nominal: bool = False) -> StixObject:
    """A STIX 2.1 bundle of ``items``; its id is derived from what it holds."""
    objects = unique(obj for item in items for obj in notice_objects(item, nominal=nominal))
    digest = "\n".join(f"{o['id']} {o.get('modified', '')}" for o in objects)
    return {
        "type": "bundle",
        "id": derived_id("bundle", digest),
        "objects": objects,
    }
