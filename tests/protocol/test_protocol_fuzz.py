"""Fuzzing every protocol decoder with damaged valid messages.

Pass: each input is either accepted (and then re-encodes to itself) or
refused with a ``BalizaError`` that carries a reason code; no other
exception, no allocation beyond 64 MiB, no input that keeps a decoder busy.
The examples are few per decoder (this runs in the ordinary suite); the
atheris harnesses in ``fuzz/`` explore without a bound, by hand.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fuzz_bounds import bounded
from fuzz_mutations import HOSTILE_FRAGMENTS, mutants
from fuzz_targets import TARGETS, refuses_cleanly, seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HARNESSES = Path(__file__).resolve().parents[2] / "fuzz"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_seed_is_accepted_or_cleanly_refused(name: str) -> None:
    accepted = 0
    for data in seeds(name):
        with bounded():
            refuses_cleanly(TARGETS[name], data)
        try:
            TARGETS[name](data)
            accepted += 1
        except Exception:  # refusals are expected for the refused vectors
            pass
    assert accepted, f"no seed of {name} is valid: the fuzzer would only test refusals"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hostile_fragments_alone_are_refused(name: str) -> None:
    for fragment in HOSTILE_FRAGMENTS:
        with bounded():
            refuses_cleanly(TARGETS[name], fragment)


def _fuzz(name: str) -> None:
    @FUZZ
    @given(data=mutants(seeds(name)))
    def run(data: bytes) -> None:
        with bounded():
            refuses_cleanly(TARGETS[name], data)

    run()


def test_fuzz_canonical() -> None:
    _fuzz("canonical")


def test_fuzz_header() -> None:
    _fuzz("header")


def test_fuzz_envelope() -> None:
    _fuzz("envelope")


def test_fuzz_notice() -> None:
    _fuzz("notice")


def test_fuzz_directory() -> None:
    _fuzz("directory")


def test_fuzz_federation() -> None:
    _fuzz("federation")


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_are_refused_cleanly_by_every_decoder(data: bytes) -> None:
    for target in TARGETS.values():
        with bounded():
            refuses_cleanly(target, data)


def _harness(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(HARNESSES.glob("fuzz_*.py")), ids=lambda p: p.stem)
def test_atheris_harness_runs_over_its_seeds_without_atheris(path: Path) -> None:
    # The harnesses import atheris only when run as a program, so this runs
    # them on the committed vectors with nothing but the test dependencies.
    sys.path.insert(0, str(HARNESSES))
    try:
        harness = _harness(path)
    finally:
        sys.path.remove(str(HARNESSES))
    one_input = harness.TestOneInput
    corpus = harness.seed_corpus()
    assert corpus
    for data in corpus:
        with bounded():
            one_input(data)
