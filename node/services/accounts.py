"""People's accounts: who may sign in to the console, and how (issue 20 §1).

Rules of this file:

- The rules are pure functions, asked by every path and tested without a
  database: ``fold_login``, ``password_refusal``, ``totp_step`` (the code
  of a time step within ±1 step of now), ``factor_of`` (which second factor
  a typed code is, and whether it may be used), ``after_failure`` (the
  account lock-out).
- A second factor is single use. A TOTP code signs in once: the account
  keeps the last step whose code was accepted, and a code of that step or
  an earlier one is refused as replayed (RFC 6238 §5.2). A recovery code is
  marked used in the same unit that opens the session. Both marks are
  conditional updates, so two sign-ins racing with one code cannot both win.
- Passwords are hashed with Argon2id (crypto/passwords.py) off the database
  thread; secrets are shown once, at enrolment or reset, and never stored
  in clear: recovery codes are kept as SHA-256 (80 random bits each, beyond
  an offline search), the TOTP secret in clear because the node must
  compute codes from it (as every TOTP server does).
- Users are disabled, never deleted: what a person did stays attributed.

Each use case is one unit of work (``Database.run``), recorded as a trust
event like token changes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Final

import pyotp
from sqlalchemy import Connection

from baliza.crypto.passwords import PasswordHash, hash_password, verify_password
from baliza.node.services.rules.roles import Role
from baliza.node.storage import Database
from baliza.node.storage.sql import sessions as session_rows
from baliza.node.storage.sql import tokens as token_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import User
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError, UsageError

__all__ = [
    "Enrolment",
    "Factor",
    "User",
    "add_user",
    "after_failure",
    "change_password",
    "disable_user",
    "factor_of",
    "fold_login",
    "list_users",
    "password_refusal",
    "regenerate_recovery_codes",
    "reset_user",
    "totp_step",
]

MIN_PASSWORD_LEN: Final = 12
TOTP_PERIOD_S: Final = 30
TOTP_WINDOW: Final = 1  # steps either side of now: a phone's clock a little off still works
RECOVERY_CODES: Final = 10
MAX_FAILURES: Final = 5  # consecutive failed sign-ins that lock an account
LOCKOUT_MS: Final = 15 * 60 * 1000
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_SIX_DIGITS = re.compile(r"[0-9]{6}")
_RECOVERY = re.compile(r"[a-z2-7]{16}")


# ---------------------------------------------------------------------- rules


def fold_login(raw: str) -> str:
    """The login name as stored: trimmed and case-folded; ``UsageError(BAD_FORMAT)`` if unusable."""
    login = raw.strip().casefold()
    if not _LOGIN.fullmatch(login):
        raise UsageError(
            ReasonCode.BAD_FORMAT,
            "a login name is 2 to 64 letters, digits, dots, hyphens or underscores",
            path="login",
        )
    return login


def password_refusal(password: str, login: str) -> UsageError | None:
    """Why ``password`` may not be ``login``'s password, or None if it may.

    At least ``MIN_PASSWORD_LEN`` characters, and not the login name in any case.
    """
    if len(password) < MIN_PASSWORD_LEN:
        return UsageError(
            ReasonCode.WEAK_PASSWORD,
            f"a password has at least {MIN_PASSWORD_LEN} characters",
            path="password",
        )
    if password.strip().casefold() == login.casefold():
        return UsageError(
            ReasonCode.WEAK_PASSWORD, "a password is not the login name", path="password"
        )
    return None


def totp_step(secret: str, code: str, now_ms: int) -> int | None:
    """The time step whose code ``code`` is, within ``TOTP_WINDOW`` steps of now; else None.

    Every step of the window is computed and compared in constant time, so
    the answer's timing does not say which step matched.
    """
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD_S)
    now_step = now_ms // 1000 // TOTP_PERIOD_S
    found = None
    for step in range(now_step - TOTP_WINDOW, now_step + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            found = step
    return found


def recovery_hash(code: str) -> bytes:
    """The stored form of a recovery code, as typed (spaces and hyphens ignored, any case)."""
    return hashlib.sha256(_squeeze(code).encode()).digest()


def _squeeze(code: str) -> str:
    return code.replace("-", "").replace(" ", "").strip().casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class Factor:
    """The second factor a sign-in presented: a TOTP step or a recovery code's hash."""

    step: int | None = None
    recovery: bytes | None = None


class SignInRefusedError(TrustError):
    """A sign-in refused, with the cause the log names (never shown to the person).

    The person sees one answer for every cause (``unauthenticated``) or, when
    locked out, ``sign_in_throttled``: which factor was wrong is not told.
    """

    def __init__(self, cause: str, *, reason: ReasonCode = ReasonCode.UNAUTHENTICATED) -> None:
        detail = (
            "too many failed sign-ins for this account; try again later"
            if reason == ReasonCode.SIGN_IN_THROTTLED
            else "wrong login name, password or code"
        )
        super().__init__(reason, detail)
        self.cause = cause


def factor_of(user: User, code: str, now_ms: int) -> Factor:
    """The second factor ``code`` is for ``user`` at ``now_ms``; raise ``SignInRefusedError`` if
    none.

    Six digits are a TOTP code: refused ``wrong_code`` outside the window,
    ``replayed_code`` if its step is not after the last one used. Anything
    else is read as a recovery code, whose single use the unit of work
    checks (``used_recovery_code`` there).
    """
    typed = code.strip().replace(" ", "")
    if _SIX_DIGITS.fullmatch(typed):
        step = totp_step(user.totp_secret, typed, now_ms)
        if step is None:
            raise SignInRefusedError("wrong_code")
        if step <= user.totp_step:
            raise SignInRefusedError("replayed_code")
        return Factor(step=step)
    if not _RECOVERY.fullmatch(_squeeze(typed)):
        raise SignInRefusedError("wrong_code")
    return Factor(recovery=recovery_hash(typed))


def standing_refusal(user: User | None, now_ms: int) -> SignInRefusedError | None:
    """Why ``user`` may not sign in at all now, before any secret is checked; None if they may."""
    if user is None:
        return SignInRefusedError("unknown_login")
    if user.disabled:
        return SignInRefusedError("disabled")
    if user.locked_until_ms > now_ms:
        return SignInRefusedError("locked", reason=ReasonCode.SIGN_IN_THROTTLED)
    return None


def after_failure(failures: int, now_ms: int) -> tuple[int, int]:
    """(failures, locked_until_ms) once one more sign-in has failed.

    The ``MAX_FAILURES``-th consecutive failure locks the account for
    ``LOCKOUT_MS`` and starts the count again.
    """
    if failures + 1 >= MAX_FAILURES:
        return 0, now_ms + LOCKOUT_MS
    return failures + 1, 0


# ---------------------------------------------------------------- enrolment


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolment:
    """What a person is handed once, at creation or reset: never shown again."""

    login: str
    name: str
    role: str
    password: str | None  # set when generated here; None when the administrator chose it
    totp_secret: str
    totp_uri: str
    recovery_codes: tuple[str, ...]


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()  # 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _new_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def _role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise UsageError(
            ReasonCode.BAD_ENUM, f"role must be one of {', '.join(Role)}", path="role"
        ) from None


def _text(raw: str, path: str, max_len: int = 100) -> str:
    text = raw.strip()
    if not text or len(text) > max_len or any(ord(c) < 32 for c in text):
        raise UsageError(ReasonCode.BAD_FORMAT, f"1 to {max_len} printable characters", path=path)
    return text


async def _secrets(login: str, password: str | None, issuer: str) -> tuple[Enrolment, str]:
    """A new password (given or generated), TOTP secret and recovery codes; and the hash."""
    chosen = password if password is not None else _new_password()
    refused = password_refusal(chosen, login)
    if refused is not None:
        raise refused
    stored = await asyncio.to_thread(hash_password, chosen)
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret, interval=TOTP_PERIOD_S).provisioning_uri(
        name=login, issuer_name=issuer
    )
    codes = tuple(_new_recovery_code() for _ in range(RECOVERY_CODES))
    enrolment = Enrolment(
        login=login,
        name="",
        role="",
        password=None if password is not None else chosen,
        totp_secret=secret,
        totp_uri=uri,
        recovery_codes=codes,
    )
    return enrolment, stored.to_text()


def _add(connection: Connection, user: User, codes: tuple[str, ...], actor: str) -> None:
    if user_rows.user_by_login(connection, user.login) is not None:
        raise UsageError(ReasonCode.CONFLICT, f"login {user.login} is taken", path="login")
    user_rows.insert_user(connection, user)
    user_rows.replace_recovery_codes(connection, user.id, [recovery_hash(c) for c in codes])
    trust_rows.record_event(
        connection,
        at_ms=user.created_ms,
        actor=actor,
        action="user.created",
        subject=user.login,
        detail={"name": user.name, "role": user.role, "unit": user.unit},
    )


def _found(connection: Connection, login: str) -> User:
    user = user_rows.user_by_login(connection, login)
    if user is None:
        raise UsageError(ReasonCode.NOT_FOUND, f"no user {login}", path="login")
    return user


def _disable(connection: Connection, login: str, now: int, actor: str) -> None:
    user = _found(connection, login)
    user_rows.disable_user(connection, user.id)
    session_rows.remove_user_sessions(connection, user.id)
    trust_rows.record_event(
        connection, at_ms=now, actor=actor, action="user.disabled", subject=login
    )
    # Their tokens end with them, revoked like any other (the revocation
    # epoch moves, so their live streams end too); enabling the account
    # again by a reset does not bring them back.
    for token_id in token_rows.revoke_owned_by(connection, user.id, now):
        trust_rows.record_event(
            connection,
            at_ms=now,
            actor=actor,
            action="token.revoked",
            subject=token_id,
            detail={"owner": login, "why": "owner disabled"},
        )


def _reset(
    connection: Connection,
    login: str,
    password: str,
    secret: str,
    codes: tuple[str, ...],
    now: int,
    actor: str,
) -> User:
    user = _found(connection, login)
    user_rows.reset_user(connection, user.id, password, secret)
    user_rows.replace_recovery_codes(connection, user.id, [recovery_hash(c) for c in codes])
    session_rows.remove_user_sessions(connection, user.id)
    trust_rows.record_event(connection, at_ms=now, actor=actor, action="user.reset", subject=login)
    return user


async def add_user(
    db: Database,
    login: str,
    *,
    name: str,
    role: str,
    unit: str | None,
    password: str | None,
    now: int,
    issuer: str = "Baliza",
    actor: str = "local operator",
) -> Enrolment:
    """Create a person's account; return the enrolment to hand them (shown once).

    ``password`` None generates one (returned in the enrolment). Raises
    ``UsageError`` with ``bad_format`` (login, name, unit), ``bad_enum``
    (role), ``weak_password`` or ``conflict`` (login taken); nothing is
    stored then.
    """
    folded = fold_login(login)
    parsed = _role(role)
    person = _text(name, "name")
    team = None if unit is None or not unit.strip() else _text(unit, "unit")
    enrolment, stored = await _secrets(folded, password, issuer)
    user = User(
        id=secrets.token_hex(6),
        login=folded,
        name=person,
        unit=team,
        role=parsed.value,
        password=stored,
        totp_secret=enrolment.totp_secret,
        totp_step=0,
        disabled=False,
        failures=0,
        locked_until_ms=0,
        created_ms=now,
    )
    await db.run(partial(_add, user=user, codes=enrolment.recovery_codes, actor=actor), write=True)
    return Enrolment(
        login=folded,
        name=person,
        role=parsed.value,
        password=enrolment.password,
        totp_secret=enrolment.totp_secret,
        totp_uri=enrolment.totp_uri,
        recovery_codes=enrolment.recovery_codes,
    )


async def list_users(db: Database) -> list[User]:
    """Every account, disabled ones included, by login."""
    return await db.run(user_rows.all_users, write=False)


async def disable_user(db: Database, login: str, now: int, *, actor: str) -> None:
    """Disable an account, end its sessions and revoke the tokens it owns, in one unit.

    Raises ``UsageError(NOT_FOUND)`` if there is no such account.
    """
    await db.run(partial(_disable, login=fold_login(login), now=now, actor=actor), write=True)


async def reset_user(
    db: Database,
    login: str,
    *,
    password: str | None,
    now: int,
    issuer: str = "Baliza",
    actor: str = "local operator",
) -> Enrolment:
    """New password, TOTP secret and recovery codes for an account; enabled, sessions ended.

    For a person who lost their phone and codes, or whose account was
    disabled by mistake. Raises ``UsageError`` (``not_found``, ``weak_password``).
    """
    folded = fold_login(login)
    enrolment, stored = await _secrets(folded, password, issuer)
    user = await db.run(
        partial(
            _reset,
            login=folded,
            password=stored,
            secret=enrolment.totp_secret,
            codes=enrolment.recovery_codes,
            now=now,
            actor=actor,
        ),
        write=True,
    )
    return Enrolment(
        login=folded,
        name=user.name,
        role=user.role,
        password=enrolment.password,
        totp_secret=enrolment.totp_secret,
        totp_uri=enrolment.totp_uri,
        recovery_codes=enrolment.recovery_codes,
    )


def _set_password(connection: Connection, user_id: str, stored: str, now: int) -> None:
    user = user_rows.user_by_id(connection, user_id)
    if user is None or user.disabled:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "no such person")
    user_rows.set_password(connection, user_id, stored)
    trust_rows.record_event(
        connection, at_ms=now, actor=user.login, action="user.password_changed", subject=user.login
    )


def _old_password_matches(password: str, stored: str) -> bool:
    try:
        verify_password(password, PasswordHash.from_text(stored))
    except BalizaError:
        return False
    return True


async def change_password(db: Database, user_id: str, old: str, new: str, now: int) -> None:
    """A person changes their own password, proving the old one first.

    Raises ``TrustError(UNAUTHENTICATED)`` if ``old`` is not their password,
    ``UsageError(WEAK_PASSWORD)`` if ``new`` breaks the rule
    (``password_refusal``); nothing is stored then. Their sessions stay open.
    """
    user = await db.run(partial(user_rows.user_by_id, user_id=user_id), write=False)
    if user is None:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "no such person")
    if not await asyncio.to_thread(_old_password_matches, old, user.password):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "the current password is wrong", path="old")
    refused = password_refusal(new, user.login)
    if refused is not None:
        raise refused
    stored = await asyncio.to_thread(hash_password, new)
    await db.run(
        partial(_set_password, user_id=user_id, stored=stored.to_text(), now=now), write=True
    )


def _replace_codes(connection: Connection, user_id: str, codes: tuple[str, ...], now: int) -> None:
    user = user_rows.user_by_id(connection, user_id)
    if user is None or user.disabled:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "no such person")
    user_rows.replace_recovery_codes(connection, user_id, [recovery_hash(c) for c in codes])
    trust_rows.record_event(
        connection,
        at_ms=now,
        actor=user.login,
        action="user.recovery_codes_renewed",
        subject=user.login,
    )


async def regenerate_recovery_codes(db: Database, user_id: str, now: int) -> tuple[str, ...]:
    """New recovery codes for a person, returned once; every earlier code stops working."""
    codes = tuple(_new_recovery_code() for _ in range(RECOVERY_CODES))
    await db.run(partial(_replace_codes, user_id=user_id, codes=codes, now=now), write=True)
    return codes
