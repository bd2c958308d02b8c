"""Console sessions, stored hashed: a browser signed in with an API token (statements in
sql/sessions.py).

The cookie holds a random secret; only its SHA-256 is stored, so a copy of
the database cannot be replayed as a session. A session points at the token
it was opened with, so revoking the token ends every session it opened.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSession:
    """One signed-in browser: its token, its form token, when it was last used."""

    id_hash: bytes
    token_id: str
    csrf: str
    created_ms: int
    seen_ms: int
