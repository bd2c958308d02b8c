"""atheris harness for the signed directory and directory parsers (chapter 04 §1).

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_directory.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import main, protocol_target

ONE_INPUT, seed_corpus = protocol_target("directory")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("directory", TestOneInput, seed_corpus)
