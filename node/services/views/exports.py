"""Notices as STIX for the doors out: a TAXII collection's pages, an export bundle.

Each function is one read unit. What may leave is decided here, once, for
every door (the API, the CLI, TAXII): ``export_allowed`` refuses TLP:RED
unless its reader confirmed it, and nominal data goes only when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.node.exchange.stix import ExportedNotice, StixObject, notice_objects
from baliza.node.exchange.taxii import (
    Collection,
    Cursor,
    NoticeObjects,
    channel_collection,
    received_collection,
)
from baliza.node.services.channels import describe
from baliza.node.services.context import NodeContext
from baliza.node.storage.notices import Direction, NoticeFilter, StoredNotice
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import exports as export_rows
from baliza.node.storage.sql import notice_pages
from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.notices import notice_from_json
from baliza.protocol.notices.refs import RefQuery

MAX_EXPORT = 10_000  # notices in one file
# Notices read per TAXII page at most: a page of up to 1,000 objects needs
# at most this many notices (each brings three objects or more).
WINDOW = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    """What a person asked to export, and what they confirmed."""

    nominal: bool = False
    confirm_red: bool = False


def exported(row: StoredNotice) -> ExportedNotice:
    """The export form of a stored notice (its JSON decoded once more)."""
    handling = Handling.from_wire(json.loads(row.handling_json))
    return ExportedNotice(
        envelope_id=row.envelope_id,
        kind=row.kind,
        sender=row.sender,
        created_ms=row.created_ms,
        summary=row.summary,
        handling=handling,
        refs=row.refs,
        notice=notice_from_json(json.loads(row.notice_json)),
        supersedes=row.supersedes,
    )


def export_allowed(row: StoredNotice, request: ExportRequest) -> None:
    """Refuse (``handling_forbids``) a TLP:RED notice its reader did not confirm exporting.

    RED is for the named recipients' eyes: it leaves in a file only when the
    person exporting says they know, and never by a machine's pull.
    """
    if row.tlp == Tlp.RED.value and not request.confirm_red:
        raise TrustError(
            ReasonCode.HANDLING_FORBIDS,
            f"{row.envelope_id} is TLP:RED: confirm that the file stays with its recipients",
            path="confirm_red",
        )


async def collections(ctx: NodeContext) -> list[Collection]:
    """The received collection and one per channel this agency is a member of."""
    latest = await ctx.db.run(channel_rows.all_latest, write=False)
    found = [received_collection(ctx.agency)]
    for membership in latest:
        if ctx.agency in membership.members:
            name = str(describe(membership, ctx.agency)["name"])
            found.append(channel_collection(ctx.agency, membership.channel, name))
    return found


def _filter_of(collection: Collection) -> NoticeFilter:
    if collection.channel is None:
        return NoticeFilter(direction=Direction.IN)
    return NoticeFilter(refs=(RefQuery("channel", collection.channel),))


def _window(
    connection: Connection, where: NoticeFilter, start: Cursor, added_after: int | None
) -> tuple[list[StoredNotice], bool]:
    after = start.seq - 1
    if added_after is not None:
        first = export_rows.first_seq_stored_after(connection, added_after)
        if first is None:
            return [], True
        after = max(after, first - 1)
    rows: list[StoredNotice] = []
    exhausted = False
    while len(rows) < WINDOW:
        page = notice_pages.list_page(connection, after, WINDOW - len(rows), where)
        rows += page
        if len(page) < min(WINDOW - len(rows) + len(page), 200):
            exhausted = True
            break
        after = page[-1].seq
    if added_after is not None:
        rows = [r for r in rows if r.stored_ms > added_after]
    return rows, exhausted


async def collection_window(
    ctx: NodeContext, collection: Collection, start: Cursor, added_after: int | None
) -> tuple[list[NoticeObjects], bool]:
    """A window of a collection's notices from ``start`` as STIX objects, and whether it ends.

    RED notices are left out; nominal data is never included.
    """
    rows, exhausted = await ctx.db.run(
        partial(_window, where=_filter_of(collection), start=start, added_after=added_after),
        write=False,
    )
    return [
        NoticeObjects(row.seq, row.stored_ms, notice_objects(exported(row)))
        for row in rows
        if row.tlp != Tlp.RED.value
    ], exhausted


@dataclass(frozen=True, slots=True)
class Selection:
    """The notices an export holds (oldest first) and how many matched in all."""

    rows: tuple[StoredNotice, ...]
    total: int

    @property
    def truncated(self) -> bool:
        """Whether more matched than the export holds."""
        return self.total > len(self.rows)


def _select(connection: Connection, where: NoticeFilter, limit: int) -> Selection:
    rows: list[StoredNotice] = []
    after = 0
    while len(rows) < limit:
        page = notice_pages.list_page(connection, after, min(200, limit - len(rows)), where)
        rows += page
        if len(page) < min(200, limit - len(rows) + len(page)):
            break
        after = page[-1].seq
    return Selection(tuple(rows), notice_pages.count(connection, where))


async def select_for_export(
    ctx: NodeContext, where: NoticeFilter, request: ExportRequest, *, limit: int
) -> Selection:
    """The first ``limit`` notices matching ``where``, each checked by ``export_allowed``."""
    chosen = await ctx.db.run(partial(_select, where=where, limit=limit), write=False)
    for row in chosen.rows:
        export_allowed(row, request)
    return chosen


def objects_of(items: Sequence[ExportedNotice], request: ExportRequest) -> list[StixObject]:
    """Every object of ``items`` in order (shared ones repeated: ``stix.bundle`` dedupes)."""
    return [obj for item in items for obj in notice_objects(item, nominal=request.nominal)]
