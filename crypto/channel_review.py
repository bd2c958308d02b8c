"""What a channel membership proposal changes, in terms an owner reads before signing.

An owner signs bytes it cannot read; this is what it reads instead: the
proposal against the version in force at its own node (not against anything
the proposal claims about itself), field by field, and a fingerprint to read
to the other owners over the phone. Like ``directory_review``, nothing here
decides: whether a change needs the signer to name it is a rule of the node
(``baliza.node.services.rules.channel_signing``).

The fingerprint covers the signed membership only, so it stays the same
while the proposal collects signatures (docs/spec/06-channels.md §6).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from baliza.crypto import _primitives as prim
from baliza.crypto._domain import pae
from baliza.crypto.directory_review import utc
from baliza.protocol.channels import Membership
from baliza.protocol.ids import AgencyId

TAG_MEMBERSHIP_FINGERPRINT: Final = "baliza/v1 membership-fingerprint"
T = TypeVar("T")


def membership_fingerprint(signed: bytes) -> str:
    """160 bits over a membership's signed bytes, base32 in groups of four, as for directories."""
    digest = prim.sha256(pae(TAG_MEMBERSHIP_FINGERPRINT, signed))[:20]
    text = base64.b32encode(digest).decode("ascii")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True, slots=True, kw_only=True)
class Change(Generic[T]):
    """One field's value in force (``None``: no version in force) and as proposed."""

    before: T | None
    after: T


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipChanges:
    """Every difference between the version in force and a proposal; empty tuples when equal.

    ``in_force`` is ``None`` when the node holds no version of the channel
    (a proposal to found it): then everything the proposal says is new.
    Scalar fields are ``None`` when unchanged.
    """

    channel: str
    in_force: int | None
    version: int
    members_added: tuple[AgencyId, ...]
    members_removed: tuple[AgencyId, ...]
    owners_added: tuple[AgencyId, ...]
    owners_removed: tuple[AgencyId, ...]
    threshold: Change[int] | None
    kind: Change[str] | None
    name: Change[str] | None
    programme: Change[str | None] | None
    expires_ms: Change[int] | None

    def to_json(self) -> dict[str, object]:
        """The API's form: lists of agencies, ``{"from", "to"}`` for changed fields."""

        def pair(change: Change[T] | None) -> dict[str, object] | None:
            return None if change is None else {"from": change.before, "to": change.after}

        return {
            "channel": self.channel,
            "in_force": self.in_force,
            "version": self.version,
            "members_added": list(self.members_added),
            "members_removed": list(self.members_removed),
            "owners_added": list(self.owners_added),
            "owners_removed": list(self.owners_removed),
            "threshold": pair(self.threshold),
            "kind": pair(self.kind),
            "name": pair(self.name),
            "programme": pair(self.programme),
            "expires_ms": pair(self.expires_ms),
        }


def membership_changes(old: Membership | None, new: Membership) -> MembershipChanges:
    """What ``new`` changes against ``old`` (the version in force here, or ``None``)."""

    def changed(before: T | None, after: T) -> Change[T] | None:
        return None if old is not None and before == after else Change(before=before, after=after)

    old_members = set(old.members) if old else set()
    old_owners = set(old.owners) if old else set()
    return MembershipChanges(
        channel=new.channel,
        in_force=old.version if old else None,
        version=new.version,
        members_added=tuple(sorted(set(new.members) - old_members)),
        members_removed=tuple(sorted(old_members - set(new.members))),
        owners_added=tuple(sorted(set(new.owners) - old_owners)),
        owners_removed=tuple(sorted(old_owners - set(new.owners))),
        threshold=changed(old.threshold if old else None, new.threshold),
        kind=changed(old.kind.value if old else None, new.kind.value),
        name=changed(old.name if old else None, new.name),
        programme=changed(
            (old.programme.value if old.programme else None) if old else None,
            new.programme.value if new.programme else None,
        ),
        expires_ms=changed(old.expires_ms if old else None, new.expires_ms),
    )


def change_lines(changes: MembershipChanges) -> list[str]:
    """One English line per change, for the command line; alarming ones in capitals.

    A lower threshold and a removed owner are what a take-over looks like,
    so they read as loudly as a new directory administrator does.
    """
    c = changes
    lines = [
        f"version {c.in_force} → {c.version}"
        if c.in_force is not None
        else f"version {c.version}: a channel this node does not hold yet"
    ]
    if c.kind is not None:
        lines.append(f"KIND CHANGED: {c.kind.before} → {c.kind.after}")
    if c.name is not None:
        lines.append(f"name: {c.name.before!r} → {c.name.after!r}")
    if c.programme is not None:
        lines.append(f"programme: {c.programme.before} → {c.programme.after}")
    if c.threshold is not None:
        before, after = c.threshold.before, c.threshold.after
        loud = "THRESHOLD LOWERED" if before is not None and after < before else "threshold"
        lines.append(f"{loud}: {before} → {after} owner signatures")
    lines += [f"OWNER ADDED: {a}" for a in c.owners_added]
    lines += [f"OWNER REMOVED: {a}" for a in c.owners_removed]
    lines += [f"member added: {a}" for a in c.members_added]
    lines += [f"member removed: {a}" for a in c.members_removed]
    if c.expires_ms is not None:
        before_text = utc(c.expires_ms.before) if c.expires_ms.before is not None else "-"
        lines.append(f"expires: {before_text} → {utc(c.expires_ms.after)}")
    return lines
