"""The direction of imports: protocol and crypto are pure, node does the I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_MODULES = ("asyncio", "aiohttp", "sqlalchemy", "socket", "baliza.node", "alembic", "aiosqlite")


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def forbidden(names: set[str], roots: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == r or n.startswith(r + ".") for r in roots)}


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("protocol") + modules("crypto"), ids=str)
def test_pure_layers_import_no_io(path: Path) -> None:
    assert forbidden(imported(path), IO_MODULES) == set()


@pytest.mark.parametrize("path", modules("protocol"), ids=str)
def test_protocol_imports_nothing_of_crypto(path: Path) -> None:
    assert forbidden(imported(path), ("baliza.crypto",)) == set()


def test_only_node_and_migrations_import_io_libraries() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {"node", "migrations", "tests", "bench", ".venv", ".typecheck", "build"}:
            continue
        if forbidden(imported(path), ("aiohttp", "sqlalchemy", "alembic", "aiosqlite")):
            offenders.append(str(rel))
    assert offenders == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom aiohttp import web\nfrom baliza.node.app import x\n")
    assert forbidden(imported(bad), IO_MODULES) == {"asyncio", "aiohttp", "baliza.node.app"}
