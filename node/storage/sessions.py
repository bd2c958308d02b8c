"""Console sessions, stored hashed: a browser signed in (statements in sql/sessions.py).

The cookie holds a random secret; only its SHA-256 is stored, so a copy of
the database cannot be replayed as a session. A session is held either by a
person's account (``user_id``: signed in with a password and a second
factor) or by an API token (``token_id``), never both. Revoking the token
or disabling the account ends every session it holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSession:
    """One signed-in browser: who holds it, its form token, when it was last used."""

    id_hash: bytes
    token_id: str | None = None
    user_id: str | None = None
    csrf: str
    created_ms: int
    seen_ms: int

    def __post_init__(self) -> None:
        if (self.token_id is None) == (self.user_id is None):
            raise ValueError("a session is held by a token or by a user, exactly one")
