"""Console sessions: sign in with an account or an API token, then a cookie stands for it.

A person signs in with a login, a password and a second factor
(``services.person_sign_in``); a machine's API token may also open a
session (the same check as the API's bearer header). The browser keeps
neither: sign-in opens a server-side session whose random id goes in an
HttpOnly cookie. Every request re-reads the session with its holder (the
account or the token, in one statement), so the role is the holder's role
now, and disabling the account or revoking the token ends its sessions at
once. A session unused for ``IDLE_MS`` ends;
each carries its own CSRF token for forms.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from enum import Enum
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.sign_in_throttle import LOCKOUT_MS, SignInThrottle, account_of
from baliza.node.services.tokens import Caller, Role, caller_of_token, parse_bearer
from baliza.node.storage import Database
from baliza.node.storage.sessions import ConsoleSession
from baliza.node.storage.sql import sessions as session_rows
from baliza.node.storage.sql import tokens as token_rows
from baliza.node.storage.tokens import ApiToken
from baliza.node.storage.users import User
from baliza.protocol.errors import TrustError

log = logging.getLogger(__name__)

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


def session_hash(session_id: str) -> bytes:
    """How a session is found in storage from its cookie (only the hash is kept)."""
    return _hash(session_id)


Found = tuple[ConsoleSession, ApiToken | User]


class Verdict(Enum):
    """What a request finds of its session (the rule, apart from any I/O)."""

    GONE = "gone"  # no such session
    END = "end"  # idle, its token revoked or its account disabled: remove it
    TOUCH = "touch"  # live, its use last noted over a minute ago: note it
    LIVE = "live"  # live, nothing to write


def verdict(found: Found | None, now: int) -> Verdict:
    """Whether a session found at ``now`` is gone, to end, to touch, or simply live."""
    if found is None:
        return Verdict.GONE
    session, holder = found
    ended = not holder.active if isinstance(holder, ApiToken) else holder.disabled
    if now - session.seen_ms > IDLE_MS or ended:
        return Verdict.END
    return Verdict.TOUCH if now - session.seen_ms > TOUCH_EVERY_MS else Verdict.LIVE


def _signed_in(found: Found) -> SignedIn:
    session, holder = found
    if isinstance(holder, ApiToken):
        caller = Caller(
            token_id=holder.id,
            name=holder.name,
            role=Role(holder.role.value),
            owner_id=holder.owner_id,
        )
    else:
        caller = person(holder)
    return SignedIn(caller=caller, csrf=session.csrf)


def person(user: User) -> Caller:
    """The caller a person's session stands for."""
    return Caller(
        token_id="", name=user.name, role=Role(user.role), user_id=user.id, unit=user.unit
    )


def csrf_matches(signed_in: SignedIn, submitted: object) -> bool:
    """Whether a form carried the session's CSRF token (compared in constant time)."""
    return isinstance(submitted, str) and hmac.compare_digest(
        signed_in.csrf.encode(), submitted.encode()
    )


# Units of work: each is the whole of one transaction.


def new_session(connection: Connection, caller: Caller, now: int) -> tuple[str, SignedIn]:
    """Store a new session held by ``caller`` (inside a unit of work); return its cookie value."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session_rows.remove_idle_sessions(connection, now - IDLE_MS)
    session_rows.insert_session(
        connection,
        ConsoleSession(
            id_hash=_hash(session_id),
            token_id=caller.token_id if caller.user_id is None else None,
            user_id=caller.user_id,
            csrf=csrf,
            created_ms=now,
            seen_ms=now,
        ),
    )
    return session_id, SignedIn(caller=caller, csrf=csrf)


def _sign_in(connection: Connection, token_id: str, secret: str, now: int) -> tuple[str, SignedIn]:
    caller = caller_of_token(token_rows.token_by_id(connection, token_id), secret)
    return new_session(connection, caller, now)


def _settle(connection: Connection, id_hash: bytes, now: int) -> SignedIn | None:
    """Read the session again under the write lock and end or touch it as it then stands."""
    found = session_rows.session_with_holder(connection, id_hash)
    match verdict(found, now):
        case Verdict.GONE:
            return None
        case Verdict.END:
            session_rows.remove_session(connection, id_hash)
            return None
        case Verdict.TOUCH:
            session_rows.touch_session(connection, id_hash, now)
    assert found is not None  # GONE returned above
    return _signed_in(found)


# The use cases the console calls.


async def open_session(
    db: Database, token: str, now: int, *, address: str, throttle: SignInThrottle
) -> tuple[str, SignedIn]:
    """Check ``token`` typed in from ``address`` and open a session; return its cookie value.

    The throttle is asked first: a token or address locked out is refused
    ``sign_in_throttled`` without the token being checked. Every failure is
    logged (the token's id, never its secret, and the address), and so is
    every lock-out it causes. One write unit. Raises ``TrustError`` for a
    bad token (nothing is written).
    """
    account = account_of(token)
    try:
        throttle.check(account, address, now)
    except TrustError:
        log.info("console sign-in refused while locked out: token %s from %s", account, address)
        raise
    try:
        token_id, secret = parse_bearer(f"Bearer {token.strip()}")
        opened = await db.run(
            partial(_sign_in, token_id=token_id, secret=secret, now=now), write=True
        )
    except TrustError as err:
        log.warning(
            "console sign-in failed: token %s from %s (%s)",
            account or "(malformed)",
            address,
            err.reason.value,
            extra={"client": address, "reason": err.reason.value},
        )
        for locked in throttle.failed(account, address, now):
            log.warning(
                "console sign-in locked for %d min: too many failures for %s",
                LOCKOUT_MS // 60_000,
                locked,
                extra={"client": address},
            )
        raise
    throttle.succeeded(account)
    return opened


async def resume_session(db: Database, session_id: str | None, now: int) -> SignedIn | None:
    """The live session behind a cookie; None if there is none, or it ended or idled.

    Every console request asks this, and nearly all of them only read: one
    read unit of one statement (the session with its holder). A session to
    end (idle, its token revoked or its account disabled) or to touch (once a minute) then takes a
    write unit, which reads it again under the write lock and decides anew.
    Reading first keeps page views off SQLite's one writer and its fsync;
    the second trip is paid at most once a minute per session.
    """
    if not session_id:
        return None
    id_hash = _hash(session_id)
    found = await db.run(partial(session_rows.session_with_holder, id_hash=id_hash), write=False)
    match verdict(found, now):
        case Verdict.GONE:
            return None
        case Verdict.LIVE:
            assert found is not None
            return _signed_in(found)
    return await db.run(partial(_settle, id_hash=id_hash, now=now), write=True)


async def session_in_force(db: Database, session_id: str | None, now: int) -> bool:
    """Whether the session behind a cookie is still live at ``now``, without noting a use.

    A long request (the console's live feed) asks this before each event and
    each keep-alive, so the feed ends when the person signs out, when the
    session idles past ``IDLE_MS`` or when its token is revoked or its account disabled. Following
    the feed is not a use of the session: only pages touch it, so an open
    feed cannot keep a session alive that nobody is at. One read unit.
    """
    if not session_id:
        return False
    found = await db.run(
        partial(session_rows.session_with_holder, id_hash=_hash(session_id)), write=False
    )
    return verdict(found, now) in (Verdict.LIVE, Verdict.TOUCH)


async def close_session(db: Database, session_id: str | None) -> None:
    """End the session behind a cookie, if there is one."""
    if session_id:
        await db.run(partial(session_rows.remove_session, id_hash=_hash(session_id)), write=True)
