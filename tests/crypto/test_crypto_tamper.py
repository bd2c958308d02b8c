"""Any change to an envelope's bytes is refused, and only ever with a ``BalizaError``.

A classical envelope is small enough to flip a bit in every byte; for the
hybrid one (about 6 KB) hypothesis picks positions, bits and truncations.
"""

from __future__ import annotations

import functools

import pytest
from crypto_support import PLAINTEXT, keys, public, sealed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baliza.crypto import Suite, open_bytes
from baliza.protocol.envelope import Envelope, parse_envelope
from baliza.protocol.errors import BalizaError


@functools.cache
def _envelope(suite: Suite) -> Envelope:
    return sealed(suite, to=("bob", "carol"), plaintext=PLAINTEXT[:40])


def _must_refuse(raw: bytes, suite: Suite) -> None:
    with pytest.raises(BalizaError):
        envelope = parse_envelope(raw)
        open_bytes(envelope, recipient=keys("bob", suite), sender=public("alice", suite))


def test_the_untouched_envelope_opens() -> None:
    for suite in Suite:
        envelope = parse_envelope(_envelope(suite).raw)
        assert open_bytes(envelope, recipient=keys("bob", suite), sender=public("alice", suite))


def test_a_flipped_bit_in_any_byte_of_a_classic_envelope_is_refused() -> None:
    raw = _envelope(Suite.CLASSIC).raw
    for position in range(len(raw)):
        for bit in (0x01, 0x80):
            mutated = bytearray(raw)
            mutated[position] ^= bit
            _must_refuse(bytes(mutated), Suite.CLASSIC)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_flipped_bit_anywhere_in_a_hybrid_envelope_is_refused(data: st.DataObject) -> None:
    raw = _envelope(Suite.HYBRID).raw
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    bit = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]), label="bit")
    mutated = bytearray(raw)
    mutated[position] ^= bit
    _must_refuse(bytes(mutated), Suite.HYBRID)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_truncated_or_extended_envelopes_are_refused(data: st.DataObject) -> None:
    suite = data.draw(st.sampled_from(list(Suite)), label="suite")
    raw = _envelope(suite).raw
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    tail = data.draw(st.binary(max_size=8), label="tail")
    if raw[:cut] + tail != raw:
        _must_refuse(raw[:cut] + tail, suite)
    if tail:
        _must_refuse(raw + tail, suite)
