"""atheris harness for directory updates applied to a trusted directory (chapter 04 §4).

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_directory_update.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import crypto_target, main

ONE_INPUT, seed_corpus = crypto_target("directory_update")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("directory_update", TestOneInput, seed_corpus)
