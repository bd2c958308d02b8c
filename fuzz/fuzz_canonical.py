"""atheris harness for the canonical MessagePack decoder (chapter 01), in the default and the
notice profile.

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_canonical.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import main, protocol_target

ONE_INPUT, seed_corpus = protocol_target("canonical")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("canonical", TestOneInput, seed_corpus)
