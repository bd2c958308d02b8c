"""TAXII 2.1 resources: discovery, the API root, collections, object pages.

Read-only collections of what this node holds, for the agency's own MISP or
OpenCTI to pull: one of everything **received**, and one per **channel**
this agency is a member of. Their ids are derived from the agency and what
they hold, so a platform configured once keeps working after a restart.

What no collection serves: TLP:RED notices (their recipients export them
by hand, with a confirmation, never by a machine's pull) and nominal data
(persons, companies, their documents), which stays inside Baliza's own
policy. ``docs/operations.md`` says so to the operator.

Pages hold whole objects in a fixed order (the notices' storage order, then
each notice's objects as ``stix.notice_objects`` lists them), so the cursor
``next`` is "the notice's sequence number and the object's place in it".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baliza.node.exchange.stix import MEDIA_TYPE as STIX_MEDIA_TYPE
from baliza.node.exchange.stix import StixObject
from baliza.protocol.errors import InputError, ReasonCode

MEDIA_TYPE = "application/taxii+json;version=2.1"
API_ROOT = "baliza"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 200
_NAMESPACE = uuid.UUID("8d3c6a6e-4f0b-4a5e-9d0c-0b5a1f3a9e21")
_CURSOR = re.compile(r"([0-9]{1,19})\.([0-9]{1,6})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection:
    """One collection: what it holds (everything received, or one channel's notices)."""

    id: str
    title: str
    description: str
    channel: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The TAXII 2.1 collection resource."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": False,
            "media_types": [STIX_MEDIA_TYPE],
        }


def received_collection(agency: str) -> Collection:
    """Every notice this agency received (not RED, without nominal data)."""
    return Collection(
        id=str(uuid.uuid5(_NAMESPACE, f"{agency}\x00received")),
        title="Received",
        description=f"Notices {agency} received from partner agencies (TLP:RED and "
        "nominal data are not served here).",
    )


def channel_collection(agency: str, channel: str, name: str) -> Collection:
    """The notices of one channel, sent or received (not RED, without nominal data)."""
    return Collection(
        id=str(uuid.uuid5(_NAMESPACE, f"{agency}\x00channel\x00{channel}")),
        title=f"Channel {name}",
        description=f"Notices of channel {name} ({channel}) (TLP:RED and nominal data "
        "are not served here).",
        channel=channel,
    )


def discovery(api_root_url: str, agency: str) -> dict[str, Any]:
    """The discovery resource: one API root."""
    return {
        "title": f"Baliza node of {agency}",
        "description": "Read-only TAXII 2.1 collections of the notices this node holds.",
        "default": api_root_url,
        "api_roots": [api_root_url],
    }


def api_root(agency: str) -> dict[str, Any]:
    """The API root resource."""
    return {
        "title": f"Baliza node of {agency}",
        "versions": [MEDIA_TYPE],
        "max_content_length": 0,  # nothing may be written
    }


def accepts(header: str | None) -> bool:
    """Whether an ``Accept`` header takes TAXII 2.1 JSON (absent and ``*/*`` do)."""
    if not header:
        return True
    for item in header.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        if media in {"*/*", "application/*"}:
            return True
        if media == "application/taxii+json":
            versions = [p.split("=", 1)[1] for p in params if p.startswith("version=")]
            if not versions or "2.1" in versions:
                return True
    return False


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: a notice's sequence number and an object's place in it."""

    seq: int
    offset: int = 0

    def token(self) -> str:
        """The opaque ``next`` value a client sends back."""
        return f"{self.seq}.{self.offset}"


def parse_cursor(raw: str) -> Cursor:
    """Read a ``next`` value; ``InputError(BAD_FORMAT)`` naming ``next`` otherwise."""
    found = _CURSOR.fullmatch(raw)
    if found is None:
        raise InputError(ReasonCode.BAD_FORMAT, "is not a cursor this server gave", path="next")
    return Cursor(int(found.group(1)), int(found.group(2)))


def parse_limit(raw: str | None) -> int:
    """The page size asked for: 1…``MAX_LIMIT`` (``DEFAULT_LIMIT`` when absent)."""
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be 1 to {MAX_LIMIT}", path="limit")
    return int(raw)


@dataclass(frozen=True, slots=True)
class NoticeObjects:
    """One notice's STIX objects, where it stands in storage and when it was added."""

    seq: int
    added_ms: int
    objects: Sequence[StixObject]


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """Objects of one page with when each was added, and the cursor after it (if more)."""

    objects: tuple[tuple[StixObject, int], ...]
    next: Cursor | None


def page_of(
    notices: Sequence[NoticeObjects],
    start: Cursor,
    limit: int,
    *,
    types: frozenset[str] = frozenset(),
    ids: frozenset[str] = frozenset(),
    exhausted: bool,
) -> ObjectPage:
    """Up to ``limit`` objects from ``start`` on, each id and version once per page.

    ``exhausted`` says ``notices`` runs to the end of the collection, so a
    short page means no more; otherwise the caller read a bounded window and
    the page ends with a cursor however few objects matched.
    """
    out: list[tuple[StixObject, int]] = []
    seen: set[tuple[str, str]] = set()
    for item in notices:
        if item.seq < start.seq:
            continue
        first = start.offset if item.seq == start.seq else 0
        for index in range(first, len(item.objects)):
            if len(out) == limit:
                return ObjectPage(tuple(out), Cursor(item.seq, index))
            obj = item.objects[index]
            key = (obj["id"], version_of(obj))
            if (
                key in seen
                or (types and obj["type"] not in types)
                or (ids and obj["id"] not in ids)
            ):
                continue
            seen.add(key)
            out.append((obj, item.added_ms))
    if exhausted or not notices:
        return ObjectPage(tuple(out), None)
    return ObjectPage(tuple(out), Cursor(notices[-1].seq + 1, 0))


def version_of(obj: StixObject) -> str:
    """An object's version: ``modified``, or ``created``, or (observables) a fixed one."""
    return str(obj.get("modified") or obj.get("created") or "1970-01-01T00:00:00.000Z")


def envelope(page: ObjectPage) -> dict[str, Any]:
    """The TAXII envelope resource of a page."""
    out: dict[str, Any] = {"more": page.next is not None, "objects": [o for o, _ in page.objects]}
    if page.next is not None:
        out["next"] = page.next.token()
    return out


def manifest(page: ObjectPage, timestamp: Any) -> dict[str, Any]:
    """The TAXII manifest resource of a page (``timestamp`` formats milliseconds)."""
    out: dict[str, Any] = {
        "more": page.next is not None,
        "objects": [
            {
                "id": obj["id"],
                "date_added": timestamp(added),
                "version": version_of(obj),
                "media_type": STIX_MEDIA_TYPE,
            }
            for obj, added in page.objects
        ],
    }
    if page.next is not None:
        out["next"] = page.next.token()
    return out
