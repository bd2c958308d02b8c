"""The public card an agency hands to the federation administrators (``public.json``).

Agency id, name, node URL and the public key set with its fingerprint.
Administrators admit the agency by putting the card into a directory
proposal, after reading the fingerprint back to the agency over the phone;
nothing in it is secret. Reading it checks what can be checked alone: the
keys are the agency's, the stated fingerprint is theirs, the URL is HTTP(S).
A node reads it (``baliza admin directory propose``) and so does the
conformance suite, which must not use a node's services: one definition
for both.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.crypto.keys import PublicKeys
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

    @classmethod
    def from_json(cls, obj: object, where: str = "the card") -> MemberCard:
        """Read a card; ``UsageError`` naming ``where`` and what is wrong with it."""
        if not isinstance(obj, dict):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{where}: must be a JSON object")
        try:
            agency = agency_id(obj.get("agency"), "agency")
            keys = PublicKeys.from_bytes(bytes.fromhex(str(obj.get("keys", ""))))
        except ValueError:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{where}: keys are not hex") from None
        except BalizaError as err:
            raise UsageError(err.reason, f"{where}: {err}") from None
        if keys.agency != agency:
            raise UsageError(ReasonCode.INCONSISTENT, f"{where}: the keys belong to {keys.agency}")
        stated = obj.get("fingerprint")
        if stated is not None and stated != keys.fingerprint():
            raise UsageError(ReasonCode.KEY_ID_MISMATCH, f"{where}: fingerprint does not match")
        url = obj.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{where}: url must be an http(s) URL")
        name = obj.get("name")
        return cls(
            agency=agency,
            name=name if isinstance(name, str) and name else agency,
            url=url.rstrip("/"),
            keys=keys,
        )
