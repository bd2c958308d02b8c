"""atheris harness for verifying and opening envelopes with real keys (chapter 02 §6-7).

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_open.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import crypto_target, main

ONE_INPUT, seed_corpus = crypto_target("open")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("open", TestOneInput, seed_corpus)
