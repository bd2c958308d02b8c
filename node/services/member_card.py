"""``public.json`` on disk: the agency's member card (``crypto/member_card.py``) as a file."""

from __future__ import annotations

import json
from pathlib import Path

from baliza.crypto.member_card import MemberCard
from baliza.protocol.errors import ReasonCode, UsageError

__all__ = ["MemberCard", "load_card", "refresh_card", "save_card"]


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


def refresh_card(path: Path, url: str, name: str) -> MemberCard | None:
    """Rewrite ``public.json`` when the node's URL or name changed; the old card if it did.

    ``public.json`` is what an agency sends the administrators; a card still
    naming the old ``public_url`` after the setting changed would get the
    old URL listed again. A folder without a card (restored partially, say)
    is left alone: there are no keys here to make one from.
    """
    if not path.exists():
        return None
    card = load_card(path)
    if card.url == url.rstrip("/") and card.name == name:
        return None
    save_card(MemberCard(agency=card.agency, name=name, url=url.rstrip("/"), keys=card.keys), path)
    return card
