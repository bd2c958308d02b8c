"""Fuzzing what a node does with hostile bytes: verify, open, parse keys, apply directories.

Same pass rule as ``tests/protocol/test_protocol_fuzz.py``: accepted, or
refused with a ``BalizaError`` carrying a reason code; nothing else, within
the memory and time bounds. Damage inside the signed part reaches the
signature checks and the opener, since parsing alone cannot see it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fuzz_crypto_targets import CRYPTO_TARGETS, crypto_seeds
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

from fuzz_bounds import bounded
from fuzz_mutations import HOSTILE_FRAGMENTS, mutants
from fuzz_targets import refuses_cleanly

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(CRYPTO_TARGETS))
def test_every_seed_and_fragment_is_accepted_or_cleanly_refused(name: str) -> None:
    for data in (*crypto_seeds(name), *HOSTILE_FRAGMENTS):
        with bounded():
            refuses_cleanly(CRYPTO_TARGETS[name], data)


def _fuzz(name: str) -> None:
    @FUZZ
    @given(data=mutants(crypto_seeds(name)))
    def run(data: bytes) -> None:
        with bounded():
            refuses_cleanly(CRYPTO_TARGETS[name], data)

    run()


def test_fuzz_open() -> None:
    _fuzz("open")


def test_fuzz_public_keys() -> None:
    _fuzz("public_keys")


def test_fuzz_request_signature() -> None:
    _fuzz("request_signature")


def test_fuzz_directory_update() -> None:
    _fuzz("directory_update")
