"""Turning a decrypted notice into the rows that make it findable.

The envelope is kept as received (evidence); what is indexed here is derived
and could be rebuilt from the envelopes and the keys: one row per notice with
the fields analysts filter on, plus one row per identifier (container, vessel,
flight, company, document) so two notices naming the same one become a hit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from baliza.node.services.rules.identity import notice_identity
from baliza.node.storage.notices import Direction, Hit, NoticeRecord, StoredNotice
from baliza.protocol.envelope import Envelope, Header
from baliza.protocol.notices import (
    Notice,
    notice_facets,
    notice_language,
    notice_location,
    notice_programme,
    notice_refs,
    notice_search_text,
    notice_summary,
    wire_to_json,
)
from baliza.protocol.notices.refs import HIT_TYPES


@dataclass(frozen=True, slots=True)
class IndexedNotice:
    """A notice ready to store, and the event live followers get."""

    row: NoticeRecord


def index_notice(
    envelope: Envelope,
    notice: Notice,
    direction: Direction,
    now: int,
    *,
    plaintext: bytes | None = None,
) -> IndexedNotice:
    """Derive the stored index row of ``notice`` carried by ``envelope``.

    The row's ``content_hash`` holds what the notice *is*
    (``rules.identity.notice_identity``), which the re-publication rule looks
    up. ``plaintext`` (the notice's canonical bytes) is accepted from callers
    that hold it and no longer needed: the identity is not a hash of bytes.
    """
    del plaintext
    header = envelope.header
    # Each derived once: the wire map, references and facets feed several fields.
    wire = notice.to_wire()
    refs = notice_refs(notice)
    facets = notice_facets(notice)
    row = NoticeRecord(
        envelope_id=header.id,
        direction=direction,
        kind=header.kind.value,
        sender=header.sender,
        created_ms=header.created_ms,
        stored_ms=now,
        programme=notice_programme(notice),
        tlp=header.handling.tlp.value,
        location=notice_location(notice),
        summary=notice_summary(notice, refs),
        search_text=notice_search_text(notice, wire=wire, refs=refs, facets=facets),
        lang=notice_language(notice),
        notice_json=json.dumps(wire_to_json(wire), sort_keys=True, ensure_ascii=False),
        supersedes=header.supersedes,
        refs=tuple(sorted(set(refs + facets + _channel_facet(header)))),
        handling_json=json.dumps(header.handling.to_wire(), sort_keys=True),
        content_hash=notice_identity(notice, refs),
        shares=header.shares,
    )
    return IndexedNotice(row)


def _channel_facet(header: Header) -> list[tuple[str, str]]:
    """The channel a notice went through, as a facet: a feed narrows by it, TAXII serves by it."""
    return [] if header.channel is None else [("channel", str(header.channel))]


def handling_json(raw: str) -> dict[str, Any]:
    """The stored handling block as every view shows it: tlp, codes, restrictions."""
    block = json.loads(raw)
    return {
        "tlp": block["tlp"],
        "codes": block.get("codes", []),
        "restrictions": block.get("restrictions"),
    }


def notice_row_json(row: StoredNotice, *, with_body: bool = True) -> dict[str, Any]:
    """The API's JSON form of a stored notice."""
    out: dict[str, Any] = {
        "id": row.envelope_id,
        "seq": row.seq,
        "direction": row.direction.value,
        "kind": row.kind,
        "sender": row.sender,
        "recipients": list(row.recipients),
        "created_ms": row.created_ms,
        "stored_ms": row.stored_ms,
        "programme": row.programme,
        "tlp": row.tlp,
        "location": row.location,
        "summary": row.summary,
        "handling": handling_json(row.handling_json),
        "supersedes": row.supersedes,
        "shares": row.shares,
        "channel": next((v for t, v in row.refs if t == "channel"), None),
        "refs": [{"type": t, "value": v} for t, v in row.refs if t in HIT_TYPES],
        "facets": [{"type": t, "value": v} for t, v in row.refs if t not in HIT_TYPES],
    }
    if with_body:
        out["notice"] = json.loads(row.notice_json)
    return out


def hits_json(hits: list[Hit]) -> list[dict[str, Any]]:
    """Hits as every view shows them: the other notice, and the ``[type, value]`` both name."""
    return [
        hit_json(
            h.notice.envelope_id, h.notice.sender, h.notice.summary, h.notice.handling_json, h.ref
        )
        for h in hits
    ]


def hit_json(
    envelope_id: str, sender: str, summary: str, handling: str, ref: tuple[str, str]
) -> dict[str, Any]:
    """One hit as every view shows it (the live stream's too)."""
    return {
        "id": envelope_id,
        "sender": sender,
        "summary": summary,
        "handling": handling_json(handling),
        "ref": list(ref),
    }
