"""Bearer tokens of the local JSON API, stored hashed: the types (statements in sql/tokens.py).

A token is ``<id>.<secret>``: the public id finds the row, and only
SHA-256(secret) is stored, so a copy of the database cannot be replayed as a
credential. Comparing the hash in constant time is the caller's job (the API
layer, with ``hmac.compare_digest``); a revoked token stays listed for audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TokenRole(StrEnum):
    """What a token may do on the local API."""

    PUBLISHER = "publisher"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """A stored API token: its public id, holder name, role, secret hash and owner (if any)."""

    id: str
    name: str
    role: TokenRole
    token_hash: bytes
    created_ms: int
    revoked_ms: int | None = None
    owner_id: str | None = None  # the user it acts for; None for a service's token

    @property
    def active(self) -> bool:
        """Whether the token may still authenticate."""
        return self.revoked_ms is None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenOwner:
    """The person a listed token belongs to, as the token lists name them."""

    login: str
    name: str
    disabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedToken:
    """A token as the lists show it: the token, and its owner (None: a service's token)."""

    token: ApiToken
    owner: TokenOwner | None = None
