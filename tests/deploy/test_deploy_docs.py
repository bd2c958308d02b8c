"""Every section of docs/operations.md that a file in deploy/ names exists.

``baliza.service`` once sent operators to "Running under systemd", a
section that did not exist.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# `docs/operations.md, "Upgrading"` or `docs/operations.md ("Upgrading")`
CITATION = re.compile(r'docs/operations\.md[,:]?\s*\(?\s*"([^"]+)"')


def test_sections_named_in_deploy_exist() -> None:
    headings = {
        line.lstrip("#").strip()
        for line in (REPO / "docs" / "operations.md").read_text().splitlines()
        if line.startswith("#")
    }
    cited = []
    for path in sorted((REPO / "deploy").rglob("*")):
        if path.is_file():
            for section in CITATION.findall(path.read_text(errors="replace")):
                cited.append((str(path.relative_to(REPO)), section))
    assert len(cited) >= 4, cited  # the units, compose and the example all cite it
    missing = [(where, section) for where, section in cited if section not in headings]
    assert missing == [], f"sections that operations.md does not have: {missing}"
