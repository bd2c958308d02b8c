"""Sealing and opening envelopes: encrypt once, wrap the key per recipient, sign.

Construction (byte-exact in docs/spec/02-envelope-crypto.md)::

    ck          = 32 random bytes                       (content key, one per envelope)
    body_key    = HMAC-SHA256(ck, PAE("baliza/v1 body-key", id))
    commitment  = HMAC-SHA256(ck, PAE("baliza/v1 key-commitment", id))   -> header
    header_hash = SHA-256(PAE("baliza/v1 header-hash", header_bytes))
    body        = nonce(12) || AES-256-GCM(body_key, nonce, plaintext, aad=header_hash)
    keys[i]     = {kid, HPKE-base-seal(pk_i, ck, info=PAE("baliza/v1 content-key-wrap",
                                                            header_hash))}   sorted by kid
    sig[alg]    = Sign_alg(PAE("baliza-envelope-v1", signed_bytes))   for every alg of the suite

Opening runs the checks in a fixed order, cheapest and least secret first,
over the exact bytes received (nothing is re-encoded): suite, sender, key id,
key validity, every signature; then recipient, unwrap, commitment, body. The
header binds sender and recipients into the AEAD and the HPKE ``info``, so
stripping the signature and re-signing as another agency breaks decryption;
the commitment makes AES-GCM key-committing, so every recipient provably reads
the same plaintext.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from baliza.crypto import _primitives as prim
from baliza.crypto._domain import (
    SIG_ENVELOPE,
    TAG_BODY_KEY,
    TAG_HEADER_HASH,
    TAG_KEY_COMMITMENT,
    TAG_KEY_WRAP,
    pae,
)
from baliza.crypto.keys import AgencyKeys, PublicKeys
from baliza.crypto.suites import suite_of
from baliza.protocol.envelope import Envelope, Header, KeyEntry, MessageKind
from baliza.protocol.errors import InputError, ReasonCode, TrustError, UsageError
from baliza.protocol.handling import Handling
from baliza.protocol.ids import ChannelId, EnvelopeId, KeyId

if TYPE_CHECKING:
    from baliza.protocol.notices import Notice

CONTENT_KEY_LEN = 32


def header_hash(header_bytes: bytes) -> bytes:
    """SHA-256 of the exact header bytes, domain-separated: AEAD data and HPKE info."""
    return prim.sha256(pae(TAG_HEADER_HASH, header_bytes))


def key_commitment(content_key: bytes, envelope_id: EnvelopeId) -> bytes:
    """HMAC commitment to the content key, bound to one envelope id."""
    return prim.hmac_sha256(content_key, pae(TAG_KEY_COMMITMENT, envelope_id.encode("ascii")))


def seal_bytes(
    plaintext: bytes,
    *,
    kind: MessageKind,
    sender: AgencyKeys,
    recipients: Sequence[PublicKeys],
    handling: Handling,
    envelope_id: EnvelopeId,
    created_ms: int,
    supersedes: EnvelopeId | None = None,
    channel: ChannelId | None = None,
    membership_version: int | None = None,
    shares: EnvelopeId | None = None,
) -> Envelope:
    """Encrypt ``plaintext`` once for every key in ``recipients`` and sign it as ``sender``.

    The header lists the distinct agencies of ``recipients`` (include the
    sender's own public keys to read what it sent), or, for a channel, the
    channel and its membership version instead. Every key must be of the
    sender's suite (``SUITE_MISMATCH``: a hybrid notice is never wrapped for a
    classical key) and valid at ``created_ms``; the same key given twice is
    used once. Raises ``UsageError`` for bad arguments and ``TrustError``
    (``KEY_EXPIRED``/``KEY_NOT_YET_VALID``) for keys outside their validity.
    """
    suite = sender.suite
    sender.public().check_valid_at(created_ms)
    by_kid = _distinct_recipients(recipients, suite.value, created_ms)
    content_key = prim.random_bytes(CONTENT_KEY_LEN)
    header = Header(
        id=envelope_id,
        kind=kind,
        sender=sender.agency,
        sender_key=sender.public().signing_key_id,
        created_ms=created_ms,
        recipients=() if channel else tuple(sorted({r.agency for r in by_kid.values()})),
        channel=channel,
        membership_version=membership_version,
        handling=handling,
        supersedes=supersedes,
        shares=shares,
        suite=suite.value,
        key_commitment=key_commitment(content_key, envelope_id),
    )
    header_bytes = header.to_bytes()
    digest = header_hash(header_bytes)
    nonce = prim.random_bytes(prim.AES_NONCE_LEN)
    body = nonce + prim.aes_gcm_seal(_body_key(content_key, envelope_id), nonce, plaintext, digest)
    info = pae(TAG_KEY_WRAP, digest)
    keys = tuple(
        KeyEntry(kid=kid, wrapped=by_kid[kid].wrap(content_key, info)) for kid in sorted(by_kid)
    )
    signed = Envelope.signed_part(header_bytes, keys, body)
    return Envelope.assemble(header_bytes, keys, body, sender.sign_pae(SIG_ENVELOPE, signed))


def verify_envelope(envelope: Envelope, sender: PublicKeys) -> None:
    """Return if ``envelope`` was signed by ``sender``; raise otherwise.

    Checks, in this order: the suite is known (``UNKNOWN_SUITE``) and is the
    sender key's (``SUITE_MISMATCH``); the header names ``sender``'s agency
    (``UNKNOWN_SENDER``) and signing key id (``KEY_ID_MISMATCH``); the key was
    valid at ``created_ms`` (``KEY_NOT_YET_VALID``/``KEY_EXPIRED``); the
    signature map holds exactly the suite's algorithms (``MISSING_SIGNATURE``/
    ``UNEXPECTED_SIGNATURE``) and every one verifies over the exact signed
    bytes received (``BAD_SIGNATURE``); key entries are sorted by key id
    (``NON_CANONICAL``). ``envelope`` must come from ``parse_envelope``, which
    keeps the bytes as received. Revocation and replay are the node's checks.
    """
    header = envelope.header
    suite = suite_of(header.suite, "header.suite")
    if sender.suite != suite:
        raise TrustError(
            ReasonCode.SUITE_MISMATCH,
            f"envelope suite {suite.value}, sender key suite {sender.suite.value}",
            path="header.suite",
        )
    if header.sender != sender.agency:
        raise TrustError(
            ReasonCode.UNKNOWN_SENDER,
            f"envelope from {header.sender}, keys of {sender.agency}",
            path="header.sender",
        )
    if header.sender_key != sender.signing_key_id:
        raise TrustError(
            ReasonCode.KEY_ID_MISMATCH,
            "the header names another signing key than the one given",
            path="header.sender_key",
        )
    sender.check_valid_at(header.created_ms)
    sender.verify_pae(SIG_ENVELOPE, envelope.signed_bytes, envelope.signatures)
    kids = [entry.kid for entry in envelope.keys]
    if kids != sorted(kids):
        raise InputError(
            ReasonCode.NON_CANONICAL, "key entries not sorted by key id", path="signed.keys"
        )


def content_key(envelope: Envelope, *, recipient: AgencyKeys, sender: PublicKeys) -> bytes:
    """Verify ``envelope`` (see ``verify_envelope``) and unwrap its content key for ``recipient``.

    After verification: ``NOT_A_RECIPIENT`` when the header does not list the
    recipient's agency or no key entry has its encryption key id;
    ``DECRYPT_FAILED`` for any failure to unwrap the content key (one reason,
    no oracle); ``KEY_COMMITMENT_MISMATCH`` when the unwrapped key is not the
    one the header commits to, i.e. the sender gave different recipients
    different keys. The key opens the body and the notice's attachments.
    """
    return _unwrap(envelope, recipient, sender)[0]


def _unwrap(envelope: Envelope, recipient: AgencyKeys, sender: PublicKeys) -> tuple[bytes, bytes]:
    verify_envelope(envelope, sender)
    header = envelope.header
    if header.channel is None and recipient.agency not in header.recipients:
        raise TrustError(
            ReasonCode.NOT_A_RECIPIENT,
            f"{recipient.agency} is not among the recipients",
            path="header.recipients",
        )
    own_kid = recipient.public().encryption_key_id
    entry = next((e for e in envelope.keys if e.kid == own_kid), None)
    if entry is None:
        raise TrustError(
            ReasonCode.NOT_A_RECIPIENT,
            f"no key entry for key {own_kid.hex()} of {recipient.agency}",
            path="signed.keys",
        )
    digest = header_hash(envelope.header_bytes)
    key = recipient.unwrap(entry.wrapped, pae(TAG_KEY_WRAP, digest))
    if len(key) != CONTENT_KEY_LEN:
        raise TrustError(ReasonCode.DECRYPT_FAILED, "cannot decrypt")
    if not prim.equal(key_commitment(key, header.id), header.key_commitment):
        raise TrustError(
            ReasonCode.KEY_COMMITMENT_MISMATCH,
            "the content key is not the one the header commits to",
            path="header.key_commitment",
        )
    return key, digest


def open_bytes(envelope: Envelope, *, recipient: AgencyKeys, sender: PublicKeys) -> bytes:
    """Verify ``envelope`` and decrypt its body for ``recipient`` (see ``content_key``).

    A body too short to hold a nonce and tag, or one that does not
    authenticate, is ``DECRYPT_FAILED``.
    """
    key, digest = _unwrap(envelope, recipient, sender)
    return _open_body(envelope, key, digest)


def _open_body(envelope: Envelope, key: bytes, digest: bytes) -> bytes:
    body = envelope.body
    if len(body) < prim.AES_NONCE_LEN + prim.AES_TAG_LEN:
        raise TrustError(ReasonCode.DECRYPT_FAILED, "cannot decrypt")
    nonce, ciphertext = body[: prim.AES_NONCE_LEN], body[prim.AES_NONCE_LEN :]
    return prim.aes_gcm_open(_body_key(key, envelope.header.id), nonce, ciphertext, digest)


def open_original(envelope: Envelope, *, content_key: bytes, sender: PublicKeys) -> bytes:
    """Verify ``envelope`` as ``sender``'s and decrypt its body with a content key handed over.

    A share carries the originator's envelope and the key that opens it
    (``protocol.sharing.SharedOriginal``): whoever holds the key can read the
    body, but only the originator could have signed the header that commits
    to it. Raises as ``verify_envelope``; ``KEY_COMMITMENT_MISMATCH`` when
    ``content_key`` is not the key the signed header commits to;
    ``DECRYPT_FAILED`` when the body does not authenticate under it.
    """
    verify_envelope(envelope, sender)
    header = envelope.header
    if len(content_key) != CONTENT_KEY_LEN or not prim.equal(
        key_commitment(content_key, header.id), header.key_commitment
    ):
        raise TrustError(
            ReasonCode.KEY_COMMITMENT_MISMATCH,
            "the content key is not the one the original's header commits to",
            path="header.key_commitment",
        )
    return _open_body(envelope, content_key, header_hash(envelope.header_bytes))


def seal(
    notice: Notice,
    *,
    sender: AgencyKeys,
    recipients: Sequence[PublicKeys],
    handling: Handling,
    envelope_id: EnvelopeId,
    created_ms: int,
    supersedes: EnvelopeId | None = None,
    channel: ChannelId | None = None,
    membership_version: int | None = None,
    shares: EnvelopeId | None = None,
) -> Envelope:
    """Seal a notice: its canonical encoding, with the header kind taken from the notice.

    See ``seal_bytes`` for the recipients, the checks and what it raises.
    """
    from baliza.protocol.notices import encode_notice

    return seal_bytes(
        encode_notice(notice),
        kind=notice.kind,
        sender=sender,
        recipients=recipients,
        handling=handling,
        envelope_id=envelope_id,
        created_ms=created_ms,
        supersedes=supersedes,
        channel=channel,
        membership_version=membership_version,
        shares=shares,
    )


def open_envelope(envelope: Envelope, *, recipient: AgencyKeys, sender: PublicKeys) -> Notice:
    """Verify, decrypt and decode a notice; see ``open_bytes`` for the trust checks.

    Raises ``InputError`` when the plaintext is not a valid notice (path under
    ``body``) and ``InputError(KIND_MISMATCH)`` when the notice is of another
    kind than the signed header says, since nodes route and filter by the
    header kind without decrypting.
    """
    return open_notice(envelope, recipient=recipient, sender=sender)[0]


def open_notice(
    envelope: Envelope, *, recipient: AgencyKeys, sender: PublicKeys
) -> tuple[Notice, bytes]:
    """``open_envelope``, also returning the notice's canonical bytes (the plaintext).

    The decoder accepts only canonical bytes, so they equal
    ``encode_notice(notice)``: a receiver hashing the notice needs no
    second encoding.
    """
    from baliza.protocol.notices import decode_notice

    plaintext = open_bytes(envelope, recipient=recipient, sender=sender)
    try:
        notice = decode_notice(plaintext)
    except InputError as err:
        raise err.at("body") from None
    if notice.kind != envelope.header.kind:
        raise InputError(
            ReasonCode.KIND_MISMATCH,
            f"header says {envelope.header.kind.value}, the notice is {notice.kind.value}",
            path="body.kind",
        )
    return notice, plaintext


def _body_key(content_key: bytes, envelope_id: EnvelopeId) -> bytes:
    return prim.hmac_sha256(content_key, pae(TAG_BODY_KEY, envelope_id.encode("ascii")))


def _distinct_recipients(
    recipients: Sequence[PublicKeys], suite: str, created_ms: int
) -> dict[KeyId, PublicKeys]:
    if not recipients:
        raise UsageError(ReasonCode.MISSING_FIELD, "at least one recipient", path="recipients")
    by_kid: dict[KeyId, PublicKeys] = {}
    for i, public in enumerate(recipients):
        if not isinstance(public, PublicKeys):
            raise UsageError(ReasonCode.WRONG_TYPE, "must be PublicKeys", path=f"recipients[{i}]")
        if public.suite != suite:
            raise UsageError(
                ReasonCode.SUITE_MISMATCH,
                f"{public.agency} has {public.suite.value} keys, the sender {suite}",
                path=f"recipients[{i}]",
            )
        try:
            public.check_valid_at(created_ms)
        except TrustError as err:
            raise err.at(f"recipients[{i}]") from None
        known = by_kid.setdefault(public.encryption_key_id, public)
        if known.agency != public.agency:
            raise UsageError(
                ReasonCode.INCONSISTENT,
                f"{known.agency} and {public.agency} claim the same key",
                path=f"recipients[{i}]",
            )
    return by_kid
