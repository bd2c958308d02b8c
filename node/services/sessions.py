"""Console sessions: sign in with an API token, then a cookie stands for it.

The browser never keeps the token: sign-in checks it once (the same check as
the API's bearer header) and opens a server-side session whose random id goes
in an HttpOnly cookie. Every request re-reads the token row, so the role is
the token's role now and revoking the token ends its sessions at once. A
session unused for ``IDLE_MS`` ends; each carries its own CSRF token for forms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.services.tokens import Caller, Role, authenticate
from baliza.node.storage import Database
from baliza.node.storage.sessions import ConsoleSession, ConsoleSessions
from baliza.node.storage.tokens import ApiTokens

IDLE_MS = 30 * 60 * 1000
# Writing ``seen_ms`` on every page view would turn reads into writes; a
# minute of slack in the idle clock costs nothing.
TOUCH_EVERY_MS = 60 * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedIn:
    """Who a session belongs to, and the token its forms must carry."""

    caller: Caller
    csrf: str


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


async def sign_in(session: AsyncSession, token: str, now: int) -> tuple[str, SignedIn]:
    """Check ``token`` and open a session; return its cookie value (shown once)."""
    caller = await authenticate(session, f"Bearer {token.strip()}")
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await ConsoleSessions(session).remove_idle(now - IDLE_MS)
    await ConsoleSessions(session).add(
        ConsoleSession(
            id_hash=_hash(session_id),
            token_id=caller.token_id,
            csrf=csrf,
            created_ms=now,
            seen_ms=now,
        )
    )
    return session_id, SignedIn(caller=caller, csrf=csrf)


async def resume(session: AsyncSession, session_id: str | None, now: int) -> SignedIn | None:
    """The live session behind a cookie; None if there is none, or it ended or idled.

    None rather than an error so that the transaction commits the removal of
    an idle session; the caller answers with the sign-in page.
    """
    if not session_id:
        return None
    sessions = ConsoleSessions(session)
    found = await sessions.find(_hash(session_id))
    if found is None:
        return None
    token = await ApiTokens(session).find_by_id(found.token_id)
    if now - found.seen_ms > IDLE_MS or token is None or not token.active:
        await sessions.remove(found.id_hash)
        return None
    if now - found.seen_ms > TOUCH_EVERY_MS:
        await sessions.touch(found.id_hash, now)
    caller = Caller(token_id=token.id, name=token.name, role=Role(token.role.value))
    return SignedIn(caller=caller, csrf=found.csrf)


async def sign_out(session: AsyncSession, session_id: str | None) -> None:
    """End the session behind a cookie, if there is one."""
    if session_id:
        await ConsoleSessions(session).remove(_hash(session_id))


def csrf_matches(signed_in: SignedIn, submitted: object) -> bool:
    """Whether a form carried the session's CSRF token (compared in constant time)."""
    return isinstance(submitted, str) and hmac.compare_digest(
        signed_in.csrf.encode(), submitted.encode()
    )


# The use cases the console calls, each in its own transaction.


async def open_session(db: Database, token: str, now: int) -> tuple[str, SignedIn]:
    """``sign_in`` in one transaction; raises ``TrustError`` for a bad token."""
    async with db.transaction() as session:
        return await sign_in(session, token, now)


async def resume_session(db: Database, session_id: str | None, now: int) -> SignedIn | None:
    """The live session behind a cookie, read without the write lock when nothing changes.

    Most requests only read; a session to end (idle, revoked) or to touch
    (once a minute) takes a second, writing transaction.
    """
    if not session_id:
        return None
    async with db.transaction(readonly=True) as session:
        found = await ConsoleSessions(session).find(_hash(session_id))
        token = None if found is None else await ApiTokens(session).find_by_id(found.token_id)
    if found is None:
        return None
    live = now - found.seen_ms <= IDLE_MS and token is not None and token.active
    if live and now - found.seen_ms <= TOUCH_EVERY_MS and token is not None:
        caller = Caller(token_id=token.id, name=token.name, role=Role(token.role.value))
        return SignedIn(caller=caller, csrf=found.csrf)
    async with db.transaction() as session:
        return await resume(session, session_id, now)


async def close_session(db: Database, session_id: str | None) -> None:
    """``sign_out`` in one transaction."""
    async with db.transaction() as session:
        await sign_out(session, session_id)
