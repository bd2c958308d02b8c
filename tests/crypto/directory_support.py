"""A small federation for the directory tests: administrators, members, builders.

Administrators and members have separate, seed-derived classic keys (the
trust rules do not depend on the suite, and Ed25519 keeps hypothesis fast).
``dave`` and ``erin`` are administrators-to-be for administrator changes;
``mallory`` is never an administrator.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from crypto_support import NOW_MS, seed_of

from baliza.crypto import AgencyKeys, Suite, TrustedDirectory
from baliza.crypto.directory import directory_fingerprint, propose, sign_proposal
from baliza.protocol.directory import (
    Directory,
    KeyRecord,
    Member,
    PublicKeysWire,
    RevocationReason,
    SignedDirectory,
)
from baliza.protocol.ids import AgencyId

DAY = 86_400_000
FEDERATION = "baliza-test"
FOUNDERS = ("alice", "bob", "carol")
AGENCIES = {
    "alice": "co.polfa.ctg",
    "bob": "es.aduanas.alg",
    "carol": "nl.douane.rtm",
    "dave": "de.zoll.hh",
    "erin": "fr.douane.lh",
    "mallory": "pa.mallory.unit",
}
KEY_FROM_MS = NOW_MS - 10 * DAY
KEY_UNTIL_MS = NOW_MS + 365 * DAY
EXPIRES_MS = NOW_MS + 30 * DAY


@functools.cache
def admin(name: str, suite: Suite = Suite.CLASSIC) -> AgencyKeys:
    """The administrator key of ``name`` (kept offline in real life)."""
    return AgencyKeys.from_seed(
        AGENCIES[name],
        suite,
        seed_of(f"directory admin {name}"),
        valid_from_ms=KEY_FROM_MS,
        valid_until_ms=KEY_UNTIL_MS,
    )


@functools.cache
def member_keys(name: str, generation: int = 1) -> AgencyKeys:
    """The node key of member ``name``; a new ``generation`` is a rotated key."""
    return AgencyKeys.from_seed(
        AGENCIES[name],
        Suite.CLASSIC,
        seed_of(f"directory member {name} {generation}"),
        valid_from_ms=KEY_FROM_MS,
        valid_until_ms=KEY_UNTIL_MS,
    )


def record(
    keys: AgencyKeys,
    *,
    valid_from_ms: int = KEY_FROM_MS,
    valid_until_ms: int = KEY_UNTIL_MS,
    revoked_ms: int | None = None,
    reason: RevocationReason | None = None,
) -> KeyRecord:
    """A key record vouching for ``keys`` over the given period."""
    return KeyRecord(
        keys=PublicKeysWire.from_wire(keys.public().to_wire(), "keys"),
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
        revoked_ms=revoked_ms,
        revocation_reason=reason,
    )


def member(name: str, *records: KeyRecord) -> Member:
    """Member ``name`` with the given key records (its first key by default)."""
    agency = AGENCIES[name]
    chosen = records or (record(member_keys(name)),)
    return Member(
        agency=AgencyId(agency),
        name=f"{name.title()} agency",
        country=agency[:2].upper(),
        node_url=f"https://{name}.example.org/baliza",
        keys=tuple(sorted(chosen, key=KeyRecord.sort_key)),
    )


def admin_wire(keys: AgencyKeys) -> PublicKeysWire:
    """An administrator entry for ``keys``."""
    return PublicKeysWire.from_wire(keys.public().to_wire(), "administrators")


def make_directory(
    version: int = 1,
    *,
    admins: Sequence[AgencyKeys] | None = None,
    threshold: int = 2,
    members: Sequence[Member] | None = None,
    issued_ms: int = NOW_MS - DAY,
    expires_ms: int = EXPIRES_MS,
    federation: str = FEDERATION,
) -> Directory:
    """A directory (administrators and members sorted as the wire requires)."""
    chosen = [admin(n) for n in FOUNDERS] if admins is None else list(admins)
    listed = members if members is not None else [member(n) for n in FOUNDERS]
    return Directory(
        federation=federation,
        version=version,
        issued_ms=issued_ms,
        expires_ms=expires_ms,
        threshold=threshold,
        administrators=tuple(sorted(admin_wire(k) for k in chosen)),
        members=tuple(sorted(listed, key=lambda m: m.agency)),
    )


def signed(directory: Directory, *signers: AgencyKeys) -> bytes:
    """``directory`` proposed and signed by each of ``signers`` in turn, as files would be."""
    data = propose(directory)
    for keys in signers:
        data = sign_proposal(data, keys)
    return data


def founders(*names: str) -> tuple[AgencyKeys, ...]:
    """The administrator keys of ``names``."""
    return tuple(admin(n) for n in names)


def founded(directory: Directory | None = None) -> TrustedDirectory:
    """A node that bootstrapped ``directory`` (version 1 by default), signed by all founders."""
    first = signed(directory or make_directory(), *founders(*FOUNDERS))
    return TrustedDirectory.bootstrap(first, NOW_MS, fingerprint=directory_fingerprint(first))


def with_signatures(data: bytes, source: bytes) -> bytes:
    """The document of ``data`` carrying the signature entries of ``source``."""
    target = SignedDirectory.from_bytes(data)
    entries = SignedDirectory.from_bytes(source).signatures
    return SignedDirectory(signed=target.signed, signatures=entries).to_bytes()
