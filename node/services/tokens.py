"""Bearer tokens for the agency-local API, stored hashed.

A token reads ``bz_<id>_<secret>``: the id finds the row, the secret is
checked against its SHA-256 in constant time. The secret is shown once, when
the token is created, and never stored; a database leak gives no tokens.

Each use case is one unit of work (``Database.run``). The bearer check runs
on every API request: one read unit of one statement (the token's row by
its primary key). It is read, not cached, because a token may be revoked by
another process with no way to tell this one (``baliza tokens revoke`` on
the node's SQLite file while the node runs), and a cached token would
outlive its revocation; the row read costs what checking a revocation
epoch would.

A token is a machine's, held by a named service or owned by a person of
this node (issue 20 §1). An owned token acts for its owner: its role may
not exceed theirs (``owner_refusal``), its acts go to their record of who
did what (``Caller.acting_person``), and disabling them revokes it in the
same unit (``services.accounts``), so it ends as any revoked token ends:
refused from the next request, its live streams closed at the next event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.accounts import fold_login
from baliza.node.services.rules.roles import Role, role_refusal
from baliza.node.storage import Database
from baliza.node.storage.sql import tokens as token_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.tokens import ApiToken, ListedToken, TokenOwner, TokenRole
from baliza.node.storage.users import User
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError, UsageError

__all__ = [
    "ApiToken",
    "Caller",
    "ListedToken",
    "Role",
    "TokenOwner",
    "check_bearer",
    "issue_token",
    "list_tokens",
    "owner_refusal",
    "require",
    "token_in_force",
    "withdraw_token",
]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: an API token, or a person signed in to the console.

    For a person, ``token_id`` is empty and ``user_id`` names the account;
    ``unit`` is theirs (tokens have none). For a token a person owns,
    ``owner_id`` names that person's account and ``user_id`` stays None:
    a token is still a machine, so whatever is kept per signed-in person
    (console sessions, the inbox, watch-lists) stays the token's; only the
    record of who did what names the owner (``acting_person``).
    """

    token_id: str
    name: str
    role: Role
    user_id: str | None = None
    unit: str | None = None
    owner_id: str | None = None

    @property
    def holder(self) -> str:
        """What limits and logs count this caller as: its token, or its account."""
        return f"user {self.user_id}" if self.user_id is not None else self.token_id

    @property
    def acting_person(self) -> str | None:
        """The account an act of this caller is recorded for: the person signed in, or the
        owner of the token; None for a service's token (a machine's acts are its trust events).
        """
        return self.user_id if self.user_id is not None else self.owner_id


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_bearer(authorization: str | None) -> tuple[str, str]:
    """The (id, secret) of an ``Authorization: Bearer bz_<id>_<secret>`` header.

    Raises ``TrustError(UNAUTHENTICATED)`` when there is none or it is malformed;
    nothing is read for a header that cannot be a token.
    """
    if not authorization or not authorization.startswith("Bearer "):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "a bearer token is required")
    parts = authorization.removeprefix("Bearer ").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "bz":
        raise TrustError(ReasonCode.UNAUTHENTICATED, "malformed token")
    return parts[1], parts[2]


def basic_as_bearer(authorization: str | None) -> str | None:
    """``Authorization: Basic`` with the token as its password, read as the bearer header.

    For TAXII only: MISP and OpenCTI can send a user and password but not
    always a bearer header. The user name is ignored; the password must be
    the whole token. Anything else passes through unchanged (and is refused
    by ``parse_bearer`` if it is no bearer token either).
    """
    if not authorization or not authorization.startswith("Basic "):
        return authorization
    try:
        decoded = base64.b64decode(authorization.removeprefix("Basic ").strip(), validate=True)
        _user, separator, password = decoded.decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "malformed basic credentials") from None
    if not separator:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "malformed basic credentials")
    return f"Bearer {password}"


def caller_of_token(token: ApiToken | None, secret: str) -> Caller:
    """The caller ``token`` stands for, if ``secret`` is its secret and it is in force.

    Raises ``TrustError(UNAUTHENTICATED)`` otherwise, the same for every cause.
    """
    if (
        token is None
        or not token.active
        or not hmac.compare_digest(token.token_hash, _hash(secret))
    ):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "unknown or revoked token")
    return Caller(
        token_id=token.id, name=token.name, role=Role(token.role.value), owner_id=token.owner_id
    )


def owner_refusal(owner: User | None, login: str, role: Role) -> BalizaError | None:
    """Why the person ``login`` (``owner``, None if no such account) may not own a ``role``
    token, or None if they may.

    Only an enabled person owns a token (``not_found``, ``conflict`` naming
    ``owner``), and a token does no more than its owner may: an analyst
    cannot own an administrator's token (``forbidden`` naming ``role``).
    """
    if owner is None:
        return UsageError(ReasonCode.NOT_FOUND, f"no person {login} on this node", path="owner")
    if owner.disabled:
        return UsageError(ReasonCode.CONFLICT, f"the account {login} is disabled", path="owner")
    if role_refusal(Role(owner.role), role) is not None:
        return TrustError(
            ReasonCode.FORBIDDEN,
            f"a token's role may not exceed its owner's: {login} is {owner.role}",
            path="role",
        )
    return None


def require(caller: Caller, needed: Role) -> None:
    """Refuse ``caller`` unless its role allows ``needed`` (the one rule: ``rules.roles``)."""
    refused = role_refusal(caller.role, needed)
    if refused is not None:
        raise refused


# Units of work: each is the whole of one transaction.


def _create(
    connection: Connection, name: str, role: Role, owner: str | None, now: int, actor: str
) -> str:
    owner_id = None
    if owner is not None:
        # Locked: the owner cannot be disabled between this check and the commit.
        person = user_rows.user_by_login(connection, owner, lock=True)
        refused = owner_refusal(person, owner, role)
        if refused is not None:
            raise refused
        assert person is not None  # refused above
        owner_id = person.id
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    token_rows.insert_token(
        connection,
        ApiToken(
            id=token_id,
            name=name,
            role=TokenRole(role.value),
            token_hash=_hash(secret),
            created_ms=now,
            owner_id=owner_id,
        ),
    )
    trust_rows.record_event(
        connection,
        at_ms=now,
        actor=actor,
        action="token.created",
        subject=token_id,
        detail={"name": name, "role": role.value, **({"owner": owner} if owner else {})},
    )
    return f"bz_{token_id}_{secret}"


def _withdraw(connection: Connection, token_id: str, now: int, actor: str) -> None:
    revoked = token_rows.revoke_token(connection, token_id, now)
    if not revoked and token_rows.token_by_id(connection, token_id) is None:
        raise UsageError(ReasonCode.NOT_FOUND, f"no token {token_id}", path="id")
    # Revoking again is recorded again (who tried when), as it always was.
    trust_rows.record_event(
        connection, at_ms=now, actor=actor, action="token.revoked", subject=token_id
    )


# The use cases: what the API, the console and the CLI call.


async def issue_token(
    db: Database,
    name: str,
    role: str,
    now: int,
    *,
    owner: str | None = None,
    actor: str = "local operator",
) -> str:
    """Create a token and return it; it is never shown again. Recorded as a trust event.

    The one way tokens are made (CLI, admin API, console). ``owner`` is the
    login of the person it acts for; None (or blank) makes a named
    service's token. Raises ``UsageError(BAD_ENUM)`` for an unknown role,
    ``UsageError`` naming ``owner`` (``bad_format``, ``not_found``,
    ``conflict`` when disabled) and ``TrustError(FORBIDDEN)`` naming
    ``role`` when it exceeds the owner's (``owner_refusal``); nothing is
    stored then.
    """
    try:
        parsed = Role(role)
    except ValueError:
        raise UsageError(
            ReasonCode.BAD_ENUM, f"role must be one of {', '.join(Role)}", path="role"
        ) from None
    login = None
    if owner is not None and owner.strip():
        try:
            login = fold_login(owner)
        except UsageError as err:
            raise UsageError(err.reason, err.detail, path="owner") from None
    return await db.run(
        partial(_create, name=name, role=parsed, owner=login, now=now, actor=actor), write=True
    )


async def check_bearer(db: Database, authorization: str | None) -> Caller:
    """Check an ``Authorization: Bearer`` header; raise ``TrustError`` if it fails.

    One read unit of one statement; a malformed header reads nothing.
    """
    token_id, secret = parse_bearer(authorization)
    token = await db.run(partial(token_rows.token_by_id, token_id=token_id), write=False)
    return caller_of_token(token, secret)


async def token_in_force(db: Database, token_id: str) -> bool:
    """Whether the token exists and has not been revoked."""
    token = await db.run(partial(token_rows.token_by_id, token_id=token_id), write=False)
    return token is not None and token.active


async def list_tokens(db: Database) -> list[ListedToken]:
    """Every API token with its owner (None: a service's), revoked ones included (for
    audit); never a secret."""
    return await db.run(token_rows.all_tokens, write=False)


async def withdraw_token(db: Database, token_id: str, now: int, *, actor: str) -> None:
    """Revoke a token (its console sessions end with it); recorded as a trust event.

    Revoking twice keeps the first revocation time. Raises
    ``UsageError(NOT_FOUND)`` when there is no such token.
    """
    await db.run(partial(_withdraw, token_id=token_id, now=now, actor=actor), write=True)
