"""Baliza cryptography: agency keys, sealing and opening envelopes, detached signatures.

The public names are few on purpose: algorithms are chosen by ``Suite`` and
never at a call site, and everything below these names (``_primitives``, the
only module touching ``cryptography.hazmat``) is an implementation detail.

* Keys: ``AgencyKeys.generate`` / ``.public()`` / ``.to_encrypted_bytes`` /
  ``AgencyKeys.from_encrypted_bytes``; ``PublicKeys.to_bytes`` /
  ``from_bytes`` / ``fingerprint``.
* Envelopes: ``seal`` / ``open_envelope`` (notices), ``seal_bytes`` /
  ``open_bytes`` (any plaintext), ``verify_envelope``.
* Signed documents: ``sign_detached`` / ``verify_detached`` /
  ``verify_threshold``; node-to-node request signatures (one Ed25519
  signature) are ``sign_request`` / ``verify_request_signature`` in
  ``baliza.crypto.signing``.
* The federation directory: ``TrustedDirectory`` (bootstrap, update, key
  look-ups); the administrators' tools (``propose``, ``sign_proposal``,
  ``diff``, ``directory_fingerprint``) live in ``baliza.crypto.directory``.

Every refusal is a ``baliza.protocol.errors.BalizaError`` with a reason code.
"""

from baliza.crypto.directory import TrustedDirectory
from baliza.crypto.keys import AgencyKeys, PublicKeys
from baliza.crypto.seal import open_bytes, open_envelope, seal, seal_bytes, verify_envelope
from baliza.crypto.signing import sign_detached, verify_detached, verify_threshold
from baliza.crypto.suites import Suite

__all__ = [
    "AgencyKeys",
    "PublicKeys",
    "Suite",
    "TrustedDirectory",
    "open_bytes",
    "open_envelope",
    "seal",
    "seal_bytes",
    "sign_detached",
    "verify_detached",
    "verify_envelope",
    "verify_threshold",
]
