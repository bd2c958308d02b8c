"""The error tree, and the reason-code list of the spec kept complete."""

from __future__ import annotations

import re
from pathlib import Path

from baliza.protocol.errors import InputError, ReasonCode, VersionError

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "09-reason-codes.md"


def test_every_reason_code_is_listed_in_the_spec() -> None:
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", SPEC.read_text(encoding="utf-8"), re.M))
    assert {c.value for c in ReasonCode} - listed == set()
    assert listed - {c.value for c in ReasonCode} == set()


def test_at_prefixes_paths_and_keeps_the_class() -> None:
    err = VersionError(ReasonCode.UNKNOWN_VERSION, "v9", path="v")
    moved = err.at("notice")
    assert isinstance(moved, VersionError)
    assert moved.path == "notice.v"
    assert InputError(ReasonCode.BAD_LENGTH, "x", path="[2].a").at("items").path == "items[2].a"
    assert str(InputError(ReasonCode.MALFORMED, "empty input")) == "empty input"
