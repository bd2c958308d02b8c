"""Shared keys and envelope surgery for the crypto tests.

Keys are derived from fixed seeds and cached for the whole session: ML-DSA and
ML-KEM key generation is cheap, but rebuilding them in every test is not
free, and fixed seeds make a failing test reproducible. No pytest fixtures,
so that the module can also be imported by the vector generator.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Mapping, Sequence

from baliza.crypto import AgencyKeys, PublicKeys, Suite, seal_bytes
from baliza.crypto._domain import SIG_ENVELOPE, TAG_KEY_WRAP, pae
from baliza.crypto.seal import header_hash, key_commitment
from baliza.protocol.canonical import encode
from baliza.protocol.envelope import Envelope, Header, KeyEntry, MessageKind
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.handling import Handling, HandlingCode, Tlp
from baliza.protocol.ids import AgencyId, EnvelopeId, make_envelope_id
from baliza.protocol.notices import (
    Category,
    Commodity,
    Conveyance,
    Location,
    Programme,
    Quantity,
    ReportingUnit,
    SeizureNotice,
    TransportMode,
    Unit,
    encode_notice,
)

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
VALID_FROM_MS = NOW_MS - 86_400_000
VALID_UNTIL_MS = NOW_MS + 365 * 86_400_000
AGENCIES = {
    "alice": "co.polfa.ctg",
    "bob": "es.aduanas.alg",
    "carol": "nl.douane.rtm",
    "mallory": "pa.mallory.unit",
}
HANDLING = Handling(tlp=Tlp.AMBER, codes=(HandlingCode.H0,))
# A plaintext that is not a notice: for the byte-level layer, which never looks inside.
PLAINTEXT = encode({"v": 1, "kind": "notice.seizure", "text": "12 kg cocaine in MSCU1234565"})
# A valid seizure notice (chapter 03) by Alice's unit: what the vectors seal, so
# that an opener following chapter 02 §7 to the end (steps 16 and 17) accepts it.
NOTICE_PLAINTEXT = encode_notice(
    SeizureNotice(
        programme=Programme.CCP,
        unit=ReportingUnit(agency=AgencyId("co.polfa.ctg"), name="Antinarcóticos Cartagena"),
        seized_ms=NOW_MS - 3_600_000,
        location=Location(locode="COCTG"),
        transport=TransportMode.SEA,
        commodities=(
            Commodity(category=Category.COCAINE, quantity=Quantity(amount=12_000, unit=Unit.G)),
        ),
        conveyance=Conveyance(container="CSQU3054383"),
    )
)


def seed_of(name: str) -> bytes:
    """The fixed 32-byte seed of a test agency."""
    return hashlib.sha256(f"baliza test seed {name}".encode()).digest()


@functools.cache
def keys(name: str, suite: Suite = Suite.HYBRID) -> AgencyKeys:
    """Private keys of a test agency ("alice", "bob", "carol", "mallory")."""
    return AgencyKeys.from_seed(
        AGENCIES[name],
        suite,
        seed_of(f"{name}/{suite.value}"),
        valid_from_ms=VALID_FROM_MS,
        valid_until_ms=VALID_UNTIL_MS,
    )


def public(name: str, suite: Suite = Suite.HYBRID) -> PublicKeys:
    """Public keys of a test agency."""
    return keys(name, suite).public()


def eid(n: int = 1) -> EnvelopeId:
    """A fixed UUIDv7 envelope id."""
    return make_envelope_id(NOW_MS, n.to_bytes(10, "big"))


def sealed(
    suite: Suite = Suite.HYBRID,
    to: Sequence[str] = ("bob",),
    plaintext: bytes = PLAINTEXT,
    sender: str = "alice",
    n: int = 1,
) -> Envelope:
    """An envelope from ``sender`` to the named agencies."""
    return seal_bytes(
        plaintext,
        kind=MessageKind.SEIZURE,
        sender=keys(sender, suite),
        recipients=[public(name, suite) for name in to],
        handling=HANDLING,
        envelope_id=eid(n),
        created_ms=NOW_MS,
    )


def rebuild(
    envelope: Envelope,
    *,
    header: Header | None = None,
    header_bytes: bytes | None = None,
    keys_: tuple[KeyEntry, ...] | None = None,
    body: bytes | None = None,
    signatures: Mapping[str, bytes] | None = None,
    signer: AgencyKeys | None = None,
) -> Envelope:
    """The envelope with parts replaced, re-signed by ``signer`` or with the given signatures.

    Without ``signer`` and ``signatures`` the old signatures are kept, which is
    what an attacker who edits an envelope in transit can do.
    """
    if header is not None:
        header_bytes = header.to_bytes()
    hb = envelope.header_bytes if header_bytes is None else header_bytes
    ks = envelope.keys if keys_ is None else keys_
    bd = envelope.body if body is None else body
    sigs: Mapping[str, bytes] = envelope.signatures if signatures is None else signatures
    if signer is not None:
        sigs = signer.sign_pae(SIG_ENVELOPE, Envelope.signed_part(hb, ks, bd))
    return Envelope.assemble(hb, ks, bd, sigs)


def edit_header(envelope: Envelope, **changes: object) -> Header:
    """A copy of the envelope's header with fields changed (not re-validated by crypto)."""
    return dataclasses.replace(envelope.header, **changes)  # type: ignore[arg-type]


def content_key_of(envelope: Envelope, name: str, suite: Suite = Suite.HYBRID) -> bytes:
    """The content key as recipient ``name`` unwraps it (for vectors and forgeries)."""
    kid = public(name, suite).encryption_key_id
    wrapped = next(e.wrapped for e in envelope.keys if e.kid == kid)
    return keys(name, suite).unwrap(wrapped, pae(TAG_KEY_WRAP, header_hash(envelope.header_bytes)))


def split_view(suite: Suite = Suite.HYBRID) -> Envelope:
    """A malicious sender's envelope to Bob and Carol: they get different content keys.

    The header commits to Bob's key; Carol's entry wraps another one. With a
    non-committing AEAD alone, Carol could be shown a different plaintext.
    Signed by Alice, so only the commitment check can catch it.
    """
    envelope = sealed(suite, to=("bob", "carol"))
    assert envelope.header.key_commitment == key_commitment(
        content_key_of(envelope, "bob", suite), envelope.id
    )
    info = pae(TAG_KEY_WRAP, header_hash(envelope.header_bytes))
    carol = public("carol", suite)
    other = hashlib.sha256(b"another content key").digest()
    entries = tuple(
        KeyEntry(kid=e.kid, wrapped=carol.wrap(other, info))
        if e.kid == carol.encryption_key_id
        else e
        for e in envelope.keys
    )
    return rebuild(envelope, keys_=entries, signer=keys("alice", suite))


def reason_of(exc: BaseException) -> ReasonCode:
    """The reason code of a Baliza error (fails the test for anything else)."""
    assert isinstance(exc, BalizaError), f"not a BalizaError: {exc!r}"
    return exc.reason
