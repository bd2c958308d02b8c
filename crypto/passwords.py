"""Password hashes for people's accounts: Argon2id, stored with their parameters and salt.

A stored hash reads as the PHC string format every Argon2 library writes,
``$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`` (base64
without padding), so the parameters travel with each hash: raising them
later re-hashes a password at its next sign-in, and a hash made with old
parameters still verifies. The parameters are OWASP's first recommendation
for Argon2id (19 MiB, 2 passes, 1 lane): a node checks passwords on a
shared server, not once at start-up like the key file (crypto/keystore.py).

Reading a stored hash checks its parameters against floors and ceilings, so
a tampered row can neither weaken the check nor make one sign-in cost a
gigabyte. A wrong password raises ``TrustError(UNAUTHENTICATED)``, never
returns False; the comparison is in constant time.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Final

from baliza.crypto import _primitives as prim
from baliza.protocol.errors import InputError, ReasonCode, TrustError

__all__ = ["CURRENT", "PasswordHash", "hash_password", "needs_rehash", "verify_password"]

SALT_LEN: Final = 16
HASH_LEN: Final = 32
# Longer passwords are refused before hashing: nobody types more, and a
# megabyte pasted into the form should not reach the hash.
MAX_PASSWORD_LEN: Final = 1024
_MIN_ITERATIONS, _MAX_ITERATIONS = 2, 16
_MIN_MEMORY_KIB, _MAX_MEMORY_KIB = 19 * 1024, 256 * 1024
_MAX_LANES = 8
_PHC = re.compile(
    r"\$argon2id\$v=19\$m=([0-9]{1,7}),t=([0-9]{1,2}),p=([0-9]{1,2})"
    r"\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordHash:
    """One stored password: Argon2id's parameters, the salt and the 32-byte hash."""

    iterations: int
    memory_kib: int
    lanes: int
    salt: bytes
    digest: bytes

    def __post_init__(self) -> None:
        if not _MIN_ITERATIONS <= self.iterations <= _MAX_ITERATIONS:
            raise InputError(ReasonCode.OUT_OF_RANGE, "Argon2id passes", path="t")
        if not _MIN_MEMORY_KIB <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise InputError(ReasonCode.OUT_OF_RANGE, "Argon2id memory", path="m")
        if not 1 <= self.lanes <= _MAX_LANES or self.memory_kib < 8 * self.lanes:
            raise InputError(ReasonCode.OUT_OF_RANGE, "Argon2id lanes", path="p")
        if len(self.salt) != SALT_LEN or len(self.digest) != HASH_LEN:
            raise InputError(ReasonCode.BAD_LENGTH, "salt or hash of the wrong length")

    def to_text(self) -> str:
        """The PHC string stored in the ``users`` table."""
        salt = _b64(self.salt)
        digest = _b64(self.digest)
        return (
            f"$argon2id$v=19$m={self.memory_kib},t={self.iterations},p={self.lanes}${salt}${digest}"
        )

    @classmethod
    def from_text(cls, text: str) -> PasswordHash:
        """Read a PHC string; raise ``InputError`` for anything else or out-of-bounds parameters."""
        match = _PHC.fullmatch(text)
        if match is None:
            raise InputError(ReasonCode.MALFORMED, "not an Argon2id password hash")
        m, t, p, salt, digest = match.groups()
        return cls(
            iterations=int(t),
            memory_kib=int(m),
            lanes=int(p),
            salt=_unb64(salt),
            digest=_unb64(digest),
        )


# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
CURRENT: Final = {"iterations": 2, "memory_kib": 19 * 1024, "lanes": 1}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, iterations: int, memory_kib: int, lanes: int) -> bytes:
    raw = password.encode("utf-8")
    if not raw or len(raw) > MAX_PASSWORD_LEN:
        raise TrustError(ReasonCode.UNAUTHENTICATED, "wrong login name, password or code")
    return prim.argon2id(raw, salt, iterations=iterations, memory_kib=memory_kib, lanes=lanes)


def hash_password(password: str) -> PasswordHash:
    """Hash ``password`` with a fresh salt and the current parameters."""
    salt = prim.random_bytes(SALT_LEN)
    digest = _derive(password, salt, **CURRENT)
    return PasswordHash(salt=salt, digest=digest, **CURRENT)


def verify_password(password: str, stored: PasswordHash) -> None:
    """Return if ``password`` is the one ``stored`` was made from; raise ``TrustError`` if not.

    The same ``UNAUTHENTICATED`` for a wrong, empty or over-long password;
    the hashes are compared in constant time.
    """
    digest = _derive(password, stored.salt, stored.iterations, stored.memory_kib, stored.lanes)
    if not prim.equal(digest, stored.digest):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "wrong login name, password or code")


def needs_rehash(stored: PasswordHash) -> bool:
    """Whether ``stored`` was made with other parameters than the current ones."""
    return (stored.iterations, stored.memory_kib, stored.lanes) != (
        CURRENT["iterations"],
        CURRENT["memory_kib"],
        CURRENT["lanes"],
    )
