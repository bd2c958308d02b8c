"""atheris harness for public key sets (chapter 02 §3).

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_public_keys.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import crypto_target, main

ONE_INPUT, seed_corpus = crypto_target("public_keys")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("public_keys", TestOneInput, seed_corpus)
