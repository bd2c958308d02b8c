"""Envelope recipients: who each envelope was addressed to, and why.

Rows are written once, in the unit of work that stores the envelope, by
whoever stores it (publication, ingest, read receipt); they are never
rewritten (``baliza.node.storage.sql.envelopes``). ``via`` is ``named``,
``channel`` or ``subscription``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Addressee:
    """One recipient agency of an envelope and why it receives it."""

    agency: str
    via: str = "named"
