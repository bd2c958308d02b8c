"""The fenced command blocks of docs/operations.md, with the marker written before each.

A block is a fenced ```` ```sh ```` block (indented ones too, inside a list).
The HTML comment on the line before it, if any, is its marker:
``<!-- not-run: REASON -->`` (the block cannot run on a build machine, and why)
or ``<!-- exits: N: REASON -->`` (the block's last command exits with N, and why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(not-run|exits):\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    section: str  # the nearest heading above it
    language: str
    marker: str  # "", "not-run" or "exits"
    reason: str
    text: str

    def commands(self) -> list[str]:
        """The block's commands: continuation lines joined, comments and blank lines dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
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
        marker = _MARKER.match(lines[i - 1]) if i > 0 else None
        found.append(
            Block(
                line=i + 1,
                section=section,
                language=language,
                marker=marker.group(1) if marker else "",
                reason=marker.group(2) if marker else "",
                text="\n".join(body) + "\n",
            )
        )
        i = j + 1
    return found


def command_blocks(path: Path = OPERATIONS) -> list[Block]:
    """The shell blocks: what an operator types."""
    return [block for block in blocks(path) if block.language in ("sh", "bash", "shell")]
