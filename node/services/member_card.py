"""``public.json`` on disk: the agency's member card (``crypto/member_card.py``) as a file."""

from __future__ import annotations

import json
from pathlib import Path

from baliza.crypto.member_card import MemberCard
from baliza.protocol.errors import ReasonCode, UsageError

__all__ = ["MemberCard", "load_card", "save_card"]


def save_card(card: MemberCard, path: Path) -> None:
    """Write the card as JSON."""
    path.write_text(json.dumps(card.to_json(), indent=2) + "\n")


def load_card(path: Path) -> MemberCard:
    """Read a card file; the stated fingerprint, if any, must match the keys."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: {exc}") from None
    return MemberCard.from_json(obj, str(path))
