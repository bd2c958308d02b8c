"""Trust rules of channel membership: owners' threshold signatures, in order, never backwards.

A channel's member list changes by versions signed by a threshold of its
owners, with the same rules the federation directory follows (in the manner
of TUF root rotation). ``admit_membership`` checks one candidate against the
version in force, in this order, and raises at the first failure:

1. shape (``InputError``): the bytes parse as a signed membership;
2. identity: the same channel and kind as the version in force
   (``MEMBERSHIP_MISMATCH``) and the same founding (``CHANNEL_CONFLICT``:
   another version 1 under this id, whoever signed it). A node that holds
   no version of the channel takes only its version 1 (``CHANNEL_UNFOUNDED``):
   a chain is known by its founding, never by a later version that names
   its own owners;
3. owners' signatures: a threshold of distinct *current* owners, each with a
   key the federation directory vouches for at ``issued_ms``
   (``MEMBERSHIP_THRESHOLD``, or ``NOT_AN_OWNER`` when no signature is by an
   owner); when owners or threshold change, also a threshold of the *new*
   owners. Version 1 is checked against its own owners, the founders: they
   are directory members, so their keys are vouched for by the federation
   administrators;
4. order: a version equal to the one in force with other bytes is a fork
   (``MEMBERSHIP_FORK``), a lower one a rollback (``MEMBERSHIP_ROLLBACK``);
5. everyone named (owners and members) is a directory member
   (``NOT_A_MEMBER``);
6. not expired now (``MEMBERSHIP_EXPIRED``), for the version that ends up in force.

``check_known`` is the rule for a version not newer than the one in force:
it changes nothing, but one that contradicts what the node holds (another
founding, or other bytes for a version it holds) is refused, never skipped.

Keys are looked up through ``OwnerKeys``, a function the node builds from its
trusted directory, so this module needs no storage and no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from baliza.crypto.keys import AgencyKeys, PublicKeys
from baliza.crypto.signing import sign_detached, verify_detached
from baliza.protocol.channels import (
    MEMBERSHIP_CONTEXT,
    Membership,
    OwnerSignature,
    SignedMembership,
)
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, KeyId

# (agency, key id, at_ms) -> the key set the directory vouches for; raises TrustError.
OwnerKeys = Callable[[AgencyId, KeyId, int], PublicKeys]
# agency -> whether the federation directory in force lists it.
IsMember = Callable[[AgencyId], bool]


def parse_membership(data: bytes) -> SignedMembership:
    """Parse a signed membership (or proposal); ``InputError`` names the field at fault."""
    if not isinstance(data, bytes):
        raise InputError(ReasonCode.WRONG_TYPE, "expected the bytes of a signed membership")
    return SignedMembership.from_bytes(data)


def propose_membership(membership: Membership) -> bytes:
    """An unsigned proposal of ``membership``: the file owners sign in turn."""
    return SignedMembership(signed=membership.to_bytes()).to_bytes()


def sign_membership(proposal: bytes, owner: AgencyKeys) -> bytes:
    """Add ``owner``'s signature to a proposal; signing again replaces the earlier entry.

    Works on bytes alone. Whether the signer counts is decided by each node
    against the version it holds: an owner handing over may have to sign the
    version that no longer lists it.
    """
    document = parse_membership(proposal)
    entry = OwnerSignature(
        agency=owner.agency,
        key_id=owner.public().signing_key_id,
        sigs=sign_detached(owner, MEMBERSHIP_CONTEXT, document.signed),
    )
    return document.with_signature(entry).to_bytes()


def owners_who_signed(
    document: SignedMembership, owners: Sequence[AgencyId], owner_keys: OwnerKeys
) -> frozenset[AgencyId]:
    """The distinct ``owners`` whose signature over the membership bytes verifies."""
    wanted = set(owners)
    at_ms = document.membership.issued_ms
    found: set[AgencyId] = set()
    for entry in document.signatures:
        if entry.agency not in wanted or entry.agency in found:
            continue
        try:
            keys = owner_keys(entry.agency, entry.key_id, at_ms)
            verify_detached(keys, MEMBERSHIP_CONTEXT, document.signed, entry.sigs)
        except BalizaError:
            continue  # a bad or unvouched signature simply does not count
        found.add(entry.agency)
    return frozenset(found)


def admit_membership(
    current: SignedMembership | None,
    candidate: bytes,
    *,
    owner_keys: OwnerKeys,
    is_member: IsMember,
    now_ms: int,
    final: bool = True,
) -> SignedMembership:
    """Check ``candidate`` against ``current`` by the rules above; return it parsed.

    ``final`` is false for the intermediate versions of a chain applied in
    one go: only the version that ends up in force must be unexpired.
    """
    document = parse_membership(candidate)
    new = document.membership
    if current is None:
        if new.version != 1:
            raise TrustError(
                ReasonCode.CHANNEL_UNFOUNDED,
                f"{new.channel} is not held here: only its version 1, signed by its "
                f"founders, starts it (not version {new.version})",
                path="signed.version",
            )
        _check_threshold(document, new.owners, new.threshold, owner_keys, "its own")
    else:
        old = current.membership
        _check_identity(current, document)
        _check_threshold(document, old.owners, old.threshold, owner_keys, "the current")
        if (new.owners, new.threshold) != (old.owners, old.threshold):
            _check_threshold(document, new.owners, new.threshold, owner_keys, "the new")
        if new.version == old.version and document.signed != current.signed:
            raise TrustError(
                ReasonCode.MEMBERSHIP_FORK,
                f"another membership with the version in force ({old.version})",
                path="signed.version",
            )
        if new.version <= old.version:
            raise TrustError(
                ReasonCode.MEMBERSHIP_ROLLBACK,
                f"version {new.version} is not newer than {old.version}",
                path="signed.version",
            )
    for i, agency in enumerate(new.members):
        if not is_member(agency):
            raise TrustError(
                ReasonCode.NOT_A_MEMBER,
                f"{agency} is not a member of the federation",
                path=f"signed.members[{i}]",
            )
    if final and new.expires_ms <= now_ms:
        raise TrustError(
            ReasonCode.MEMBERSHIP_EXPIRED,
            f"version {new.version} of {new.channel} has expired",
            path="signed.expires_ms",
        )
    return document


def check_known(current: SignedMembership, document: SignedMembership, held: bytes | None) -> None:
    """Refuse a version not newer than ``current`` that contradicts the chain held.

    ``held`` is the signed bytes this node holds at the document's version
    (None if it never held that one). The same channel, kind and founding
    (``MEMBERSHIP_MISMATCH``, ``CHANNEL_CONFLICT``), and the same bytes as
    the version held (``MEMBERSHIP_FORK``); otherwise it changes nothing.
    """
    _check_identity(current, document)
    if held is not None and document.signed != held:
        raise TrustError(
            ReasonCode.MEMBERSHIP_FORK,
            f"another version {document.membership.version} of "
            f"{document.membership.channel} than the one held",
            path="signed",
        )


def _check_identity(current: SignedMembership, document: SignedMembership) -> None:
    old, new = current.membership, document.membership
    if (new.channel, new.kind) != (old.channel, old.kind):
        raise TrustError(
            ReasonCode.MEMBERSHIP_MISMATCH,
            f"a membership of {new.channel} ({new.kind}), not {old.channel} ({old.kind})",
            path="signed.channel",
        )
    if document.founding != current.founding:
        raise TrustError(
            ReasonCode.CHANNEL_CONFLICT,
            f"another channel under the id {new.channel}: founded otherwise than the one "
            f"held (founding {document.founding.hex()[:16]}, held {current.founding.hex()[:16]})",
            path="signed.founding" if new.version > 1 else "signed",
        )


def _check_threshold(
    document: SignedMembership,
    owners: Sequence[AgencyId],
    threshold: int,
    owner_keys: OwnerKeys,
    whose: str,
) -> None:
    if not {s.agency for s in document.signatures} & set(owners):
        raise TrustError(
            ReasonCode.NOT_AN_OWNER, f"no signature is by {whose} owners", path="signatures"
        )
    signed = owners_who_signed(document, owners, owner_keys)
    if len(signed) < threshold:
        raise TrustError(
            ReasonCode.MEMBERSHIP_THRESHOLD,
            f"{len(signed)} of {whose} owners signed; {threshold} must",
            path="signatures",
        )
