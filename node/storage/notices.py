"""Decrypted notices indexed for the local API: pages, filters, search and hits.

``seq`` is the cursor: pages are "the next ``limit`` notices after ``seq`` N"
in local arrival order, so a client that stores the last ``seq`` it saw never
misses or repeats a notice, whatever the senders put in ``created_ms``.
Text search is the engine's full-text search (``search.py``); identifiers
are matched on their normalised reference rows, which ``notice_refs`` and
``query_ref`` in ``baliza.protocol.notices`` produce alike when storing and
when searching.

This module holds the types; the statements that store and read them are
``baliza.node.storage.sql.notices`` (units of work), and what a filter
means, in SQL and in Python, ``baliza.node.storage.sql.notice_filter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from baliza.protocol.notices.refs import RefQuery

MAX_PAGE = 1000


class Direction(StrEnum):
    """Whether the node received the notice or sent it."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeRecord:
    """A notice to store: the indexed fields, its JSON form, and its references.

    ``refs`` are the normalised identifiers ``(ref_type, ref_value)`` from
    ``baliza.protocol.notices.notice_refs``; duplicates are stored once.
    Its recipients are stored with the envelope (``storage.recipients``).
    """

    envelope_id: str
    direction: Direction
    kind: str
    sender: str
    created_ms: int
    stored_ms: int
    tlp: str
    summary: str
    search_text: str
    notice_json: str
    programme: str | None = None
    location: str | None = None
    supersedes: str | None = None
    lang: str | None = None
    refs: tuple[tuple[str, str], ...] = ()
    handling_json: str = '{"tlp": "amber"}'
    content_hash: str | None = None
    shares: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredNotice:
    """A stored notice as the API lists it; ``seq`` is its pagination cursor.

    ``recipients`` are the agencies its envelope was addressed to, besides the sender.
    """

    seq: int
    envelope_id: str
    direction: Direction
    kind: str
    sender: str
    recipients: tuple[str, ...]
    created_ms: int
    stored_ms: int
    programme: str | None
    tlp: str
    location: str | None
    summary: str
    notice_json: str
    supersedes: str | None
    refs: tuple[tuple[str, str], ...]
    handling_json: str = '{"tlp": "amber"}'
    shares: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeFilter:
    """What to list. Every set field narrows the result; all unset lists everything.

    ``since_ms`` is inclusive and ``until_ms`` exclusive, both on
    ``created_ms``. Each of ``refs`` must match one stored reference (or
    facet: a place on the route, a commodity). ``text`` is a full-text query:
    every word must occur. Built from the query string by
    ``baliza.node.services.filters``, the one table of filters.
    """

    kind: str | None = None
    sender: str | None = None
    programme: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    refs: tuple[RefQuery, ...] = ()
    text: str | None = None
    direction: Direction | None = None

    @property
    def narrows(self) -> bool:
        """Whether any filter is set (an empty filter passes everything)."""
        return self != NoticeFilter()


class Hit(NamedTuple):
    """Another notice that names the same thing, and the ``(type, value)`` they share."""

    notice: StoredNotice
    ref: tuple[str, str]
