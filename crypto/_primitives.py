"""The one door to pyca/cryptography: every algorithm Baliza uses, and nothing else.

Rules of this file:

* This is the only module that imports ``cryptography.hazmat``. Everything
  above it speaks in algorithm names, byte strings and Baliza errors.
* Library exceptions are translated here, at this one boundary:
  ``InvalidSignature`` becomes ``TrustError(BAD_SIGNATURE)``; every failure to
  unwrap or decrypt (``InvalidTag``, bad lengths, bad encapsulations) becomes
  the same ``TrustError(DECRYPT_FAILED)``, so a caller cannot learn *why* a
  ciphertext failed (no oracle); malformed key bytes become
  ``InputError(BAD_KEY)``.
* Key objects are built once from raw bytes and kept: parsing an ML-DSA or
  ML-KEM public key costs as much as a few AES operations, and a node verifies
  thousands of envelopes from the same few senders.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import secrets
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from baliza.protocol.errors import InputError, ReasonCode, TrustError, UsageError

# Algorithm names as they appear on the wire (signature map, key maps).
ED25519: Final = "ed25519"
ML_DSA_65: Final = "ml-dsa-65"
X25519: Final = "x25519"
ML_KEM_768: Final = "ml-kem-768"

# Lengths of the raw secret seeds each algorithm is built from.
SEED_LEN: Final[dict[str, int]] = {ED25519: 32, ML_DSA_65: 32, X25519: 32, ML_KEM_768: 64}
# Lengths of raw public keys.
PUBLIC_LEN: Final[dict[str, int]] = {ED25519: 32, ML_DSA_65: 1952, X25519: 32, ML_KEM_768: 1184}

AES_KEY_LEN: Final = 32
AES_NONCE_LEN: Final = 12
AES_TAG_LEN: Final = 16
MLDSA_MAX_CONTEXT: Final = 255

_HPKE_X25519 = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_HPKE_HYBRID = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


# --------------------------------------------------------------------------- hashing


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (stdlib: it is faster than a hazmat object for small inputs)."""
    return hashlib.sha256(data).digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 tag."""
    return _hmac.new(key, data, hashlib.sha256).digest()


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison, for secrets and tags."""
    return _hmac.compare_digest(a, b)


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(n)


# --------------------------------------------------------------------------- signatures


class SigningKey:
    """One private signing key of one algorithm, built from its seed."""

    __slots__ = ("_ed", "_ml", "algorithm", "public")

    def __init__(self, algorithm: str, seed: bytes) -> None:
        _check_len(seed, SEED_LEN.get(algorithm, -1), algorithm)
        self.algorithm = algorithm
        self._ed: ed25519.Ed25519PrivateKey | None = None
        self._ml: mldsa.MLDSA65PrivateKey | None = None
        if algorithm == ED25519:
            self._ed = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
            self.public = self._ed.public_key().public_bytes_raw()
        elif algorithm == ML_DSA_65:
            self._ml = mldsa.MLDSA65PrivateKey.from_seed_bytes(seed)
            self.public = self._ml.public_key().public_bytes_raw()
        else:
            raise UsageError(ReasonCode.UNKNOWN_SUITE, f"no signature algorithm {algorithm!r}")

    def sign(self, message: bytes, context: bytes) -> bytes:
        """Sign ``message``; ML-DSA also binds ``context`` (FIPS 204 context string).

        Ed25519 has no context input in pyca (no Ed25519ctx), so callers must
        put the context inside ``message`` too; Baliza's PAE always does.
        """
        if self._ml is not None:
            return self._ml.sign(message, context)
        assert self._ed is not None
        return self._ed.sign(message)


class VerifyKey:
    """One public signature key of one algorithm, parsed once from raw bytes."""

    __slots__ = ("_ed", "_ml", "algorithm", "raw")

    def __init__(self, algorithm: str, raw: bytes, path: str = "") -> None:
        self.algorithm = algorithm
        self.raw = raw
        self._ed: ed25519.Ed25519PublicKey | None = None
        self._ml: mldsa.MLDSA65PublicKey | None = None
        _check_public(algorithm, raw, path)
        try:
            if algorithm == ED25519:
                self._ed = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            elif algorithm == ML_DSA_65:
                self._ml = mldsa.MLDSA65PublicKey.from_public_bytes(raw)
            else:
                raise InputError(
                    ReasonCode.UNKNOWN_SUITE, f"no signature algorithm {algorithm!r}", path=path
                )
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InputError(ReasonCode.BAD_KEY, f"not a valid {algorithm} key", path=path) from exc

    def verify(self, signature: bytes, message: bytes, context: bytes) -> None:
        """Return if ``signature`` is valid over ``message``; raise ``BAD_SIGNATURE`` otherwise."""
        try:
            if self._ml is not None:
                self._ml.verify(signature, message, context)
            else:
                assert self._ed is not None
                self._ed.verify(signature, message)
        except (InvalidSignature, ValueError) as exc:
            raise TrustError(
                ReasonCode.BAD_SIGNATURE, f"{self.algorithm} signature does not verify"
            ) from exc


# --------------------------------------------------------------------------- key encapsulation


class KemPrivateKey:
    """A private HPKE recipient key: X25519, or the ML-KEM-768 + X25519 hybrid.

    ``seeds`` maps algorithm names to raw seeds; the set of names chooses the
    HPKE KEM (``{x25519}`` or ``{ml-kem-768, x25519}``).
    """

    __slots__ = ("_key", "_suite", "public")

    def __init__(self, seeds: dict[str, bytes]) -> None:
        if set(seeds) not in ({X25519}, {X25519, ML_KEM_768}):
            raise UsageError(ReasonCode.UNKNOWN_SUITE, f"no KEM for {sorted(seeds)}")
        for name, seed in seeds.items():
            _check_len(seed, SEED_LEN[name], name)
        xkey = x25519.X25519PrivateKey.from_private_bytes(seeds[X25519])
        self._key: x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
        if set(seeds) == {X25519}:
            self._key = xkey
            self._suite = _HPKE_X25519
            self.public = {X25519: xkey.public_key().public_bytes_raw()}
        else:
            mkey = mlkem.MLKEM768PrivateKey.from_seed_bytes(seeds[ML_KEM_768])
            self._key = hpke.MLKEM768X25519PrivateKey(mkey, xkey)
            self._suite = _HPKE_HYBRID
            self.public = {
                ML_KEM_768: mkey.public_key().public_bytes_raw(),
                X25519: xkey.public_key().public_bytes_raw(),
            }

    def unwrap(self, wrapped: bytes, info: bytes) -> bytes:
        """HPKE base-mode open of ``enc || ciphertext``; any failure is ``DECRYPT_FAILED``."""
        try:
            return self._suite.decrypt(wrapped, self._key, info=info)
        except (InvalidTag, ValueError) as exc:
            raise TrustError(ReasonCode.DECRYPT_FAILED, "cannot decrypt") from exc


class KemPublicKey:
    """A public HPKE recipient key, rebuilt from its raw halves.

    pyca cannot serialise ``MLKEM768X25519PublicKey``, so the wire carries the
    ML-KEM-768 and X25519 halves and this class puts them back together.
    """

    __slots__ = ("_key", "_suite")

    def __init__(self, halves: dict[str, bytes], path: str = "") -> None:
        for name, raw in halves.items():
            _check_public(name, raw, f"{path}.{name}" if path else name)
        self._key: x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
        try:
            xkey = x25519.X25519PublicKey.from_public_bytes(halves[X25519])
            if set(halves) == {X25519}:
                self._key = xkey
                self._suite = _HPKE_X25519
            elif set(halves) == {X25519, ML_KEM_768}:
                mkey = mlkem.MLKEM768PublicKey.from_public_bytes(halves[ML_KEM_768])
                self._key = hpke.MLKEM768X25519PublicKey(mkey, xkey)
                self._suite = _HPKE_HYBRID
            else:
                raise InputError(
                    ReasonCode.UNKNOWN_SUITE, f"no KEM for {sorted(halves)}", path=path
                )
        except (ValueError, KeyError, UnsupportedAlgorithm) as exc:
            raise InputError(ReasonCode.BAD_KEY, "not a valid encryption key", path=path) from exc

    def wrap(self, secret: bytes, info: bytes) -> bytes:
        """HPKE base-mode seal of ``secret`` to this key; returns ``enc || ciphertext``."""
        try:
            return self._suite.encrypt(secret, self._key, info=info)
        except ValueError as exc:  # e.g. a low-order X25519 point: the key is unusable
            raise InputError(ReasonCode.BAD_KEY, "cannot encrypt to this key") from exc


# --------------------------------------------------------------------------- AEAD and KDF


def aes_gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM encryption; returns ciphertext || 16-byte tag."""
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aes_gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM decryption; any failure is ``TrustError(DECRYPT_FAILED)``."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except (InvalidTag, ValueError) as exc:
        raise TrustError(ReasonCode.DECRYPT_FAILED, "cannot decrypt") from exc


def argon2id(
    passphrase: bytes, salt: bytes, *, iterations: int, memory_kib: int, lanes: int
) -> bytes:
    """Derive a 32-byte key from a passphrase with Argon2id (RFC 9106)."""
    try:
        kdf = Argon2id(
            salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory_kib
        )
        return kdf.derive(passphrase)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UsageError(ReasonCode.BAD_PASSPHRASE, "unusable key derivation parameters") from exc


# --------------------------------------------------------------------------- checks


def _check_len(raw: bytes, expected: int, name: str) -> None:
    if expected < 0:
        raise UsageError(ReasonCode.UNKNOWN_SUITE, f"no algorithm {name!r}")
    if len(raw) != expected:
        raise UsageError(ReasonCode.BAD_LENGTH, f"a {name} seed is {expected} bytes")


def _check_public(algorithm: str, raw: bytes, path: str) -> None:
    expected = PUBLIC_LEN.get(algorithm)
    if expected is None:
        raise InputError(ReasonCode.UNKNOWN_SUITE, f"no algorithm {algorithm!r}", path=path)
    if len(raw) != expected:
        raise InputError(ReasonCode.BAD_KEY, f"a {algorithm} key is {expected} bytes", path=path)
