"""Each original notice once: a share is the same notice again, not another one.

A node can hold one notice several times: as received from its originator
and as a share of it (another member passed it on), or as received and as
the share it sent on itself. Each such row carries the originator's notice
(``shares`` names the original's envelope id). Counting rows counted one
48 kg seizure twice, and a notice's hits listed its own share as another
notice naming the same container. What is counted or listed as a notice is
each original once; the charts and the notice page read these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.context import NodeContext
from baliza.node.storage.notices import Hit, NoticeFilter, StoredNotice
from baliza.node.storage.sql import notice_pages


def original_id(row: StoredNotice) -> str:
    """The envelope id of the notice a row carries: its own, or the one it shares."""
    return row.shares or row.envelope_id


def originals(rows: Iterable[StoredNotice]) -> list[StoredNotice]:
    """``rows`` with each original notice once (the originator's own row when held)."""
    chosen: dict[str, StoredNotice] = {}
    for row in rows:
        held = chosen.get(original_id(row))
        if held is None or (held.shares is not None and row.shares is None):
            chosen[original_id(row)] = row
    return sorted(chosen.values(), key=lambda r: r.seq)


def distinct_hits(row: StoredNotice, hits: Iterable[Hit]) -> list[Hit]:
    """The hits of ``row`` without its own shares, each other original once per reference."""
    mine = original_id(row)
    seen: set[tuple[str, tuple[str, str]]] = set()
    out = []
    for hit in hits:
        key = (original_id(hit.notice), hit.ref)
        if key[0] == mine or key in seen:
            continue
        seen.add(key)
        out.append(hit)
    return out


def _newest_originals(
    connection: Connection, filters: NoticeFilter, limit: int
) -> list[StoredNotice]:
    return originals(notice_pages.latest(connection, limit, filters))


async def newest_originals(
    ctx: NodeContext, filters: NoticeFilter, *, limit: int
) -> list[StoredNotice]:
    """The newest ``limit`` rows matching ``filters``, each original notice once."""
    unit = partial(_newest_originals, filters=filters, limit=limit)
    return await ctx.db.run(unit, write=False)
