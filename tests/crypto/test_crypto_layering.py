"""crypto/ keeps its boundaries: one module touches hazmat, none does I/O."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import baliza.crypto

CRYPTO = Path(baliza.crypto.__file__).parent
FORBIDDEN = {"asyncio", "aiohttp", "sqlalchemy", "socket", "time", "datetime", "baliza.node"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_primitives_imports_cryptography() -> None:
    for path in sorted(CRYPTO.glob("*.py")):
        uses = {n for n in _imports(path) if n.split(".")[0] == "cryptography"}
        if path.name == "_primitives.py":
            assert uses, "the boundary module should be the one using pyca"
        else:
            assert not uses, f"{path.name} imports {uses}"


def test_crypto_does_no_io_and_reads_no_clock() -> None:
    for path in sorted(CRYPTO.glob("*.py")):
        bad = {n for n in _imports(path) if n in FORBIDDEN or n.split(".")[0] in FORBIDDEN}
        assert not bad, f"{path.name} imports {bad}"
        assert re.search(r"(?<![\w.])open\(", path.read_text()) is None, path.name


def test_the_public_names_are_few() -> None:
    assert len(baliza.crypto.__all__) <= 12
