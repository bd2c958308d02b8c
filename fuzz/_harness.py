"""Shared plumbing of the atheris harnesses: targets, seed corpora, libFuzzer defaults.

The targets and seeds live with the tests (``tests/protocol/fuzz_targets.py``,
``tests/crypto/fuzz_crypto_targets.py``) so that the suite runs every
harness's one-input function over the committed vectors and a harness
cannot rot. atheris is imported only when a harness runs as a program.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in ("tests/protocol", "tests/crypto"):
    if str(ROOT / folder) not in sys.path:
        sys.path.insert(0, str(ROOT / folder))

OneInput = Callable[[bytes], None]
# libFuzzer options unless given on the command line: a decoder that needs
# more than 2 GiB or 10 s for one input of at most 1 MiB has a bug.
DEFAULTS = ("-rss_limit_mb=2048", "-timeout=10", "-max_len=1048576")


# Targets are imported on first use, not here, so that ``main`` can import
# them (and with them baliza) under atheris's instrumentation of baliza only:
# instrumenting every loaded module (cryptography, hypothesis) takes minutes.


def protocol_target(name: str) -> tuple[OneInput, Callable[[], tuple[bytes, ...]]]:
    """The one-input function of a protocol decoder and its seed corpus."""

    def one_input(data: bytes) -> None:
        from fuzz_targets import TARGETS, refuses_cleanly

        refuses_cleanly(TARGETS[name], data)

    def seed_corpus() -> tuple[bytes, ...]:
        from fuzz_targets import seeds

        return seeds(name)

    return one_input, seed_corpus


def crypto_target(name: str) -> tuple[OneInput, Callable[[], tuple[bytes, ...]]]:
    """The one-input function of a crypto-level target and its seed corpus."""

    def one_input(data: bytes) -> None:
        from fuzz_crypto_targets import CRYPTO_TARGETS
        from fuzz_targets import refuses_cleanly

        refuses_cleanly(CRYPTO_TARGETS[name], data)

    def seed_corpus() -> tuple[bytes, ...]:
        from fuzz_crypto_targets import crypto_seeds

        return crypto_seeds(name)

    return one_input, seed_corpus


def main(name: str, one_input: OneInput, seed_corpus: Callable[[], tuple[bytes, ...]]) -> None:
    """Run libFuzzer on ``one_input``, starting from the seeds unless a corpus is named."""
    import atheris

    with atheris.instrument_imports(include=["baliza"]):
        initial = seed_corpus()  # the first import of the targets, hence of baliza
    args = [sys.argv[0], *DEFAULTS, *sys.argv[1:]]
    if not any(not a.startswith("-") for a in sys.argv[1:]):
        corpus = ROOT / "fuzz" / "corpus" / name
        corpus.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(initial):
            (corpus / f"seed-{i:03d}").write_bytes(data)
        args.append(str(corpus))
    atheris.Setup(args, one_input)
    atheris.Fuzz()
