"""People's accounts: the types (statements in sql/users.py).

A user is a person who signs in to the console with a login name, a
password (only its Argon2id hash is stored, see crypto/passwords.py) and a
second factor: a time-based code from an authenticator app, or one of ten
single-use recovery codes (only their SHA-256 is stored). Users are
disabled, never deleted, so what a person did stays attributed to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """One stored account, with what sign-in needs to decide."""

    id: str
    login: str
    name: str
    unit: str | None
    role: str
    password: str  # PHC string
    totp_secret: str  # base32
    totp_step: int  # the last time step whose code was accepted
    disabled: bool
    failures: int  # failed sign-ins since the last success or lock-out
    locked_until_ms: int
    created_ms: int
    last_sign_in_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonAction:
    """A person's action on a notice, as the notice page shows it."""

    at_ms: int
    user_id: str
    name: str
    unit: str | None
    action: str
    subject: str
    detail: str | None = None  # the value an inbox change set
    login: str = ""  # the export and inquiries name people by login too


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityKey:
    """A WebAuthn credential a user registered: what an assertion is checked against."""

    credential_id: bytes
    user_id: str
    public_key: bytes  # COSE_Key, as the authenticator gave it at registration
    sign_count: int
    name: str
    created_ms: int
    last_used_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    """A WebAuthn challenge taken from storage: whose, what for, and until when."""

    user_id: str
    purpose: str  # 'register' or 'sign_in'
    challenge: bytes
    expires_ms: int
