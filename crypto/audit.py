"""Signed tree heads of the audit log, and the offline check of an auditor's bundle.

A node signs its tree head with its agency key set, every algorithm of its
suite (Ed25519 and ML-DSA-65 for ``hybrid-v1``), over
``PAE("baliza-detached-v1 baliza-tree-head-v1", head bytes)``: the same
hybrid signature an envelope carries, because a head is kept as evidence for
years, and a context of its own so that it never verifies as anything else.

``verify_bundle`` is what ``baliza audit verify`` runs, with no node, network
or database: signature of the head by the keys given (which must be the log
agency's), the entry's inclusion under the head's root, and, when the bundle
carries the content, that the entry's digest is its SHA-256. It raises at
the first failure and returns what was proven.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.crypto.keys import AgencyKeys, PublicKeys
from baliza.crypto.signing import sign_detached, verify_detached
from baliza.protocol.audit import (
    TREE_HEAD_CONTEXT,
    AuditEntry,
    InclusionBundle,
    SignedTreeHead,
    TreeHead,
    content_digest,
)
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.merkle import leaf_hash, verify_inclusion


def sign_tree_head(keys: AgencyKeys, head: TreeHead) -> SignedTreeHead:
    """Sign ``head`` with ``keys``, which must be the log agency's."""
    if head.log != keys.agency:
        raise InputError(
            ReasonCode.INCONSISTENT, f"{keys.agency} cannot sign {head.log}'s log", path="log"
        )
    signed = head.to_bytes()
    return SignedTreeHead(
        signed=signed,
        key_id=keys.public().signing_key_id,
        sigs=sign_detached(keys, TREE_HEAD_CONTEXT, signed),
    )


def verify_tree_head(public: PublicKeys, signed: SignedTreeHead) -> TreeHead:
    """The head, if ``public`` (the log agency's keys) signed it; raise otherwise.

    Raises ``TrustError``: ``KEY_ID_MISMATCH`` (the head names another key or
    agency), ``MISSING_SIGNATURE`` / ``UNEXPECTED_SIGNATURE`` /
    ``BAD_SIGNATURE`` from the signature map. Key validity at the head's
    time is checked too (``KEY_EXPIRED`` / ``KEY_NOT_YET_VALID``).
    """
    head = signed.head
    if public.agency != head.log or public.signing_key_id != signed.key_id:
        raise TrustError(
            ReasonCode.KEY_ID_MISMATCH,
            f"the head of {head.log} names key {bytes(signed.key_id).hex()}, "
            f"not {public.agency}'s {bytes(public.signing_key_id).hex()}",
            path="key_id",
        )
    verify_detached(public, TREE_HEAD_CONTEXT, signed.signed, signed.sigs)
    public.check_valid_at(head.at_ms)
    return head


@dataclass(frozen=True, slots=True, kw_only=True)
class Verified:
    """What a bundle proved: this entry is leaf ``index`` of the log ``head`` names."""

    head: TreeHead
    entry: AuditEntry
    index: int
    content_checked: bool
    fingerprint: str


def verify_bundle(bundle: InclusionBundle) -> Verified:
    """Check an auditor's bundle offline (see the module docstring); raise at the first failure.

    Raises ``InputError`` (a part does not parse), ``TrustError`` from the
    head's signature, or ``TrustError(AUDIT_PROOF_FAILED)``.
    """
    public = PublicKeys.from_bytes(bundle.keys)
    head = verify_tree_head(public, SignedTreeHead.from_bytes(bundle.head))
    entry = AuditEntry.from_bytes(bundle.entry)
    verify_inclusion(leaf_hash(bundle.entry), bundle.index, head.size, bundle.proof, head.root)
    if bundle.content is not None and content_digest(bundle.content) != entry.digest:
        raise TrustError(
            ReasonCode.AUDIT_PROOF_FAILED,
            "the content shown is not what the entry's digest names",
            path="content",
        )
    return Verified(
        head=head,
        entry=entry,
        index=bundle.index,
        content_checked=bundle.content is not None,
        fingerprint=public.fingerprint(),
    )
