"""atheris harness for the node-to-node bodies: inbox batch and answer, outbox page, directory
chain (chapter 05).

Run by hand (fuzz/README.md):
`.venv/bin/python fuzz/fuzz_federation.py [corpus dir] [libFuzzer options]`.
"""

from __future__ import annotations

from _harness import main, protocol_target

ONE_INPUT, seed_corpus = protocol_target("federation")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    """One input: accepted, or refused with a reason code; anything else is a crash."""
    ONE_INPUT(data)


if __name__ == "__main__":
    main("federation", TestOneInput, seed_corpus)
