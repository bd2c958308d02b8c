"""What a node holds after a run: its feed as the API pages it, and its SQLite file.

The history checker compares these with what was published. The feed is read
through ``GET /api/v1/notices`` page by page (the way an analyst's client
reads it, so a paging bug that skips or repeats a notice shows up); the
database is read with the standard library's sqlite3 after the node stopped,
so its integrity check and row counts see exactly what is on disk.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

PAGE = 200
# Each notice of a run carries a unique quantity, which the one-line summary
# shows ("cocaine 100123 g"): it identifies a notice whose id its publisher
# never learnt (the node was killed before answering).
# The summary says the quantity as people read it: "cocaine 100.123 kg" or "999 g".
TAG = re.compile(r"cocaine (\d+(?:\.\d+)?) (kg|g)\b")


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One notice as the node's API lists it."""

    id: str
    direction: str
    sender: str
    recipients: tuple[str, ...]
    tag: int | None


@dataclass(frozen=True, slots=True)
class Stored:
    """Rows of the node's database that the history can account for."""

    integrity: str
    foreign_key_problems: int
    received: dict[str, str]  # envelope id -> kind
    sent: dict[str, str]
    notices: dict[str, str]  # envelope id -> direction
    notice_rows: int
    outbox: list[tuple[str, str, str]]  # destination, envelope id, state
    receipts: list[tuple[str, str, str]]  # envelope id, from agency, state


@dataclass(frozen=True, slots=True)
class Holdings:
    """A node's feed and database after a run."""

    agency: str
    feed: list[FeedItem]
    stored: Stored

    def feed_ids(self, direction: str) -> Counter[str]:
        return Counter(item.id for item in self.feed if item.direction == direction)


def _grams(match: re.Match[str]) -> int:
    amount = float(match.group(1))
    return round(amount * 1000) if match.group(2) == "kg" else round(amount)


async def read_feed(api_url: str, token: str) -> list[FeedItem]:
    """Every notice the node lists, following the ``next`` cursor to the end."""
    items: list[FeedItem] = []
    after = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            params = {"after": str(after), "limit": str(PAGE)}
            async with session.get(api_url + "/api/v1/notices", params=params) as resp:
                assert resp.status == 200, f"{api_url}: {resp.status} {await resp.text()}"
                page: dict[str, Any] = await resp.json()
            for raw in page["items"]:
                match = TAG.search(raw["summary"])
                items.append(
                    FeedItem(
                        id=raw["id"],
                        direction=raw["direction"],
                        sender=raw["sender"],
                        recipients=tuple(raw["recipients"]),
                        tag=_grams(match) if match else None,
                    )
                )
            if not page["items"]:
                return items
            assert page["next"] > after, f"{api_url}: the cursor did not advance past {after}"
            after = page["next"]


def read_database(path: Path) -> Stored:
    """Integrity check and the rows of a stopped node's SQLite file."""
    connection = sqlite3.connect(path)
    try:
        (integrity,) = connection.execute("PRAGMA integrity_check").fetchone()
        fk_problems = len(connection.execute("PRAGMA foreign_key_check").fetchall())
        received = dict(connection.execute("SELECT id, kind FROM received_envelopes").fetchall())
        sent = dict(connection.execute("SELECT id, kind FROM sent_envelopes").fetchall())
        rows = connection.execute("SELECT envelope_id, direction FROM notices").fetchall()
        outbox = connection.execute("SELECT destination, envelope_id, state FROM outbox").fetchall()
        receipts = connection.execute(
            "SELECT envelope_id, from_agency, state FROM receipts"
        ).fetchall()
    finally:
        connection.close()
    return Stored(
        integrity=str(integrity),
        foreign_key_problems=fk_problems,
        received=received,
        sent=sent,
        notices=dict(rows),
        notice_rows=len(rows),
        outbox=[tuple(r) for r in outbox],
        receipts=[tuple(r) for r in receipts],
    )


def stored_ids(path: Path, *, connection: sqlite3.Connection | None = None) -> set[str]:
    """Ids of the envelopes a node has stored (read inside ``connection`` if given)."""
    own = connection is None
    conn = connection or sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM received_envelopes")}
    finally:
        if own:
            conn.close()
