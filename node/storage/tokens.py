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
    """A stored API token: its public id, holder name, role and secret hash."""

    id: str
    name: str
    role: TokenRole
    token_hash: bytes
    created_ms: int
    revoked_ms: int | None = None

    @property
    def active(self) -> bool:
        """Whether the token may still authenticate."""
        return self.revoked_ms is None
