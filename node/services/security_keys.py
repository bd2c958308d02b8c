"""WebAuthn security keys: register one as a second factor, then sign in with it (issue 20 §1).

Rules of this file:

- The node is the relying party named by its console's origin
  (``NodeConfig.console_origin``): the RP id is that origin's host name.
  An answer made for another origin or RP id is refused, so a key cannot
  be phished through a look-alike site.
- Every ceremony starts with a challenge the node makes and stores
  (``webauthn_challenges``): 32 random bytes, bound to one user and one
  purpose (register, sign in), expiring after ``CHALLENGE_TTL_MS``. The
  browser holds only a random handle to it (the pending sign-in's cookie,
  or the registration's form field). The answer's unit takes the challenge
  by deleting it before anything is checked: whatever the outcome, it
  answers one ceremony only, so a replayed assertion finds none.
- Pure rules asked by every path and tested without a database:
  ``challenge_refusal`` (gone, expired, another purpose or person) and
  ``sign_count_refusal`` (a counter not after the stored one betrays a
  cloned key, ``sign_count_backwards``; a key that keeps no counter sends
  0 every time, and 0 after 0 is accepted). The counter is stored by a
  conditional update, so two sign-ins racing with one assertion cannot
  both pass.
- py_webauthn checks the signatures, the client data (type, challenge,
  origin) and the authenticator data (RP id hash, user presence); its
  exceptions are translated to ours here, at one boundary.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Connection
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from baliza.node.core.config import NodeConfig
from baliza.node.storage import Database
from baliza.node.storage.sql import security_keys as key_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import Challenge, SecurityKey
from baliza.protocol.errors import ReasonCode, TrustError, UsageError

__all__ = [
    "CHALLENGE_TTL_MS",
    "Party",
    "begin_registration",
    "challenge_refusal",
    "finish_registration",
    "key_label",
    "remove_security_key",
    "security_keys_of",
    "sign_count_refusal",
]

CHALLENGE_TTL_MS: Final = 2 * 60 * 1000
MAX_ANSWER: Final = 64_000  # characters of a browser's JSON answer; real ones are under 2,000
MAX_KEYS: Final = 10  # per person: enough for a spare in the safe and one per workplace
REGISTER: Final = "register"
SIGN_IN: Final = "sign_in"


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """The relying party a browser sees: the console's origin and its host name."""

    rp_id: str
    origin: str
    name: str

    @classmethod
    def of(cls, config: NodeConfig) -> Party:
        """The party of a node's console (``console_url``, or localhost and its port)."""
        origin = config.console_origin
        return cls(
            rp_id=urlsplit(origin).hostname or "localhost",
            origin=origin,
            name=f"Baliza · {config.name}",
        )


# ---------------------------------------------------------------------- rules


def challenge_refusal(
    found: Challenge | None, *, purpose: str, user_id: str | None, now: int
) -> TrustError | None:
    """Why a taken challenge may not be answered now, or None if it may.

    ``user_id`` None accepts any person (a sign-in learns who from the
    challenge); otherwise the challenge must have been made for them.
    """
    if found is None:
        return TrustError(ReasonCode.UNAUTHENTICATED, "no such challenge, or already answered")
    if found.expires_ms <= now:
        return TrustError(ReasonCode.UNAUTHENTICATED, "the challenge expired")
    if found.purpose != purpose or (user_id is not None and found.user_id != user_id):
        return TrustError(ReasonCode.UNAUTHENTICATED, "the challenge was made for another use")
    return None


def sign_count_refusal(stored: int, received: int) -> TrustError | None:
    """Why a key's counter ``received`` after ``stored`` betrays a clone, or None if it does not."""
    if stored == 0 and received == 0:
        return None
    if received <= stored:
        return TrustError(
            ReasonCode.SIGN_COUNT_BACKWARDS,
            f"the key's counter {received} is not after {stored}: it may have been cloned",
        )
    return None


def key_label(raw: str) -> str:
    """A key's name as stored: trimmed, 1 to 100 printable characters."""
    name = raw.strip()
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise UsageError(ReasonCode.BAD_FORMAT, "1 to 100 printable characters", path="name")
    return name


def handle_hash(handle: str) -> bytes:
    """The stored form of a challenge's handle (the browser's copy is never stored)."""
    return hashlib.sha256(handle.encode()).digest()


def parse_credential(raw: str) -> dict[str, Any]:
    """The browser's JSON answer as a mapping; ``UsageError(BAD_FORMAT)`` if it is not one."""
    parsed = None
    if len(raw) <= MAX_ANSWER:  # bounded before it is parsed
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
    if not isinstance(parsed, dict):
        raise UsageError(ReasonCode.BAD_FORMAT, "not a WebAuthn credential", path="credential")
    return parsed


def credential_id_of(credential: dict[str, Any]) -> bytes:
    """The raw credential id an answer names; ``UsageError(BAD_FORMAT)`` if it names none."""
    raw = credential.get("rawId", credential.get("id"))
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return base64url_to_bytes(raw)
    except (ValueError, TypeError):
        raise UsageError(ReasonCode.BAD_FORMAT, "no credential id", path="credential") from None


# ---------------------------------------------------------- units of work


def _store_challenge(
    connection: Connection, handle: str, challenge: Challenge, now: int
) -> list[SecurityKey]:
    key_rows.insert_challenge(connection, handle_hash(handle), challenge, now)
    return key_rows.keys_of(connection, challenge.user_id)


def _take(connection: Connection, handle: str) -> Challenge | None:
    return key_rows.take_challenge(connection, handle_hash(handle))


def _keys_of(connection: Connection, user_id: str) -> list[SecurityKey]:
    return key_rows.keys_of(connection, user_id)


def _login_of(connection: Connection, user_id: str) -> str:
    user = user_rows.user_by_id(connection, user_id)
    if user is None or user.disabled:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "no such person")
    return user.login


def _add_key(connection: Connection, key: SecurityKey) -> None:
    login = _login_of(connection, key.user_id)
    if key_rows.key_by_id(connection, key.credential_id) is not None:
        raise UsageError(ReasonCode.CONFLICT, "this key is already registered", path="credential")
    if len(key_rows.keys_of(connection, key.user_id)) >= MAX_KEYS:
        raise UsageError(
            ReasonCode.CONFLICT, f"at most {MAX_KEYS} security keys per person", path="credential"
        )
    key_rows.insert_key(connection, key)
    trust_rows.record_event(
        connection,
        at_ms=key.created_ms,
        actor=login,
        action="user.security_key_added",
        subject=login,
        detail={"key": key.name, "credential": bytes_to_base64url(key.credential_id)},
    )


def _remove_key(connection: Connection, user_id: str, credential_id: bytes, now: int) -> None:
    login = _login_of(connection, user_id)
    if not key_rows.remove_key(connection, user_id, credential_id):
        raise UsageError(ReasonCode.NOT_FOUND, "no such security key", path="credential")
    trust_rows.record_event(
        connection,
        at_ms=now,
        actor=login,
        action="user.security_key_removed",
        subject=login,
        detail={"credential": bytes_to_base64url(credential_id)},
    )


# ---------------------------------------------------------------- use cases


async def new_challenge(
    db: Database, user_id: str, purpose: str, now: int
) -> tuple[str, bytes, list[SecurityKey]]:
    """Store a fresh challenge for ``user_id``; return its handle, its bytes and their keys."""
    handle = secrets.token_urlsafe(32)
    challenge = Challenge(
        user_id=user_id,
        purpose=purpose,
        challenge=secrets.token_bytes(32),
        expires_ms=now + CHALLENGE_TTL_MS,
    )
    keys = await db.run(
        partial(_store_challenge, handle=handle, challenge=challenge, now=now), write=True
    )
    return handle, challenge.challenge, keys


async def take_challenge(db: Database, handle: str) -> Challenge | None:
    """Take (delete) the challenge behind ``handle``; it can answer nothing after this."""
    return await db.run(partial(_take, handle=handle), write=True)


async def security_keys_of(db: Database, user_id: str) -> list[SecurityKey]:
    """A person's registered keys, oldest first."""
    return await db.run(partial(_keys_of, user_id=user_id), write=False)


async def begin_registration(db: Database, party: Party, user_id: str, now: int) -> tuple[str, str]:
    """Start registering a key for ``user_id``: the challenge's handle and the options' JSON.

    The options exclude the person's keys already registered, so the same
    key is not registered twice.
    """
    user = await db.run(partial(user_rows.user_by_id, user_id=user_id), write=False)
    if user is None or user.disabled:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "no such person")
    handle, challenge, keys = await new_challenge(db, user_id, REGISTER, now)
    options = generate_registration_options(
        rp_id=party.rp_id,
        rp_name=party.name,
        user_name=user.login,
        user_id=user.id.encode(),
        user_display_name=user.name,
        challenge=challenge,
        timeout=CHALLENGE_TTL_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=k.credential_id) for k in keys],
    )
    return handle, options_to_json(options)


async def finish_registration(
    db: Database,
    party: Party,
    user_id: str,
    handle: str,
    credential_json: str,
    name: str,
    now: int,
) -> SecurityKey:
    """Check the browser's answer to a registration and store the key.

    Raises ``TrustError(UNAUTHENTICATED)`` for a challenge gone, expired or
    made for another person, or an answer that does not verify (wrong
    origin, RP id, challenge, signature); ``UsageError`` for a bad name or
    a key already registered. Nothing is stored then.
    """
    label = key_label(name)
    credential = parse_credential(credential_json)
    taken = await take_challenge(db, handle)
    refused = challenge_refusal(taken, purpose=REGISTER, user_id=user_id, now=now)
    if refused is not None:
        raise refused
    assert taken is not None
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=taken.challenge,
            expected_rp_id=party.rp_id,
            expected_origin=party.origin,
        )
    except WebAuthnException as err:
        raise TrustError(
            ReasonCode.UNAUTHENTICATED, f"the key's answer does not verify: {err}"
        ) from None
    key = SecurityKey(
        credential_id=verified.credential_id,
        user_id=user_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=label,
        created_ms=now,
    )
    await db.run(partial(_add_key, key=key), write=True)
    return key


async def remove_security_key(db: Database, user_id: str, credential_id: str, now: int) -> None:
    """Remove one of a person's keys; ``UsageError(NOT_FOUND)`` if they hold none such."""
    try:
        raw = base64url_to_bytes(credential_id)
    except (ValueError, TypeError):
        raise UsageError(ReasonCode.NOT_FOUND, "no such security key", path="credential") from None
    await db.run(partial(_remove_key, user_id=user_id, credential_id=raw, now=now), write=True)


def authentication_options(party: Party, challenge: bytes, keys: list[SecurityKey]) -> str:
    """The options a browser's ``navigator.credentials.get`` takes, as JSON."""
    options = generate_authentication_options(
        rp_id=party.rp_id,
        challenge=challenge,
        timeout=CHALLENGE_TTL_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=k.credential_id) for k in keys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


def verified_sign_count(
    party: Party, credential: dict[str, Any], challenge: bytes, key: SecurityKey
) -> int:
    """Check an assertion against ``key`` and the challenge; return the counter it carries.

    Raises ``TrustError`` (``unauthenticated`` if it does not verify,
    ``sign_count_backwards`` if its counter is not after the stored one).
    """
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.rp_id,
            expected_origin=party.origin,
            credential_public_key=key.public_key,
            # The counter rule is ours (sign_count_refusal), with its own reason code.
            credential_current_sign_count=0,
        )
    except WebAuthnException as err:
        raise TrustError(
            ReasonCode.UNAUTHENTICATED, f"the key's answer does not verify: {err}"
        ) from None
    refused = sign_count_refusal(key.sign_count, verified.new_sign_count)
    if refused is not None:
        raise refused
    return verified.new_sign_count
