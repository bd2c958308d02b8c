"""API tokens as units of work read them: the revocation count live streams compare."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from baliza.node.storage.models import ApiTokenRow, table_of

_tokens = table_of(ApiTokenRow)
# Tokens are never deleted nor un-revoked, so the count only grows: a stream
# that validated its token at count N need not look again until it changes.
_REVOKED = select(func.count(_tokens.c.revoked_ms))


def revocations(connection: Connection) -> int:
    """How many tokens have been revoked so far (the revocation epoch)."""
    return int(connection.execute(_REVOKED).scalar_one())
