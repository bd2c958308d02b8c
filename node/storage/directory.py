"""The federation directory versions this node accepted (statements in sql/directory.py).

Every applied version is kept, as signed, so an operator can show which
directory vouched for a key at any moment, and the node can restore the
newest one at start without asking anybody.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryVersion:
    """One applied version: its number, when, until when, the signed bytes and signers."""

    version: int
    applied_ms: int
    expires_ms: int
    raw: bytes
    signers: tuple[str, ...]
