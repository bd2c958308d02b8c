"""Running a unit-of-work function inside an older ``AsyncSession`` transaction.

For the services not yet moved to ``Database.run``: they keep their
transaction, and call the same ``sql/`` functions the units use, on the
session's connection, instead of the async repository classes these
functions replaced. Goes with ``Database.transaction()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

P = ParamSpec("P")
T = TypeVar("T")


async def in_session(
    session: AsyncSession,
    work: Callable[Concatenate[Connection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``work(connection, *args, **kwargs)`` on ``session``'s connection, in its transaction."""
    return await session.run_sync(lambda sync: work(sync.connection(), *args, **kwargs))
