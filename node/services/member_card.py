"""The public card an agency hands to the federation administrators.

``baliza init`` writes ``public.json``: agency id, name, node URL and the
public key set with its fingerprint. Administrators admit the agency by
putting the card into a directory proposal, after reading the fingerprint
back to the agency over the phone; nothing in it is secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from baliza.crypto import PublicKeys
from baliza.protocol.errors import BalizaError, ReasonCode, UsageError
from baliza.protocol.ids import AgencyId, agency_id


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberCard:
    """An agency's node URL and public keys, as exchanged out of band."""

    agency: AgencyId
    name: str
    url: str
    keys: PublicKeys

    def to_json(self) -> dict[str, str]:
        """The JSON object written to ``public.json``."""
        return {
            "agency": self.agency,
            "name": self.name,
            "url": self.url,
            "keys": self.keys.to_bytes().hex(),
            "fingerprint": self.keys.fingerprint(),
        }

    def save(self, path: Path) -> None:
        """Write the card as JSON."""
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> MemberCard:
        """Read a card; the stated fingerprint, if any, must match the keys."""
        try:
            obj = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: {exc}") from None
        if not isinstance(obj, dict):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: must be a JSON object")
        try:
            agency = agency_id(obj.get("agency"), "agency")
            keys = PublicKeys.from_bytes(bytes.fromhex(str(obj.get("keys", ""))))
        except ValueError:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: keys are not hex") from None
        except BalizaError as err:
            raise UsageError(err.reason, f"{path}: {err}") from None
        if keys.agency != agency:
            raise UsageError(ReasonCode.INCONSISTENT, f"{path}: the keys belong to {keys.agency}")
        stated = obj.get("fingerprint")
        if stated is not None and stated != keys.fingerprint():
            raise UsageError(ReasonCode.KEY_ID_MISMATCH, f"{path}: fingerprint does not match")
        url = obj.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: url must be an http(s) URL")
        name = obj.get("name")
        return cls(
            agency=agency,
            name=name if isinstance(name, str) and name else agency,
            url=url.rstrip("/"),
            keys=keys,
        )


def refresh_card(path: Path, url: str, name: str) -> MemberCard | None:
    """Rewrite ``public.json`` when the node's URL or name changed; the old card if it did.

    ``public.json`` is what an agency sends the administrators; a card still
    naming the old ``public_url`` after the setting changed would get the
    old URL listed again. A folder without a card (restored partially, say)
    is left alone: there are no keys here to make one from.
    """
    if not path.exists():
        return None
    card = MemberCard.load(path)
    if card.url == url.rstrip("/") and card.name == name:
        return None
    MemberCard(agency=card.agency, name=name, url=url.rstrip("/"), keys=card.keys).save(path)
    return card
