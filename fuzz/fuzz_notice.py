"""atheris harness for the notice decoder and its JSON form (chapter 03).

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_notice.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import main, protocol_target

ONE_INPUT, seed_corpus = protocol_target("notice")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("notice", TestOneInput, seed_corpus)
