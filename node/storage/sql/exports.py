"""Where an export by date added starts: the first notice stored after a time.

TAXII clients ask for what was added after their last pull; without this,
each pull would page from the first notice ever stored to find its start.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from baliza.node.storage.models import NoticeRow, table_of

_notices = table_of(NoticeRow)
_FIRST_AFTER = select(func.min(_notices.c.seq)).where(_notices.c.stored_ms > bindparam("after"))


def first_seq_stored_after(connection: Connection, after_ms: int) -> int | None:
    """The smallest ``seq`` of a notice stored after ``after_ms`` (None: none yet)."""
    found = connection.execute(_FIRST_AFTER, {"after": after_ms}).scalar()
    return None if found is None else int(found)
