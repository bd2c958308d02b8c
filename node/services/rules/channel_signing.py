"""When an owner's node may add its signature to a channel proposal another owner made.

An owner signing someone else's proposal is the last check before a change
takes effect, so it must not sign blind (issue 17, item 2): one owner handed
the other a proposal that made itself sole owner (threshold 2 → 1) and
re-admitted a removed member, and the second signed on "version 4 in force".
The rule, asked by the API, the command line and the console alike:

1. the proposal is newer than the version in force here
   (``membership_rollback``): an older one can only fork the channel on a
   node that has not seen the newer version yet;
2. the signer confirmed what it read: the proposal's fingerprint, shown
   with its changes, comes back with the request (``proposal_unconfirmed``);
3. a change that gives power away — a lower threshold, or this agency no
   longer an owner — is signed only when the request names it
   (``proposal_change_not_named``); confirming the fingerprint alone is not
   enough, because these are the changes a take-over is made of.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from baliza.crypto.channel_review import MembershipChanges
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId


class NamedChange(StrEnum):
    """A change an owner must name to sign it (API ``accept``; CLI and console say the same)."""

    LOWER_THRESHOLD = "lower_threshold"  # fewer owners needed to change the channel
    LEAVE_OWNERS = "leave_owners"  # the signing agency is an owner now and not after


def changes_to_name(changes: MembershipChanges, signer: AgencyId) -> frozenset[NamedChange]:
    """The changes in ``changes`` that ``signer`` must name before signing."""
    if changes.in_force is None:
        return frozenset()  # a new channel: nothing held here to give away
    named: set[NamedChange] = set()
    threshold = changes.threshold
    if (
        threshold is not None
        and threshold.before is not None
        and threshold.after < threshold.before
    ):
        named.add(NamedChange.LOWER_THRESHOLD)
    if signer in changes.owners_removed:
        named.add(NamedChange.LEAVE_OWNERS)
    return frozenset(named)


def check_signing(
    changes: MembershipChanges,
    fingerprint: str,
    signer: AgencyId,
    *,
    confirm: str | None,
    accept: Collection[NamedChange],
) -> None:
    """Refuse, in the order of the module docstring, a signature the signer did not consent to."""
    if changes.in_force is not None and changes.version <= changes.in_force:
        raise TrustError(
            ReasonCode.MEMBERSHIP_ROLLBACK,
            f"version {changes.version} is not newer than the version in force here "
            f"({changes.in_force})",
            path="proposal",
        )
    if confirm is None or "".join(confirm.upper().split()) != fingerprint.replace(" ", ""):
        raise InputError(
            ReasonCode.PROPOSAL_UNCONFIRMED,
            f"read the proposal's changes, then confirm its fingerprint {fingerprint}",
            path="confirm",
        )
    missing = sorted(changes_to_name(changes, signer) - set(accept))
    if missing:
        raise TrustError(
            ReasonCode.PROPOSAL_CHANGE_NOT_NAMED,
            "this proposal "
            + " and ".join(_SAYS[m] for m in missing)
            + "; sign it only by naming "
            + ", ".join(m.value for m in missing),
            path="accept",
        )


_SAYS = {
    NamedChange.LOWER_THRESHOLD: "lowers the threshold of owner signatures",
    NamedChange.LEAVE_OWNERS: "removes this agency as an owner",
}
