"""Which person in this agency read or published a notice, and when (issue 20 §1).

A read receipt tells the sender that an *agency* read its notice; the
protocol does not change. Inside the agency, an inquiry must be able to
ask who: each person's action is recorded here with its time, and the
notice page shows it. Only actions by a person signed in with an account
are recorded (an API token is a machine, and its actions are the token's
trust events).

A read is recorded in the same unit as the read receipt it sends
(``services.receipts``), so the two cannot disagree. A publication goes
through the group commit (``services.publications``) with other people's,
so its author is recorded in a unit of its own right after the notice is
stored.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from baliza.node.storage import Database
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import PersonAction

__all__ = ["PersonAction", "people_on", "record_published"]


async def record_published(db: Database, user_id: str, envelope_ids: list[str], now: int) -> None:
    """Record that the person ``user_id`` published these envelopes at ``now``."""

    def work(connection: Connection) -> None:
        for eid in envelope_ids:
            user_rows.record_action(
                connection, at_ms=now, user_id=user_id, action="published", subject=eid
            )

    if envelope_ids:
        await db.run(work, write=True)


async def people_on(db: Database, envelope_id: str) -> list[PersonAction]:
    """Who here read or published ``envelope_id``, oldest first, with names and units."""
    return await db.run(partial(user_rows.actions_on, subject=envelope_id), write=False)
