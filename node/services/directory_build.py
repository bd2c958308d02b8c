"""Building directory proposals from member cards and administrator keys.

Administrators start from the directory in force (or from nothing, when they
found the federation), change what they mean to change, and get a proposal
for version N+1 that they then sign in turn. The rules a node applies are in
``baliza.crypto.directory``; these helpers only make well-formed documents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from baliza.crypto import PublicKeys
from baliza.node.services.member_card import MemberCard
from baliza.protocol.directory import (
    Directory,
    KeyRecord,
    Member,
    PublicKeysWire,
    RevocationReason,
)
from baliza.protocol.errors import ReasonCode, UsageError

DAY_MS = 24 * 3600 * 1000


def _wire(keys: PublicKeys) -> PublicKeysWire:
    return PublicKeysWire(data=keys.to_bytes())


def _record(keys: PublicKeys) -> KeyRecord:
    return KeyRecord(
        keys=_wire(keys), valid_from_ms=keys.valid_from_ms, valid_until_ms=keys.valid_until_ms
    )


def member_from_card(card: MemberCard) -> Member:
    """A new member as its card describes it."""
    return Member(
        agency=card.agency,
        name=card.name,
        country=card.agency[:2].upper(),
        node_url=card.url,
        keys=(_record(card.keys),),
    )


def found(
    *,
    federation: str,
    cards: Iterable[MemberCard],
    administrators: Sequence[PublicKeys],
    threshold: int,
    now_ms: int,
    valid_days: int,
) -> Directory:
    """Version 1 of a new federation's directory."""
    return Directory(
        federation=federation,
        version=1,
        issued_ms=now_ms,
        expires_ms=now_ms + valid_days * DAY_MS,
        threshold=threshold,
        administrators=tuple(sorted((_wire(a) for a in administrators), key=lambda w: w.data)),
        members=tuple(sorted((member_from_card(c) for c in cards), key=lambda m: m.agency)),
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What an administrator wants different in the next version."""

    add_members: tuple[MemberCard, ...] = ()
    remove_members: tuple[str, ...] = ()
    add_keys: tuple[MemberCard, ...] = ()  # a member's rotated key (its new card)
    retire_keys: tuple[tuple[str, str, int], ...] = ()  # agency, key id hex, end (ms)
    revoke_keys: tuple[tuple[str, str, int, RevocationReason], ...] = ()
    administrators: tuple[PublicKeys, ...] | None = None
    threshold: int | None = None
    valid_days: int = 90
    # A member's node moved (its public_url changed): agency, new URL.
    set_urls: tuple[tuple[str, str], ...] = ()


def next_version(current: Directory, changes: Changes, *, now_ms: int) -> Directory:
    """Version N+1: ``current`` with ``changes`` applied, issued now."""
    members: dict[str, Member] = {m.agency: m for m in current.members}
    for agency in changes.remove_members:
        if members.pop(agency, None) is None:
            raise UsageError(ReasonCode.NOT_A_MEMBER, f"{agency} is not a member")
    for card in changes.add_members:
        if card.agency in members:
            raise UsageError(ReasonCode.CONFLICT, f"{card.agency} is already a member")
        members[card.agency] = member_from_card(card)
    for card in changes.add_keys:
        member = _member(members, card.agency)
        records = (*member.keys, _record(card.keys))
        members[card.agency] = dataclasses.replace(
            member, node_url=card.url, keys=tuple(sorted(records, key=KeyRecord.sort_key))
        )
    for agency, url in changes.set_urls:
        members[agency] = dataclasses.replace(_member(members, agency), node_url=url)
    for agency, key_hex, end_ms in changes.retire_keys:
        members[agency] = _edit_key(_member(members, agency), key_hex, _retire(end_ms))
    for agency, key_hex, at_ms, reason in changes.revoke_keys:
        members[agency] = _edit_key(_member(members, agency), key_hex, _revoke(at_ms, reason))
    admins = current.administrators
    if changes.administrators is not None:
        admins = tuple(sorted((_wire(a) for a in changes.administrators), key=lambda w: w.data))
    return dataclasses.replace(
        current,
        version=current.version + 1,
        issued_ms=now_ms,
        expires_ms=now_ms + changes.valid_days * DAY_MS,
        administrators=admins,
        threshold=changes.threshold if changes.threshold is not None else current.threshold,
        members=tuple(sorted(members.values(), key=lambda m: m.agency)),
    )


def _member(members: dict[str, Member], agency: str) -> Member:
    member = members.get(agency)
    if member is None:
        raise UsageError(ReasonCode.NOT_A_MEMBER, f"{agency} is not a member")
    return member


def _edit_key(member: Member, key_hex: str, edit: Callable[[KeyRecord], KeyRecord]) -> Member:
    records = []
    found_key = False
    for record in member.keys:
        keys = PublicKeys.from_bytes(record.keys.data)
        if bytes(keys.signing_key_id).hex().startswith(key_hex.lower()) and key_hex:
            record = edit(record)
            found_key = True
        records.append(record)
    if not found_key:
        raise UsageError(ReasonCode.UNKNOWN_KEY, f"{member.agency} has no key {key_hex}")
    return dataclasses.replace(member, keys=tuple(sorted(records, key=KeyRecord.sort_key)))


def _retire(end_ms: int) -> Callable[[KeyRecord], KeyRecord]:
    """End a key's validity at ``end_ms`` (never before it starts, never later than it was)."""

    def edit(record: KeyRecord) -> KeyRecord:
        end = min(record.valid_until_ms, max(end_ms, record.valid_from_ms + 1))
        return dataclasses.replace(record, valid_until_ms=end)

    return edit


def _revoke(at_ms: int, reason: RevocationReason) -> Callable[[KeyRecord], KeyRecord]:
    """Revoke a key from ``at_ms`` on."""

    def edit(record: KeyRecord) -> KeyRecord:
        return dataclasses.replace(record, revoked_ms=at_ms, revocation_reason=reason)

    return edit
