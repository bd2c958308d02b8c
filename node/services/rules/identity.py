"""What a notice *is*: the identity the re-publication rule compares.

Two notices are the same notice when they are of the same kind (a correction
counts as its replacement) and name the same place, the same day and the
same subject; their wording, quantities, evaluation, requests, attachments,
handling and reporting unit do not matter. Precisely (docs/spec/03-notices.md,
"When two notices are the same notice"):

- seizure: the place (UN/LOCODE or IATA code), the UTC day seized, and the
  subject;
- pre-arrival alert: origin, destination, the UTC day expected, and the
  subject (or, with no identifier, the subject's type);
- outcome: the alert it answers, its result and the seizure it links;
- case notice: the case reference, status, offences, linked notices, task
  references, and the subject of its nominal section;
- receipts and retractions have no identity (they state nothing new).

The subject is the identifiers of the first class the notice names, in the
order of ``SUBJECT_ORDER`` (the most specific first: a container seized from a
vessel is that container, not the vessel), each normalised as the index
normalises it (``protocol/notices/refs.py``); a seizure naming none is
identified by its commodity categories instead.

A one-character change to anything but an identifier, the place or the day
leaves the identity unchanged; container, IMO and air-waybill numbers carry
check digits, so a one-character change there is refused as malformed. The
identity is a SHA-256 over a canonical JSON list, stored in the notice row's
``content_hash`` column so that the lookup is one indexed equality.
"""

from __future__ import annotations

import hashlib
import json

from baliza.node.services.rules.content import carried
from baliza.protocol.notices import (
    AlertOutcome,
    CaseNotice,
    Notice,
    PreArrivalAlert,
    SeizureNotice,
    notice_refs,
)
from baliza.protocol.notices.refs import day

SUBJECT_ORDER = (
    "container",
    "awb",
    "vehicle",
    "flight",
    "vessel",
    "document",
    "person",
    "company",
)


def subject(refs: list[tuple[str, str]]) -> list[str]:
    """The identifiers of the first class named, as ``type:value``, sorted; [] if none."""
    for ref_type in SUBJECT_ORDER:
        values = sorted({v for t, v in refs if t == ref_type})
        if values:
            return [f"{ref_type}:{v}" for v in values]
    return []


def identity_parts(notice: Notice, refs: list[tuple[str, str]] | None = None) -> list[str] | None:
    """The parts that make up what ``notice`` is, or None for a kind without identity.

    ``refs``: ``notice_refs(notice)`` when the caller has it (a correction's
    are its replacement's).
    """
    inner = carried(notice)
    if refs is None:
        refs = notice_refs(inner)
    if isinstance(inner, SeizureNotice):
        about = subject(refs) or sorted(
            {f"commodity:{c.category.value}" for c in inner.commodities}
        )
        return [inner.kind.value, inner.location.code, day(inner.seized_ms), *about]
    if isinstance(inner, PreArrivalAlert):
        about = subject(refs) or [f"subject:{inner.subject.type.value}"]
        return [
            inner.kind.value,
            inner.origin.code,
            inner.destination.code,
            day(inner.expected_ms),
            *about,
        ]
    if isinstance(inner, AlertOutcome):
        return [inner.kind.value, inner.alert, inner.result.value, inner.seizure or ""]
    if isinstance(inner, CaseNotice):
        nominal = [r for r in refs if r[0] != "case"]
        return [
            inner.kind.value,
            inner.case_ref.upper(),
            inner.status.value,
            ",".join(sorted(o.value for o in inner.offences)),
            ",".join(sorted(inner.linked)),
            ",".join(sorted(t.ref for t in inner.tasks)),
            *subject(nominal),
        ]
    return None


def notice_identity(notice: Notice, refs: list[tuple[str, str]] | None = None) -> str | None:
    """SHA-256 (hex) of what ``notice`` is; equal for the same notice however it is worded."""
    parts = identity_parts(notice, refs)
    if parts is None:
        return None
    canonical = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
