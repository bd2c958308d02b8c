"""A person signs in to the console: login, password, then a TOTP or recovery code.

The order is fixed, and each step refuses before the next is tried:

1. the client address is asked of the throttle (``sign_in_throttle``): an
   address that failed too often lately is refused ``sign_in_throttled``
   without anything being checked;
2. the account is read (one read unit) and the standing rules asked
   (``accounts.standing_refusal``): a locked account is refused
   ``sign_in_throttled`` before its password is checked, so a right guess
   during a lock-out is refused like a wrong one;
3. the password is checked with Argon2id off the database thread, also for
   an unknown login or a disabled account (against a dummy hash), so the
   time taken does not tell whether a login exists;
4. the second factor (``accounts.factor_of``), then one write unit that
   marks it used (a conditional update: a code cannot sign in twice, even
   racing), forgets the account's failures and opens the session.

Every refusal the person sees is ``unauthenticated`` (or
``sign_in_throttled``), whichever factor was wrong; the log line names the
cause. A failure counts against the account (persistently: the lock-out
holds across restarts and workers, ``accounts.after_failure``) and against
the address (in memory, per process).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from sqlalchemy import Connection

from baliza.crypto.passwords import PasswordHash, hash_password, verify_password
from baliza.node.services.accounts import (
    LOCKOUT_MS,
    Factor,
    SignInRefusedError,
    after_failure,
    factor_of,
    fold_login,
    standing_refusal,
)
from baliza.node.services.sessions import SignedIn, new_session, person
from baliza.node.services.sign_in_throttle import SignInThrottle
from baliza.node.storage import Database
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import User
from baliza.protocol.errors import BalizaError, TrustError, UsageError

log = logging.getLogger(__name__)

# Checked against when there is no account to check, so that the time taken
# is the same; made once, lazily (an Argon2id hash costs what a sign-in does).
_dummy: list[PasswordHash] = []


def _stored(user: User | None) -> PasswordHash:
    if user is not None:
        try:
            return PasswordHash.from_text(user.password)
        except BalizaError:
            pass  # a damaged row: checked against the dummy, refused below
    if not _dummy:
        _dummy.append(hash_password("no account has this password"))
    return _dummy[0]


def _password_matches(password: str, stored: PasswordHash) -> bool:
    try:
        verify_password(password, stored)
    except TrustError:
        return False
    return True


# Units of work: each is the whole of one transaction.


def _admit(connection: Connection, user_id: str, factor: Factor, now: int) -> tuple[str, SignedIn]:
    # Read again under the write lock: disabled, or locked, since the read.
    user = user_rows.user_by_id(connection, user_id)
    refused = standing_refusal(user, now)
    if refused is not None:
        raise refused
    assert user is not None
    if factor.step is not None and not user_rows.advance_totp_step(
        connection, user_id, factor.step
    ):
        raise SignInRefusedError("replayed_code")
    if factor.recovery is not None and not user_rows.use_recovery_code(
        connection, user_id, factor.recovery, now
    ):
        raise SignInRefusedError("wrong_or_used_recovery_code")
    user_rows.note_success(connection, user_id, now)
    return new_session(connection, person(user), now)


def _count_failure(connection: Connection, user_id: str, now: int) -> bool:
    """Count one failure against the account; True if it locked the account."""
    user = user_rows.user_by_id(connection, user_id)
    if user is None:
        return False
    failures, locked_until = after_failure(user.failures, now)
    user_rows.note_failures(connection, user_id, failures, locked_until)
    return locked_until > now


async def _failure_locks(db: Database, user: User | None, now: int) -> bool:
    if user is None:
        return False
    return await db.run(partial(_count_failure, user_id=user.id, now=now), write=True)


# The use case the console calls.


async def open_person_session(
    db: Database,
    login: str,
    password: str,
    code: str,
    now: int,
    *,
    address: str,
    throttle: SignInThrottle,
) -> tuple[str, SignedIn]:
    """Sign a person in from ``address``; return the session's cookie value and who it is.

    Raises ``TrustError`` (``unauthenticated`` for any wrong factor, unknown
    login or disabled account; ``sign_in_throttled`` while the account or
    the address is locked out). Nothing is written for a refusal but the
    failure count.
    """
    try:
        folded: str | None = fold_login(login)
    except UsageError:
        folded = None
    try:
        throttle.check(None, address, now)
    except TrustError as err:
        _log_refusal(folded, address, "address_locked", err)
        raise
    user = (
        None
        if folded is None
        else await db.run(partial(user_rows.user_by_login, login=folded), write=False)
    )
    try:
        refused = standing_refusal(user, now)
        if refused is not None and refused.cause == "locked":
            raise refused
        matches = await asyncio.to_thread(_password_matches, password, _stored(user))
        if refused is not None:
            raise refused
        assert user is not None
        if not matches:
            raise SignInRefusedError("wrong_password")
        factor = factor_of(user, code, now)
        opened = await db.run(partial(_admit, user_id=user.id, factor=factor, now=now), write=True)
    except SignInRefusedError as err:
        _log_refusal(folded, address, err.cause, err)
        counted = user is not None and err.cause not in ("locked", "disabled")
        if counted and await _failure_locks(db, user, now):
            log.warning(
                "console sign-in locked for %d min: too many failures for user %s",
                LOCKOUT_MS // 60_000,
                folded,
                extra={"client": address, "login": folded, "cause": "account_locked"},
            )
        for locked in throttle.failed(None, address, now):
            log.warning(
                "console sign-in locked for %d min: too many failures for %s",
                LOCKOUT_MS // 60_000,
                locked,
                extra={"client": address, "cause": "address_locked"},
            )
        raise
    log.info(
        "console sign-in: user %s from %s",
        folded,
        address,
        extra={"client": address, "login": folded},
    )
    return opened


def _log_refusal(login: str | None, address: str, cause: str, err: TrustError) -> None:
    log.warning(
        "console sign-in refused: user %s from %s (%s)",
        login or "(malformed)",
        address,
        cause,
        extra={
            "client": address,
            "login": login or "(malformed)",
            "reason": err.reason.value,
            "cause": cause,
        },
    )
