"""A security key in software: a real ES256 key pair answering WebAuthn ceremonies.

It writes exactly what a browser hands the page (the JSON of a
``PublicKeyCredential``) from the options the node sent, so the node's
checks run on real signatures. The attack tests change one thing at a
time: the origin the client data names, the counter, the key.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

_UP_UV = 0x01 | 0x04
_AT = 0x40


def b64url(raw: bytes) -> str:
    return urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftKey:
    """One credential: its id, private key and signature counter."""

    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    counter: int = 0

    def _cose(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def register(self, options_json: str, origin: str) -> str:
        """The credential JSON a browser returns from ``navigator.credentials.create``."""
        options = json.loads(options_json)
        rp_id = options["rp"]["id"]
        client_data = _client_data("webauthn.create", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([_UP_UV | _AT])
            + struct.pack(">I", self.counter)
            + bytes(16)
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                },
            }
        )

    def assert_(
        self,
        options_json: str,
        origin: str,
        *,
        rp_id: str | None = None,
        counter: int | None = None,
    ) -> str:
        """The credential JSON a browser returns from ``navigator.credentials.get``."""
        options = json.loads(options_json)
        if counter is None:
            self.counter += 1
            counter = self.counter
        client_data = _client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
            + bytes([_UP_UV])
            + struct.pack(">I", counter)
        )
        signature = self.private.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": None,
                },
            }
        )


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    ).encode()


def allowed_ids(options_json: str) -> list[bytes]:
    """The credential ids an authentication's options allow."""
    options: dict[str, Any] = json.loads(options_json)
    return [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
