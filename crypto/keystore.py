"""Private keys at rest: a passphrase-locked, versioned container for secret bytes.

File layout (canonical MessagePack)::

    {"ct": bin, "format": "baliza-private-keys", "kdf": "argon2id",
     "m_kib": int, "nonce": bin(12), "p": int, "salt": bin(16), "t": int, "v": 1}

    key = Argon2id(passphrase, salt, t, m_kib, p) -> 32 bytes
    ct  = AES-256-GCM(key, nonce, secret, aad = PAE("baliza/v1 private-key-file",
                                                    canonical(map without "ct")))

Everything needed to decrypt, except the passphrase, travels in the file, so
parameters can be raised later without breaking old files; the associated
data covers them, so an attacker who can edit the file cannot lower them
unnoticed. Weak parameters are refused on reading: a file is never a way to
make the node run a cheap KDF. A wrong passphrase and a damaged file are the
same error (``BAD_PASSPHRASE``): AES-GCM cannot tell them apart, and neither
should an attacker.
"""

from __future__ import annotations

from typing import Final

from baliza.crypto import _primitives as prim
from baliza.crypto._domain import TAG_KEYFILE, pae
from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, TrustError, UsageError, VersionError
from baliza.protocol.fields import FieldReader

FORMAT: Final = "baliza-private-keys"
VERSION: Final = 1
SALT_LEN: Final = 16
# RFC 9106 section 4, second recommended option: 64 MiB, 3 passes, 4 lanes.
ITERATIONS: Final = 3
MEMORY_KIB: Final = 64 * 1024
LANES: Final = 4
# Floors and ceilings accepted when reading (OWASP minimum; 1 GiB cap against DoS).
_MIN_ITERATIONS, _MAX_ITERATIONS = 2, 16
_MIN_MEMORY_KIB, _MAX_MEMORY_KIB = 19 * 1024, 1024 * 1024
_MAX_LANES = 16
_LIMITS = Limits(max_size=64 * 1024, max_depth=2, max_items=16)


def lock(secret: bytes, passphrase: bytes) -> bytes:
    """Encrypt ``secret`` under ``passphrase``; the result is a self-describing file."""
    if not isinstance(passphrase, bytes) or not passphrase:
        raise UsageError(ReasonCode.BAD_PASSPHRASE, "the passphrase must be non-empty bytes")
    clear: dict[str, Value] = {
        "v": VERSION,
        "format": FORMAT,
        "kdf": "argon2id",
        "salt": prim.random_bytes(SALT_LEN),
        "t": ITERATIONS,
        "m_kib": MEMORY_KIB,
        "p": LANES,
        "nonce": prim.random_bytes(prim.AES_NONCE_LEN),
    }
    key = _derive(passphrase, clear)
    ct = prim.aes_gcm_seal(key, _blob(clear["nonce"]), secret, _aad(clear))
    return encode({**clear, "ct": ct})


def unlock(data: bytes, passphrase: bytes) -> bytes:
    """Decrypt a file made by ``lock``.

    Raises ``UsageError(BAD_PASSPHRASE)`` for a wrong passphrase or a damaged
    ciphertext, ``InputError`` for a file that is not one of ours, and
    ``VersionError`` for a newer version.
    """
    reader = FieldReader(decode(data, _LIMITS), "")
    version = reader.integer("v", lo=0, hi=2**16)
    if version != VERSION:
        raise VersionError(ReasonCode.UNKNOWN_VERSION, f"key file version {version}", path="v")
    clear: dict[str, Value] = {
        "v": version,
        "format": reader.text("format", max_len=32, pattern=FORMAT),
        "kdf": reader.text("kdf", max_len=16, pattern="argon2id"),
        "salt": reader.blob("salt", min_len=SALT_LEN, max_len=64),
        "t": reader.integer("t", lo=_MIN_ITERATIONS, hi=_MAX_ITERATIONS),
        "m_kib": reader.integer("m_kib", lo=_MIN_MEMORY_KIB, hi=_MAX_MEMORY_KIB),
        "p": reader.integer("p", lo=1, hi=_MAX_LANES),
        "nonce": reader.blob("nonce", min_len=prim.AES_NONCE_LEN, max_len=prim.AES_NONCE_LEN),
    }
    ct = reader.blob("ct", min_len=prim.AES_TAG_LEN, max_len=32 * 1024)
    reader.finish()
    if not isinstance(passphrase, bytes):
        raise UsageError(ReasonCode.BAD_PASSPHRASE, "the passphrase must be bytes")
    key = _derive(passphrase, clear)
    try:
        return prim.aes_gcm_open(key, _blob(clear["nonce"]), ct, _aad(clear))
    except TrustError:
        raise UsageError(
            ReasonCode.BAD_PASSPHRASE, "wrong passphrase or damaged key file"
        ) from None


def _derive(passphrase: bytes, clear: dict[str, Value]) -> bytes:
    t, m, p = clear["t"], clear["m_kib"], clear["p"]
    if not (isinstance(t, int) and isinstance(m, int) and isinstance(p, int)):
        raise InputError(ReasonCode.WRONG_TYPE, "bad KDF parameters")  # pragma: no cover
    if m < 8 * p:
        raise InputError(ReasonCode.OUT_OF_RANGE, "memory below 8 KiB per lane", path="m_kib")
    return prim.argon2id(passphrase, _blob(clear["salt"]), iterations=t, memory_kib=m, lanes=p)


def _aad(clear: dict[str, Value]) -> bytes:
    return pae(TAG_KEYFILE, encode(clear))


def _blob(value: Value) -> bytes:
    assert isinstance(value, bytes)
    return value
