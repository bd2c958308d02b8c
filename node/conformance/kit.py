"""The suite's keys folder (``--as KEYS``) and the messages built from it.

``prepare`` writes the folder once per target: the target's public card,
the seeds of the federation members the suite plays and of the
administrator who founds the directory, and the files the target's operator
is given. Every run reads it back. The members are throwaway test agencies
under the country code ``aq``; their private keys sit in the folder in the
clear, so a folder must never be used outside a conformance federation.

Roles (``ROLES``): ``a`` and ``b`` are honest members (senders, recipients,
channel owners); ``m`` is a member who squats channel ids; ``r`` is a member
whose key the directory area revokes; ``x`` holds keys but is in no
directory; ``admin`` founds and updates the directory.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from stdnum import iso6346

from baliza.crypto import AgencyKeys, PublicKeys, Suite, seal, seal_bytes
from baliza.crypto.directory import propose, sign_proposal
from baliza.crypto.member_card import MemberCard
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.protocol.directory import Directory, KeyRecord, Member, PublicKeysWire
from baliza.protocol.envelope import Envelope, MessageKind
from baliza.protocol.errors import ReasonCode, UsageError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId
from baliza.protocol.notices import Notice, notice_from_json

SUITE_FILE = "suite.json"
DIRECTORY_FILE = "directory.bin"
NOTICE_FILE = "notice.json"
ATTACHMENT_FILE = "attachment.txt"
STEPS_FILE = "STEPS.txt"

DAY_MS = 24 * 3600 * 1000
# Members' keys start well before the folder is written, so that envelopes
# dated in the past can be sealed; they last long enough for any campaign.
KEYS_BEFORE_MS = 60 * DAY_MS
KEYS_AFTER_MS = 2 * 365 * DAY_MS
DIRECTORY_DAYS = 90

ROLES = {
    "a": "aq.conformance.a",
    "b": "aq.conformance.b",
    "m": "aq.conformance.m",
    "r": "aq.conformance.r",
    "x": "aq.conformance.x",
    "admin": "aq.conformance.admin",
}
# Who the founding directory lists besides the target.
LISTED = ("a", "b", "m", "r")


# The target as its operator described it: the card ``baliza init`` writes
# as ``public.json`` (agency, name, node URL, public keys).
TargetCard = MemberCard


def _record(keys: PublicKeys) -> KeyRecord:
    return KeyRecord(
        keys=PublicKeysWire(data=keys.to_bytes()),
        valid_from_ms=keys.valid_from_ms,
        valid_until_ms=keys.valid_until_ms,
    )


def _container(agency: str) -> str:
    """A valid container number of the agency's own (a seizure is the agency's to report)."""
    serial = f"{sum(agency.encode()) * 7919 % 1_000_000:06d}"
    return f"MSCU{serial}{iso6346.calc_check_digit('MSCU' + serial)}"


def seizure_json(agency: str, seized_ms: int) -> dict[str, Any]:
    """A seizure notice of ``agency`` in its JSON form (chapter 03, chapter 08)."""
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": agency},
        "seized_ms": seized_ms,
        "location": {"locode": "ESALG"},
        "transport": "sea",
        "commodities": [{"category": "cocaine", "quantity": {"amount": 25_000, "unit": "g"}}],
        "conveyance": {"container": _container(agency)},
        "text": {"lang": "en", "text": "Conformance suite: holdalls behind the doors."},
    }


class Kit:
    """The suite's folder, read: the target's card, the members' keys, the federation's name."""

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = folder
        self.federation: str = data["federation"]
        self.target = TargetCard.from_json(data["target"])
        self.member_url: str = data["member_url"]
        self.created_ms: int = data["created_ms"]
        suite = self.target.keys.suite
        self.keys: dict[str, AgencyKeys] = {
            role: AgencyKeys.from_seed(
                ROLES[role],
                suite,
                bytes.fromhex(data["seeds"][role]),
                valid_from_ms=self.created_ms - KEYS_BEFORE_MS,
                valid_until_ms=self.created_ms + KEYS_AFTER_MS,
            )
            for role in ROLES
        }

    @classmethod
    def create(cls, folder: Path, card: TargetCard, member_url: str, seeds: dict[str, str]) -> Kit:
        """Write a new folder for ``card``'s node and read it back."""
        if (folder / SUITE_FILE).exists():
            raise UsageError(ReasonCode.CONFLICT, f"{folder} already holds a conformance kit")
        folder.mkdir(parents=True, exist_ok=True)
        created = now_ms()
        data = {
            "federation": f"conformance-{seeds['admin'][:8]}",
            "target": card.to_json(),
            "member_url": member_url.rstrip("/"),
            "created_ms": created,
            "seeds": seeds,
        }
        (folder / SUITE_FILE).write_text(json.dumps(data, indent=2) + "\n")
        (folder / SUITE_FILE).chmod(0o600)
        return cls(folder, data)

    @classmethod
    def load(cls, folder: Path) -> Kit:
        """Read a folder ``prepare`` wrote; ``UsageError`` if there is none."""
        try:
            data = json.loads((folder / SUITE_FILE).read_text())
            return cls(folder, data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                ReasonCode.BAD_CONFIG,
                f"{folder}: not a conformance kit ({exc}); write one with "
                "`baliza conformance --prepare PUBLIC.json --as FOLDER`",
            ) from None

    def __getitem__(self, role: str) -> AgencyKeys:
        return self.keys[role]

    def public(self, role: str) -> PublicKeys:
        """The public keys of a role."""
        return self.keys[role].public()

    # -- the directory ---------------------------------------------------------------

    def member(self, role: str) -> Member:
        """How the directory lists a role the suite plays."""
        return Member(
            agency=AgencyId(ROLES[role]),
            name=f"Conformance member {role.upper()}",
            country="AQ",
            node_url=f"{self.member_url}/{role}",
            keys=(_record(self.public(role)),),
        )

    def founding_directory(self) -> Directory:
        """Version 1: the target and the listed roles, one administrator, threshold 1."""
        card = self.target
        target = Member(
            agency=card.agency,
            name=card.name,
            country=card.agency[:2].upper(),
            node_url=card.url,
            keys=(_record(card.keys),),
        )
        members = [target, *(self.member(r) for r in LISTED)]
        now = now_ms()
        return Directory(
            federation=self.federation,
            version=1,
            issued_ms=now,
            expires_ms=now + DIRECTORY_DAYS * DAY_MS,
            threshold=1,
            administrators=(PublicKeysWire(data=self.public("admin").to_bytes()),),
            members=tuple(sorted(members, key=lambda m: m.agency)),
        )

    def sign(self, directory: Directory, *, by: str = "admin") -> bytes:
        """The signed directory: proposed and signed by ``by`` (the administrator, or not)."""
        return sign_proposal(propose(directory), self.keys[by])

    def next_directory(self, current: Directory, **changes: Any) -> Directory:
        """The version after ``current``, issued now, with ``changes`` to its fields."""
        now = now_ms()
        fields: dict[str, Any] = {
            "version": current.version + 1,
            "issued_ms": now,
            "expires_ms": now + DIRECTORY_DAYS * DAY_MS,
        }
        fields.update(changes)
        return dataclasses.replace(current, **fields)

    # -- envelopes -------------------------------------------------------------------

    def notice(self, role: str) -> Notice:
        """A valid seizure notice of the role's agency, seized an hour ago."""
        return notice_from_json(seizure_json(ROLES[role], now_ms() - 3_600_000))

    def seal(
        self,
        role: str,
        to: list[PublicKeys],
        *,
        created_ms: int | None = None,
        envelope_id: EnvelopeId | None = None,
        channel: ChannelId | None = None,
        membership_version: int | None = None,
        keys: AgencyKeys | None = None,
    ) -> Envelope:
        """An envelope of a seizure by ``role`` (or by ``keys``), sealed to ``to``."""
        sender = keys or self.keys[role]
        return seal(
            notice_from_json(seizure_json(sender.agency, now_ms() - 3_600_000)),
            sender=sender,
            recipients=to,
            handling=Handling(tlp=Tlp.AMBER),
            envelope_id=envelope_id or new_envelope_id(),
            created_ms=now_ms() if created_ms is None else created_ms,
            channel=channel,
            membership_version=membership_version,
        )

    def seal_plaintext(self, role: str, plaintext: bytes, kind: MessageKind) -> Envelope:
        """An envelope from ``role`` to the target whose plaintext and header kind are given."""
        return seal_bytes(
            plaintext,
            kind=kind,
            sender=self.keys[role],
            recipients=[self.target.keys],
            handling=Handling(tlp=Tlp.AMBER),
            envelope_id=new_envelope_id(),
            created_ms=now_ms(),
        )

    def to_target(self, role: str, **kwargs: Any) -> Envelope:
        """An envelope from ``role`` to the target alone."""
        return self.seal(role, [self.target.keys], **kwargs)


def suite_of_card(card: TargetCard) -> Suite:
    """The suite every member of the kit uses: the target's (an envelope has one suite)."""
    return card.keys.suite
