"""A person's watch-list, notifications and e-mail settings: the use cases every face calls.

The API (``/api/v1/watch``, ``/api/v1/notifications``), the console's
Watching page and ``baliza watch`` all come here. Every use case takes the
owner (``owner_of`` the caller: ``user:<id>`` for a person, ``token:<id>``
for an API token) and every statement names it, so nobody reaches another
owner's entries: a foreign id is simply not found.

A watch is stored as the API's own query string and checked by
``parse_filters`` before it is stored, so what it matches is what the same
query lists (``services/notifier.py`` tests notices with ``live_test``).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Final
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from baliza.node.services.accounts import fold_login
from baliza.node.services.filters import parse_filters
from baliza.node.services.rules import notify as rules
from baliza.node.services.tokens import Caller
from baliza.node.storage import Database
from baliza.node.storage.notices import NoticeFilter
from baliza.node.storage.notify import Notification, NotifyPrefs, WatchEntry
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import notify as rows
from baliza.node.storage.sql import users as user_rows
from baliza.protocol.errors import InputError, ReasonCode

__all__ = [
    "Inbox",
    "Notification",
    "NotifyPrefs",
    "WatchEntry",
    "add_watch",
    "checked_prefs",
    "get_prefs",
    "list_watches",
    "mark_read",
    "notifications",
    "owner_by_login",
    "owner_of",
    "remove_watch",
    "set_prefs",
    "unread_count",
    "watch_filter",
]

MAX_LIST: Final = 200
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}")


def owner_of(caller: Caller) -> str:
    """Whose entries a caller works on: their account, or the token itself."""
    return f"user:{caller.user_id}" if caller.user_id is not None else f"token:{caller.token_id}"


async def owner_by_login(db: Database, login: str) -> str:
    """The owner of the account ``login``; ``InputError(NOT_FOUND)`` if there is none."""
    user = await db.run(partial(user_rows.user_by_login, login=fold_login(login)), write=False)
    if user is None:
        raise InputError(ReasonCode.NOT_FOUND, f"no account {login!r}", path="user")
    return f"user:{user.id}"


def watch_filter(query: str) -> NoticeFilter:
    """The notice filter a stored watch query means (``parse_filters``, as the stream reads it)."""
    pairs = dict(parse_qsl(query, keep_blank_values=True))
    if "after" in pairs:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "a watch has no cursor", path="after")
    return parse_filters(pairs, "stream")


def new_watch(owner: str, what: str, value: str, now: int) -> WatchEntry:
    """A watch entry checked like the API checks a query; ``InputError`` naming the field."""
    query = rules.watch_query(what, value)
    watch_filter(query)  # refused here, with the filter's own reason, before anything is stored
    return WatchEntry(
        id=secrets.token_hex(8),
        owner=owner,
        what=what.strip().lower(),
        value=value.strip(),
        query=query,
        created_ms=now,
    )


async def add_watch(db: Database, owner: str, what: str, value: str, now: int) -> WatchEntry:
    """Follow an identifier or a saved filter; refused past ``MAX_WATCHES`` entries."""
    entry = new_watch(owner, what, value, now)

    def work(connection: Connection) -> None:
        if rows.count_watches(connection, owner) >= rules.MAX_WATCHES:
            raise InputError(
                ReasonCode.OUT_OF_RANGE,
                f"a watch-list holds at most {rules.MAX_WATCHES} entries; remove one first",
                path="what",
            )
        rows.insert_watch(connection, entry)

    await db.run(work, write=True)
    return entry


async def list_watches(db: Database, owner: str) -> list[WatchEntry]:
    """``owner``'s watch entries, oldest first."""
    return await db.run(partial(rows.watches_of, owner=owner), write=False)


async def remove_watch(db: Database, owner: str, watch_id: str) -> None:
    """Stop following ``watch_id``; ``InputError(NOT_FOUND)`` if ``owner`` has no such entry."""
    removed = await db.run(partial(rows.delete_watch, owner=owner, watch_id=watch_id), write=True)
    if not removed:
        raise InputError(ReasonCode.NOT_FOUND, "no such watch entry of yours", path="id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbox:
    """One owner's newest notifications and how many are unread."""

    items: tuple[Notification, ...]
    unread: int
    newest_seq: int = 0  # the newest stored notice: where a live stream starts


async def notifications(
    db: Database, owner: str, *, limit: int = 50, unread: bool = False
) -> Inbox:
    """``owner``'s newest notifications (at most ``MAX_LIST``) and the unread count, one read."""
    if not 1 <= limit <= MAX_LIST:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be in [1, {MAX_LIST}]", path="limit")

    def work(connection: Connection) -> Inbox:
        items = rows.notifications_of(connection, owner, limit, unread=unread)
        return Inbox(
            items=tuple(items),
            unread=rows.unread_count(connection, owner),
            newest_seq=notice_rows.last_seq(connection),
        )

    return await db.run(work, write=False)


async def unread_count(db: Database, owner: str) -> int:
    """How many of ``owner``'s notifications are unread (the badge)."""
    return await db.run(partial(rows.unread_count, owner=owner), write=False)


async def mark_read(db: Database, owner: str, seqs: list[int] | None, now: int) -> int:
    """Mark ``owner``'s notifications read (all when ``seqs`` is None); how many changed.

    Another owner's numbers change nothing: every update names the owner.
    """
    return await db.run(partial(rows.mark_read, owner=owner, seqs=seqs, now_ms=now), write=True)


async def get_prefs(db: Database, owner: str) -> NotifyPrefs:
    """``owner``'s e-mail settings."""
    return await db.run(partial(rows.prefs_of, owner=owner), write=False)


def checked_prefs(owner: str, email: str, mode: str, digest_minutes: int) -> NotifyPrefs:
    """E-mail settings as typed, checked; ``InputError`` naming the field."""
    address = email.strip() or None
    if address is not None and not _EMAIL.fullmatch(address):
        raise InputError(ReasonCode.BAD_FORMAT, "is not an e-mail address", path="email")
    if mode not in rules.MODES:
        raise InputError(
            ReasonCode.BAD_ENUM, f"must be one of: {', '.join(rules.MODES)}", path="mode"
        )
    if mode != "off" and address is None:
        raise InputError(ReasonCode.MISSING_FIELD, "e-mail needs an address", path="email")
    digest_ms = digest_minutes * 60_000
    if not rules.DIGEST_MIN_MS <= digest_ms <= rules.DIGEST_MAX_MS:
        raise InputError(
            ReasonCode.OUT_OF_RANGE,
            f"must be between {rules.DIGEST_MIN_MS // 60_000} and {rules.DIGEST_MAX_MS // 60_000}",
            path="digest_minutes",
        )
    return NotifyPrefs(owner=owner, email=address, mode=mode, digest_ms=digest_ms)


async def set_prefs(db: Database, prefs: NotifyPrefs, now: int) -> None:
    """Save e-mail settings; a new digest period starts now."""

    def work(connection: Connection) -> None:
        had = rows.prefs_of(connection, prefs.owner)
        last = had.last_digest_ms or now
        rows.save_prefs(connection, dataclasses.replace(prefs, last_digest_ms=last))

    await db.run(work, write=True)
