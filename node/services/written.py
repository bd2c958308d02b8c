"""What a unit of work that stores notices hands back for the live announcement.

Kept apart from ``announce`` so that the units (``ingest_commit``,
``publications``) and the node's state can name it without importing the
node's context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from baliza.node.storage.notices import StoredNotice
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import tokens as token_rows
from baliza.node.storage.sql.notices import HitNote

# Hits sent live with a new notice, the most recent first: a vessel or a
# company named in hundreds of notices must not turn one notice into hundreds
# of events for every follower. The notice's own page lists them all.
LIVE_HITS = 10


@dataclass(frozen=True, slots=True)
class Written:
    """A notice as a unit of work stored it, and its newest hits (if anyone follows).

    ``revocations``: how many API tokens were revoked when it was written
    (read in the same unit when anyone follows). A live stream re-checks its
    token only when that number moved since it last checked, so a revoked
    token's stream ends before the next event without a read per event.
    """

    notice: StoredNotice
    hits: tuple[HitNote, ...] = ()
    revocations: int | None = None


def written_with_hits(
    connection: Connection, notices: Sequence[StoredNotice], *, with_hits: bool
) -> list[Written]:
    """Inside the storing unit: the notices just written, with their hits when ``with_hits``."""
    if not notices:
        return []
    if not with_hits:
        return [Written(n) for n in notices]
    hits = notice_rows.newest_hits(connection, notices, LIVE_HITS)
    revoked = token_rows.revocations(connection)
    return [Written(n, tuple(hits.get((n.sender, n.envelope_id), ())), revoked) for n in notices]
