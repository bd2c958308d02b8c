"""Named algorithm suites: the only way an algorithm is chosen in Baliza.

A suite fixes every algorithm at once (signatures, key encapsulation, content
encryption), so a call site never picks one and a federation adds a suite by
id without a flag day. Envelopes, keys and signatures name their suite; an id
this implementation does not know is refused with ``UNKNOWN_SUITE``.

``hybrid-v1`` is the default: intelligence stays sensitive for decades, so a
capture today must not become readable by a quantum computer later; both the
classical and the post-quantum half must hold (both signatures must verify,
and the KEM secret mixes ML-KEM-768 with X25519).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baliza.crypto._primitives import ED25519, ML_DSA_65, ML_KEM_768, X25519
from baliza.protocol.errors import InputError, ReasonCode


class Suite(StrEnum):
    """Algorithm suites by their wire id."""

    HYBRID = "hybrid-v1"
    CLASSIC = "classic-v1"


@dataclass(frozen=True, slots=True)
class SuiteAlgorithms:
    """Algorithm names of one suite, in wire form (sorted)."""

    signatures: tuple[str, ...]
    kem: tuple[str, ...]


ALGORITHMS: dict[Suite, SuiteAlgorithms] = {
    # HPKE MLKEM768_X25519 / HKDF-SHA256 / AES-256-GCM; content AES-256-GCM.
    Suite.HYBRID: SuiteAlgorithms(signatures=(ED25519, ML_DSA_65), kem=(ML_KEM_768, X25519)),
    # HPKE DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM; content AES-256-GCM.
    Suite.CLASSIC: SuiteAlgorithms(signatures=(ED25519,), kem=(X25519,)),
}


# Node-to-node requests are signed with the Ed25519 key of the signer's suite
# alone, whatever the suite: a request signature only keeps junk and replays
# out *now*, it is never kept as evidence, and a quantum forger of the future
# cannot send a request in the past (docs/threat-model.md, "Request
# authentication"). Every suite has an Ed25519 key; a suite without one needs
# a new request scheme (docs/spec/05-federation.md §1).
REQUEST_SIGNATURE: str = ED25519


def suite_of(raw: str, path: str = "suite") -> Suite:
    """The suite named ``raw``; raise ``InputError(UNKNOWN_SUITE)`` if there is none."""
    try:
        return Suite(raw)
    except ValueError:
        known = ", ".join(s.value for s in Suite)
        raise InputError(
            ReasonCode.UNKNOWN_SUITE, f"unknown suite {raw!r} (known: {known})", path=path
        ) from None
