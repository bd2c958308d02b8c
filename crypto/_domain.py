"""Domain separation: every hash, MAC, KDF label and signature input is tagged.

One construction, PAE (pre-authentication encoding, after DSSE), is used for
all of them::

    PAE(type, body) = "baliza-pae" || u64be(len(type)) || type || u64be(len(body)) || body

The type names the purpose and the protocol version, so bytes hashed or
signed for one purpose can never be read as bytes of another (a signed
request replayed as an envelope, a key id computed as a header hash), and the
lengths leave no ambiguity about where ``type`` ends. Tags are ASCII and
listed in docs/spec/02-envelope-crypto.md; changing one is a protocol change.
"""

from __future__ import annotations

import re
import struct
from typing import Final

from baliza.protocol.errors import ReasonCode, UsageError

PAE_PREFIX: Final = b"baliza-pae"

# Signature types (also the ML-DSA context string).
SIG_ENVELOPE: Final = "baliza-envelope-v1"
SIG_DETACHED_PREFIX: Final = "baliza-detached-v1 "
# A node-to-node request signature (Ed25519 alone): not a detached type, so no
# detached signature map ever holds a half that verifies as a request.
SIG_REQUEST: Final = "baliza-fed-request-v2"
# Hash, MAC and KDF labels.
TAG_HEADER_HASH: Final = "baliza/v1 header-hash"
TAG_KEY_COMMITMENT: Final = "baliza/v1 key-commitment"
TAG_BODY_KEY: Final = "baliza/v1 body-key"
TAG_KEY_WRAP: Final = "baliza/v1 content-key-wrap"
TAG_ATTACHMENT_KEY: Final = "baliza/v1 attachment-key"
TAG_SIGNING_KEY_ID: Final = "baliza/v1 signing-key-id"
TAG_ENCRYPTION_KEY_ID: Final = "baliza/v1 encryption-key-id"
TAG_FINGERPRINT: Final = "baliza/v1 fingerprint"
TAG_SEED: Final = "baliza/v1 key-seed "
TAG_KEYFILE: Final = "baliza/v1 private-key-file"

_CONTEXT = re.compile(r"[a-z0-9][a-z0-9./-]{0,62}")
_U64 = struct.Struct(">Q")


def pae(type_: str, body: bytes) -> bytes:
    """Type-tagged, length-prefixed encoding of ``body`` (see the module docstring)."""
    tag = type_.encode("ascii")
    return b"".join((PAE_PREFIX, _U64.pack(len(tag)), tag, _U64.pack(len(body)), body))


def detached_type(context: str) -> str:
    """Signature type of a detached signature made for ``context``.

    A context is a short lower-case name such as ``baliza-fed-request-v1``;
    anything else is refused so that no context can contain a separator that
    makes two contexts collide.
    """
    if not isinstance(context, str) or _CONTEXT.fullmatch(context) is None:
        raise UsageError(
            ReasonCode.BAD_FORMAT,
            "a signing context is 1-63 lower-case letters, digits, '.', '/' or '-'",
            path="context",
        )
    return SIG_DETACHED_PREFIX + context
