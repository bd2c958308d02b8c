"""A person signs in to the console: login, password, then a code or a security key.

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

With a security key (``services.security_keys``), steps 1 to 3 are the
same, then a challenge is stored for the person and the browser asks the
key; its assertion comes back in a second request, which takes the
challenge (single use), checks the assertion and the key's counter, and
opens the session in one write unit that moves the counter forward.

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
from baliza.node.services.security_keys import (
    SIGN_IN,
    Party,
    authentication_options,
    challenge_refusal,
    credential_id_of,
    new_challenge,
    parse_credential,
    security_keys_of,
    take_challenge,
    verified_sign_count,
)
from baliza.node.services.sessions import SignedIn, new_session, person
from baliza.node.services.sign_in_throttle import SignInThrottle
from baliza.node.storage import Database
from baliza.node.storage.sql import security_keys as key_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import User
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError, UsageError

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
    # Read again under the write lock (the row's, on PostgreSQL): disabled,
    # or locked, since the read or while this unit runs.
    user = user_rows.user_by_id(connection, user_id, lock=True)
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


def _admit_key(
    connection: Connection, user_id: str, credential_id: bytes, count: int, now: int
) -> tuple[str, SignedIn]:
    user = user_rows.user_by_id(connection, user_id)
    refused = standing_refusal(user, now)
    if refused is not None:
        raise refused
    assert user is not None
    if not key_rows.advance_sign_count(connection, credential_id, count, now):
        raise SignInRefusedError("sign_count_backwards")  # another sign-in moved it first
    user_rows.note_success(connection, user_id, now)
    return new_session(connection, person(user), now)


def _count_failure(connection: Connection, user_id: str, now: int) -> bool:
    """Count one failure against the account; True if it locked the account."""
    user = user_rows.user_by_id(connection, user_id, lock=True)  # failures at once all count
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
    folded = _folded(login)
    _address_allowed(throttle, folded, address, now)
    user = await _user_of(db, folded)
    try:
        user = await _password_checked(user, password, now)
        factor = factor_of(user, code, now)
        opened = await db.run(partial(_admit, user_id=user.id, factor=factor, now=now), write=True)
    except SignInRefusedError as err:
        await _refused(db, user, folded, address, err, now, throttle)
        raise
    _log_success(folded, address, "code")
    return opened


async def begin_key_sign_in(
    db: Database,
    party: Party,
    login: str,
    password: str,
    now: int,
    *,
    address: str,
    throttle: SignInThrottle,
) -> tuple[str, str]:
    """Check login and password, then start a security-key assertion for that person.

    Returns the pending sign-in's handle (for a cookie) and the options the
    browser's ``navigator.credentials.get`` takes. The same steps and
    refusals as ``open_person_session``; an account with no key is refused
    like a wrong password (cause ``no_security_key``).
    """
    folded = _folded(login)
    _address_allowed(throttle, folded, address, now)
    user = await _user_of(db, folded)
    try:
        user = await _password_checked(user, password, now)
        if not await security_keys_of(db, user.id):
            raise SignInRefusedError("no_security_key")  # and no challenge is stored
        handle, challenge, keys = await new_challenge(db, user.id, SIGN_IN, now)
    except SignInRefusedError as err:
        await _refused(db, user, folded, address, err, now, throttle)
        raise
    return handle, authentication_options(party, challenge, keys)


async def finish_key_sign_in(
    db: Database,
    party: Party,
    handle: str,
    credential_json: str,
    now: int,
    *,
    address: str,
    throttle: SignInThrottle,
) -> tuple[str, SignedIn]:
    """Check a security key's assertion for a pending sign-in; open the session.

    The challenge is taken (deleted) first, so an assertion answers one
    sign-in only. Refused (``unauthenticated``, the cause logged) when the
    challenge is gone, expired or was made for another use; when the key
    is not the person's; when the assertion does not verify (origin, RP
    id, challenge, signature); and when the key's counter does not move
    forward (cause ``sign_count_backwards``: a cloned key).
    """
    _address_allowed(throttle, None, address, now)
    taken = await take_challenge(db, handle)
    user = None
    if taken is not None:
        user = await db.run(partial(user_rows.user_by_id, user_id=taken.user_id), write=False)
    folded = None if user is None else user.login
    try:
        if challenge_refusal(taken, purpose=SIGN_IN, user_id=None, now=now) is not None:
            raise SignInRefusedError("no_challenge")
        assert taken is not None
        refused = standing_refusal(user, now)
        if refused is not None:
            raise refused
        try:
            credential = parse_credential(credential_json)
            credential_id = credential_id_of(credential)
        except UsageError:
            raise SignInRefusedError("bad_assertion") from None
        key = await db.run(partial(key_rows.key_by_id, credential_id=credential_id), write=False)
        if key is None or key.user_id != taken.user_id:
            raise SignInRefusedError("not_their_key")
        try:
            count = verified_sign_count(party, credential, taken.challenge, key)
        except TrustError as err:
            cause = (
                "sign_count_backwards"
                if err.reason == ReasonCode.SIGN_COUNT_BACKWARDS
                else "bad_assertion"
            )
            raise SignInRefusedError(cause) from None
        opened = await db.run(
            partial(
                _admit_key, user_id=taken.user_id, credential_id=credential_id, count=count, now=now
            ),
            write=True,
        )
    except SignInRefusedError as err:
        await _refused(db, user, folded, address, err, now, throttle)
        raise
    _log_success(folded, address, "security_key")
    return opened


# The steps each way of signing in shares.


def _folded(login: str) -> str | None:
    try:
        return fold_login(login)
    except UsageError:
        return None


def _address_allowed(throttle: SignInThrottle, folded: str | None, address: str, now: int) -> None:
    try:
        throttle.check(None, address, now)
    except TrustError as err:
        _log_refusal(folded, address, "address_locked", err)
        raise


async def _user_of(db: Database, folded: str | None) -> User | None:
    if folded is None:
        return None
    return await db.run(partial(user_rows.user_by_login, login=folded), write=False)


async def _password_checked(user: User | None, password: str, now: int) -> User:
    """The account, if it may sign in and ``password`` is its password; else refused."""
    refused = standing_refusal(user, now)
    if refused is not None and refused.cause == "locked":
        raise refused
    matches = await asyncio.to_thread(_password_matches, password, _stored(user))
    if refused is not None:
        raise refused
    assert user is not None
    if not matches:
        raise SignInRefusedError("wrong_password")
    return user


async def _refused(
    db: Database,
    user: User | None,
    folded: str | None,
    address: str,
    err: SignInRefusedError,
    now: int,
    throttle: SignInThrottle,
) -> None:
    """Log a refusal and count it against the account and the address."""
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


def _log_success(folded: str | None, address: str, factor: str) -> None:
    log.info(
        "console sign-in: user %s from %s (%s)",
        folded,
        address,
        factor,
        extra={"client": address, "login": folded, "factor": factor},
    )


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
