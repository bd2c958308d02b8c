"""The fenced command blocks of docs/operations.md, with the marker written before each.

A block is a fenced ```` ```sh ```` block (indented ones too, inside a list).
The HTML comments on the lines just before it are its markers:

- ``<!-- not-run: REASON -->``: the block cannot run on a build machine, and why;
- ``<!-- exits: N: FAIL a, b (REASON) -->``: its last command exits with N,
  ``doctor`` failing exactly the checks named;
- ``<!-- run-with: OLD => NEW -->``: a replacement for this block only, before
  the document's own (see ``substitutions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(not-run|exits|run-with):\s*(.*?)\s*-->\s*$")
_SUBSTITUTIONS = re.compile(r"<!--\s*doc-test substitutions\b[^\n]*\n(.*?)-->", re.S)


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    section: str  # the nearest heading above it
    language: str
    markers: dict[str, list[str]]  # "not-run", "exits", "run-with": their texts
    text: str

    @property
    def not_run(self) -> str:
        """Why the block cannot run here; empty when it runs."""
        return " ".join(self.markers.get("not-run", []))

    def commands(self) -> list[str]:
        """The block's commands: continuation lines joined, comments and blank lines dropped."""
        joined = re.sub(r"[ \t]*\\\n\s*", " ", self.text)
        out = []
        for line in joined.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(line)
        return out


def blocks(path: Path = OPERATIONS) -> list[Block]:
    lines = path.read_text().splitlines()
    found: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        fence = _FENCE.match(line)
        if fence is None:
            i += 1
            continue
        indent, language = fence.group(1), fence.group(2)
        body: list[str] = []
        j = i + 1
        while not lines[j].strip().startswith("```"):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        markers: dict[str, list[str]] = {}
        k = i - 1
        while k >= 0 and (marker := _MARKER.match(lines[k])):
            markers.setdefault(marker.group(1), []).insert(0, marker.group(2))
            k -= 1
        found.append(
            Block(
                line=i + 1,
                section=section,
                language=language,
                markers=markers,
                text="\n".join(body) + "\n",
            )
        )
        i = j + 1
    return found


def command_blocks(path: Path = OPERATIONS) -> list[Block]:
    """The shell blocks: what an operator types."""
    return [block for block in blocks(path) if block.language in ("sh", "bash", "shell")]


def substitutions(path: Path = OPERATIONS) -> list[tuple[str, str]]:
    """The document's ``OLD => NEW`` replacements (its ``doc-test substitutions`` comment)."""
    found = _SUBSTITUTIONS.search(path.read_text())
    assert found, f"{path} declares no doc-test substitutions"
    return [parse_substitution(line) for line in found.group(1).splitlines() if "=>" in line]


def parse_substitution(line: str) -> tuple[str, str]:
    old, new = line.split("=>", 1)
    return old.strip(), new.strip()
