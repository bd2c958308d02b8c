"""Import first: puts tests/node on the path, so deploy tests use the node harness."""

from __future__ import annotations

import sys
from pathlib import Path

NODE_TESTS = str(Path(__file__).resolve().parent.parent / "node")
if NODE_TESTS not in sys.path:
    sys.path.insert(0, NODE_TESTS)
