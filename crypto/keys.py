"""Agency keys: the private set an agency holds, and the public set it publishes.

An agency has, per suite, one signing key set (one key per signature algorithm
of the suite) and one encryption key set (the halves of the suite's KEM), with
a validity period. The public set travels as::

    {"agency": str, "enc": {alg: bin, ...}, "sign": {alg: bin, ...},
     "suite": str, "v": 1, "valid_from_ms": int, "valid_until_ms": int}

Key ids are derived, never chosen: the first 16 bytes of
``SHA-256(PAE(tag, canonical({"keys": {alg: bin}, "suite": str})))``, with
separate tags for signing and encryption keys, so an id names exactly one set
of key material and an envelope cannot point at one key and be checked with
another. Agency and validity are not part of the id: they are claims about the
key that the federation directory vouches for, not the key itself.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from baliza.crypto import _primitives as prim
from baliza.crypto import keystore
from baliza.crypto._domain import (
    TAG_ENCRYPTION_KEY_ID,
    TAG_FINGERPRINT,
    TAG_SEED,
    TAG_SIGNING_KEY_ID,
    pae,
)
from baliza.crypto.suites import ALGORITHMS, REQUEST_SIGNATURE, Suite, suite_of
from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, TrustError, UsageError, VersionError
from baliza.protocol.fields import FieldReader, as_map, check_bytes
from baliza.protocol.ids import KEY_ID_LEN, AgencyId, KeyId, agency_id

KEYS_VERSION: Final = 1
MAX_TIME_MS: Final = 2**53 - 1
_PUBLIC_LIMITS = Limits(max_size=16 * 1024, max_depth=3, max_items=16, max_str=128, max_bin=4096)
_PRIVATE_LIMITS = Limits(max_size=4096, max_depth=3, max_items=16, max_str=128, max_bin=128)


def key_id_of(tag: str, suite: Suite, keys: Mapping[str, bytes]) -> KeyId:
    """Derive the key id of a set of public keys (see the module docstring)."""
    material = encode({"suite": suite.value, "keys": dict(keys)})
    return KeyId(prim.sha256(pae(tag, material))[:KEY_ID_LEN])


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicKeys:
    """An agency's public keys of one suite, with their validity period.

    Construction checks every key (length and encoding) and derives the key
    ids; a ``PublicKeys`` that exists is usable. ``valid_until_ms`` is
    exclusive.
    """

    agency: AgencyId
    suite: Suite
    signing: Mapping[str, bytes] = field(hash=False)
    encryption: Mapping[str, bytes] = field(hash=False)
    valid_from_ms: int
    valid_until_ms: int
    signing_key_id: KeyId = field(init=False)
    encryption_key_id: KeyId = field(init=False)
    _verifiers: tuple[prim.VerifyKey, ...] = field(init=False, repr=False, compare=False)
    _kem: prim.KemPublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        algorithms = ALGORITHMS[suite_of(self.suite)]
        agency_id(self.agency, "agency")
        _check_validity(self.valid_from_ms, self.valid_until_ms)
        signing = _frozen_keys(self.signing, algorithms.signatures, "sign")
        encryption = _frozen_keys(self.encryption, algorithms.kem, "enc")
        setter = object.__setattr__
        setter(self, "suite", Suite(self.suite))
        setter(self, "signing", signing)
        setter(self, "encryption", encryption)
        setter(
            self,
            "_verifiers",
            tuple(prim.VerifyKey(a, raw, f"sign.{a}") for a, raw in signing.items()),
        )
        setter(self, "_kem", prim.KemPublicKey(dict(encryption), "enc"))
        setter(self, "signing_key_id", key_id_of(TAG_SIGNING_KEY_ID, self.suite, signing))
        setter(self, "encryption_key_id", key_id_of(TAG_ENCRYPTION_KEY_ID, self.suite, encryption))

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {
            "v": KEYS_VERSION,
            "agency": self.agency,
            "suite": self.suite.value,
            "sign": dict(self.signing),
            "enc": dict(self.encryption),
            "valid_from_ms": self.valid_from_ms,
            "valid_until_ms": self.valid_until_ms,
        }

    def to_bytes(self) -> bytes:
        """Canonical bytes, for files and the federation directory."""
        return encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> PublicKeys:
        """Build from a canonical map; raise ``InputError`` naming the field at fault."""
        reader = FieldReader(value, path)
        version = reader.integer("v", lo=0, hi=2**16)
        if version != KEYS_VERSION:
            raise VersionError(
                ReasonCode.UNKNOWN_VERSION, f"key set version {version}", path=reader.at("v")
            )
        agency = agency_id(reader.text("agency", max_len=100), reader.at("agency"))
        suite = suite_of(reader.text("suite", max_len=64), reader.at("suite"))
        signing = reader.nested("sign", _key_map)
        encryption = reader.nested("enc", _key_map)
        valid_from = reader.integer("valid_from_ms", lo=0, hi=MAX_TIME_MS)
        valid_until = reader.integer("valid_until_ms", lo=0, hi=MAX_TIME_MS)
        reader.finish()
        try:
            return cls(
                agency=agency,
                suite=suite,
                signing=signing,
                encryption=encryption,
                valid_from_ms=valid_from,
                valid_until_ms=valid_until,
            )
        except InputError as err:
            raise (err.at(path) if path else err) from None

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKeys:
        """Parse canonical bytes made by ``to_bytes``."""
        return cls.from_wire(decode(data, _PUBLIC_LIMITS))

    def fingerprint(self) -> str:
        """A short string two people can compare over the phone.

        160 bits of SHA-256 over the agency, suite and all public key material
        (not validity: renewing a validity period keeps the fingerprint), in
        base32 groups of four: ``7QKM X4BA ...``. Base32 avoids the look-alike
        pairs 0/O and 1/I.
        """
        material = encode(
            {
                "agency": self.agency,
                "suite": self.suite.value,
                "sign": dict(self.signing),
                "enc": dict(self.encryption),
            }
        )
        digest = prim.sha256(pae(TAG_FINGERPRINT, material))[:20]
        text = base64.b32encode(digest).decode("ascii")
        return " ".join(text[i : i + 4] for i in range(0, len(text), 4))

    def verify_pae(self, type_: str, message: bytes, signatures: Mapping[str, bytes]) -> None:
        """Check a signature map over ``PAE(type_, message)``; raise, never return False.

        The map must hold exactly the suite's algorithms (``MISSING_SIGNATURE``,
        ``UNEXPECTED_SIGNATURE``) and every one must verify (``BAD_SIGNATURE``):
        a hybrid signature is only as strong as both halves if both are required.
        Ed25519 goes first because it is the cheaper way to refuse junk.
        """
        wanted = {v.algorithm for v in self._verifiers}
        missing = wanted - set(signatures)
        if missing:
            raise TrustError(
                ReasonCode.MISSING_SIGNATURE, f"no {', '.join(sorted(missing))} signature"
            )
        extra = set(signatures) - wanted
        if extra:
            raise TrustError(
                ReasonCode.UNEXPECTED_SIGNATURE,
                f"suite {self.suite.value} has no {', '.join(sorted(extra))} signature",
            )
        data = pae(type_, message)
        context = type_.encode("ascii")
        for verifier in self._verifiers:
            verifier.verify(signatures[verifier.algorithm], data, context)

    def verify_request_pae(self, type_: str, message: bytes, signature: bytes) -> None:
        """Check a ``REQUEST_SIGNATURE`` signature over ``PAE(type_, message)``; raise if bad.

        Raises ``TrustError(BAD_SIGNATURE)``, or ``TrustError(UNKNOWN_SUITE)``
        if the suite has no key of that algorithm.
        """
        for verifier in self._verifiers:
            if verifier.algorithm == REQUEST_SIGNATURE:
                verifier.verify(signature, pae(type_, message), type_.encode("ascii"))
                return
        raise TrustError(ReasonCode.UNKNOWN_SUITE, f"suite {self.suite.value} cannot sign requests")

    def wrap(self, secret: bytes, info: bytes) -> bytes:
        """HPKE-seal ``secret`` to the encryption key; returns ``enc || ciphertext``."""
        return self._kem.wrap(secret, info)

    def check_valid_at(self, time_ms: int) -> None:
        """Return if the keys are valid at ``time_ms``; raise ``TrustError`` otherwise.

        ``KEY_NOT_YET_VALID`` before ``valid_from_ms``, ``KEY_EXPIRED`` from
        ``valid_until_ms`` on (the end is exclusive).
        """
        if time_ms < self.valid_from_ms:
            raise TrustError(
                ReasonCode.KEY_NOT_YET_VALID,
                f"key of {self.agency} is valid from {self.valid_from_ms}, not at {time_ms}",
            )
        if time_ms >= self.valid_until_ms:
            raise TrustError(
                ReasonCode.KEY_EXPIRED,
                f"key of {self.agency} expired at {self.valid_until_ms}, before {time_ms}",
            )


class AgencyKeys:
    """An agency's private keys of one suite. Keep it secret; it never prints secrets.

    Build one with ``generate`` (fresh randomness), ``from_encrypted_bytes``
    (a key file) or ``from_seed`` (deterministic: test vectors and recovery
    from an escrowed seed).
    """

    __slots__ = ("_kem", "_public", "_seeds", "_signers")

    def __init__(
        self,
        agency: str,
        suite: Suite,
        seeds: Mapping[str, bytes],
        *,
        valid_from_ms: int,
        valid_until_ms: int,
    ) -> None:
        algorithms = ALGORITHMS[suite_of(suite)]
        if set(seeds) != set(algorithms.signatures) | set(algorithms.kem):
            raise UsageError(
                ReasonCode.INCONSISTENT,
                f"suite {suite} needs seeds for exactly "
                f"{sorted(set(algorithms.signatures) | set(algorithms.kem))}",
            )
        self._seeds = dict(seeds)
        self._signers = tuple(prim.SigningKey(a, seeds[a]) for a in algorithms.signatures)
        self._kem = prim.KemPrivateKey({a: seeds[a] for a in algorithms.kem})
        self._public = PublicKeys(
            agency=agency_id(agency, "agency"),
            suite=Suite(suite),
            signing={s.algorithm: s.public for s in self._signers},
            encryption=self._kem.public,
            valid_from_ms=valid_from_ms,
            valid_until_ms=valid_until_ms,
        )

    @classmethod
    def generate(
        cls,
        agency: str,
        suite: Suite = Suite.HYBRID,
        *,
        valid_from_ms: int,
        valid_until_ms: int,
    ) -> AgencyKeys:
        """Fresh keys for ``agency`` from the operating system's CSPRNG."""
        return cls.from_seed(
            agency,
            suite,
            prim.random_bytes(32),
            valid_from_ms=valid_from_ms,
            valid_until_ms=valid_until_ms,
        )

    @classmethod
    def from_seed(
        cls,
        agency: str,
        suite: Suite,
        seed: bytes,
        *,
        valid_from_ms: int,
        valid_until_ms: int,
    ) -> AgencyKeys:
        """Keys derived from a 32-byte secret ``seed``: the same seed gives the same keys.

        Each algorithm's seed is ``HMAC-SHA256(seed, PAE("baliza/v1 key-seed " + alg,
        counter byte))`` blocks (counter 1, 2, ...), truncated to its length.
        """
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise UsageError(ReasonCode.BAD_LENGTH, "the seed is 32 bytes", path="seed")
        algorithms = ALGORITHMS[suite_of(suite)]
        seeds = {
            name: _expand(seed, TAG_SEED + name, prim.SEED_LEN[name])
            for name in (*algorithms.signatures, *algorithms.kem)
        }
        return cls(agency, suite, seeds, valid_from_ms=valid_from_ms, valid_until_ms=valid_until_ms)

    @property
    def agency(self) -> AgencyId:
        """The agency these keys belong to."""
        return self._public.agency

    @property
    def suite(self) -> Suite:
        """The suite of these keys."""
        return self._public.suite

    def public(self) -> PublicKeys:
        """The public half, to publish in the federation directory."""
        return self._public

    def sign_pae(self, type_: str, message: bytes) -> dict[str, bytes]:
        """Sign ``PAE(type_, message)`` with every algorithm of the suite.

        ``type_`` is also the ML-DSA context string. Package-internal: callers
        use ``sign_detached`` or ``seal``, which choose the type.
        """
        data = pae(type_, message)
        context = type_.encode("ascii")
        return {s.algorithm: s.sign(data, context) for s in self._signers}

    def sign_request_pae(self, type_: str, message: bytes) -> bytes:
        """Sign ``PAE(type_, message)`` with the ``REQUEST_SIGNATURE`` key only.

        Package-internal: callers use ``sign_request``, which chooses the type.
        Ed25519 is deterministic: the same message gives the same signature.
        """
        for signer in self._signers:
            if signer.algorithm == REQUEST_SIGNATURE:
                return signer.sign(pae(type_, message), type_.encode("ascii"))
        raise UsageError(
            ReasonCode.UNKNOWN_SUITE, f"suite {self._public.suite.value} cannot sign requests"
        )

    def to_encrypted_bytes(self, passphrase: bytes) -> bytes:
        """The private keys encrypted under ``passphrase`` (see ``keystore``)."""
        public = self._public
        secret = encode(
            {
                "v": KEYS_VERSION,
                "agency": public.agency,
                "suite": public.suite.value,
                "seeds": dict(self._seeds),
                "valid_from_ms": public.valid_from_ms,
                "valid_until_ms": public.valid_until_ms,
            }
        )
        return keystore.lock(secret, passphrase)

    @classmethod
    def from_encrypted_bytes(cls, data: bytes, passphrase: bytes) -> AgencyKeys:
        """Load keys saved by ``to_encrypted_bytes``.

        Raises ``UsageError(BAD_PASSPHRASE)`` for a wrong passphrase or a
        damaged file, ``InputError`` for a file that is not a Baliza key file.
        """
        reader = FieldReader(decode(keystore.unlock(data, passphrase), _PRIVATE_LIMITS))
        version = reader.integer("v", lo=0, hi=2**16)
        if version != KEYS_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"key set version {version}", path="v")
        agency = reader.text("agency", max_len=100)
        suite = suite_of(reader.text("suite", max_len=64))
        seeds = reader.nested("seeds", _key_map)
        valid_from = reader.integer("valid_from_ms", lo=0, hi=MAX_TIME_MS)
        valid_until = reader.integer("valid_until_ms", lo=0, hi=MAX_TIME_MS)
        reader.finish()
        return cls(agency, suite, seeds, valid_from_ms=valid_from, valid_until_ms=valid_until)

    def unwrap(self, wrapped: bytes, info: bytes) -> bytes:
        """HPKE-open a wrapped content key; raise ``TrustError(DECRYPT_FAILED)`` on any failure."""
        return self._kem.unwrap(wrapped, info)

    def __repr__(self) -> str:
        kid = self._public.signing_key_id.hex()
        return f"AgencyKeys(agency={self.agency!r}, suite={self.suite.value!r}, signing={kid})"


def _expand(seed: bytes, label: str, length: int) -> bytes:
    out = b""
    counter = 1
    while len(out) < length:
        out += prim.hmac_sha256(seed, pae(label, bytes([counter])))
        counter += 1
    return out[:length]


def _frozen_keys(
    keys: Mapping[str, bytes], names: tuple[str, ...], path: str
) -> Mapping[str, bytes]:
    if not isinstance(keys, Mapping):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a map", path=path)
    if set(keys) != set(names):
        raise InputError(
            ReasonCode.SUITE_MISMATCH, f"the suite needs exactly {list(names)}", path=path
        )
    for name in names:
        check_bytes(keys[name], f"{path}.{name}", max_len=4096)
    return MappingProxyType({name: bytes(keys[name]) for name in sorted(names)})


def _key_map(value: Value, path: str) -> dict[str, bytes]:
    raw = as_map(value, path)
    if not 1 <= len(raw) <= 4:
        raise InputError(ReasonCode.BAD_LENGTH, "must hold 1 to 4 keys", path=path)
    return {name: check_bytes(item, f"{path}.{name}", max_len=4096) for name, item in raw.items()}


def _check_validity(valid_from_ms: int, valid_until_ms: int) -> None:
    for name, value in (("valid_from_ms", valid_from_ms), ("valid_until_ms", valid_until_ms)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a plausible time", path=name)
    if valid_from_ms >= valid_until_ms:
        raise InputError(ReasonCode.INCONSISTENT, "must end after it starts", path="valid_until_ms")
