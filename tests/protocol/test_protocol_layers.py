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
    bad.write_text("import asyncio\nfrom aiohttp import web\nfrom baliza.node.http.app import x\n")
    assert forbidden(imported(bad), IO_MODULES) == {"asyncio", "aiohttp", "baliza.node.http.app"}


# node/ is layered too: cli → http | console → services → core | exchange → storage. A
# module may import its own layer and the layers below it, never one above.
# http and console are peers of one rank: the console may use the route table,
# app keys and error mapping of http, and http knows the console only in
# app.py, which mounts it.
# The conformance suite ranks with http and console, but is a black box: it
# reaches a node over HTTP only (its own test holds it to protocol, crypto and
# the clock of node.core). exchange (STIX, TAXII and spreadsheet forms of
# notices) is pure and ranks with core: services read storage for it.
NODE_LAYERS = (
    "storage",
    ("core", "exchange"),
    "services",
    ("http", "console", "conformance"),
    "cli",
)
CONSOLE_MAY_IMPORT = (
    "baliza.node.http.routes",
    "baliza.node.http.appkeys",
    "baliza.node.http.errors",
)
MOUNTS_THE_CONSOLE = "baliza.node.http.app"


def node_layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[:2] != ["baliza", "node"] or len(parts) < 3:
        return None
    for rank, layer in enumerate(NODE_LAYERS):
        if parts[2] in (layer if isinstance(layer, tuple) else (layer,)):
            return rank
    return None


def sibling(module: str) -> str | None:
    """``http`` or ``console`` for a module of either peer layer."""
    parts = module.split(".")
    return parts[2] if parts[:2] == ["baliza", "node"] and len(parts) > 2 else None


def crosses_peers(importer: str, imported_name: str) -> bool:
    """Whether an import between the peer layers http and console breaks their rule."""
    own, other = sibling(importer), sibling(imported_name)
    if {own, other} != {"http", "console"}:
        return False
    if own == "console":
        return not imported_name.startswith(CONSOLE_MAY_IMPORT)
    return importer != MOUNTS_THE_CONSOLE


def node_modules() -> list[Path]:
    return [p for p in modules("node") if p.parent != ROOT / "node"]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = ["baliza", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", node_modules(), ids=str)
def test_node_imports_point_down(path: Path) -> None:
    own = node_layer(module_name(path))
    assert own is not None, f"{path} is outside the node layers {NODE_LAYERS}"
    upward = {n for n in imported(path) if (node_layer(n) or 0) > own}
    assert upward == set()
    name = module_name(path)
    assert {n for n in imported(path) if crosses_peers(name, n)} == set()


def test_node_has_no_loose_modules() -> None:
    loose = [p.name for p in (ROOT / "node").glob("*.py") if p.name != "__init__.py"]
    assert loose == []


def test_node_has_no_import_cycles() -> None:
    graph = {
        module_name(p): {n for n in imported(p) if n.startswith("baliza.node.")}
        for p in node_modules()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph.get(name, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep] if dep in stack else [name, dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_node_check_catches_an_upward_import() -> None:
    assert node_layer("baliza.node.http.app") == node_layer("baliza.node.console.pages") == 3
    assert (node_layer("baliza.node.cli.main") or 0) > NODE_LAYERS.index("services")


def test_the_node_check_keeps_http_and_console_apart() -> None:
    assert crosses_peers("baliza.node.http.api", "baliza.node.console.web")
    assert crosses_peers("baliza.node.console.web", "baliza.node.http.api")
    assert not crosses_peers("baliza.node.console.web", "baliza.node.http.routes")
    assert not crosses_peers("baliza.node.http.app", "baliza.node.console.pages")


# Only services/ opens storage: http, console and cli call services, which
# hold the units of work (``db.run``, one per use case) and the statements. The layers
# above may name ``Database`` only where a node or a CLI command is wired up
# and must open one to hand it to the services; each such module is listed
# with its reason.
ABOVE_SERVICES = ("http", "console", "cli")
STORAGE = "baliza.node.storage"
OPENS_THE_DATABASE = {
    "baliza.node.http.app": "builds the running node: opens the Database the services use",
    "baliza.node.cli.main": "`serve`, `db upgrade` and `tokens` open the node folder's Database",
    "baliza.node.cli.admin": "offline directory apply and key events run with no node running",
    "baliza.node.cli.backup": "reads the schema revision it records beside the copy",
    "baliza.node.cli.doctor": "checks that the Database opens before reading through services",
    "baliza.node.cli.schema": "compares the Database's schema revision with the migrations",
    "baliza.node.cli.users": "`users` opens the node folder's Database, as `tokens` does",
    "baliza.node.cli.watch": "`watch` opens the node folder's Database, as `users` does",
}
# Modules above services still allowed some storage while they move over:
# module → (storage names, units of work opened). Empty now; kept so that a
# move in progress is named here rather than hidden.
PENDING: dict[str, tuple[set[str], int]] = {}


def storage_names(path: Path) -> set[str]:
    """Every name a module imports from storage, as ``module.name`` (or the module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if forbidden({a.name}, (STORAGE,)))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and forbidden({node.module}, (STORAGE,))
        ):
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _is_db(node: ast.expr) -> bool:
    """``db`` or ``….db``: the node's Database, however it was reached."""
    return (isinstance(node, ast.Name) and node.id == "db") or (
        isinstance(node, ast.Attribute) and node.attr == "db"
    )


def transactions_opened(path: Path) -> int:
    """How many units of work a module opens: ``db.run(…)`` or an old ``….transaction(…)``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return sum(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and (n.func.attr == "transaction" or (n.func.attr == "run" and _is_db(n.func.value)))
        for n in ast.walk(tree)
    )


def above_services() -> list[Path]:
    return [p for layer in ABOVE_SERVICES for p in modules(f"node/{layer}")]


@pytest.mark.parametrize("path", above_services(), ids=str)
def test_only_services_open_storage(path: Path) -> None:
    name = module_name(path)
    allowed: set[str] = set()
    if name in OPENS_THE_DATABASE:
        allowed = {f"{STORAGE}.Database"}
    pending_names, pending_transactions = PENDING.get(name, (set(), 0))
    assert storage_names(path) - allowed - pending_names == set()
    assert transactions_opened(path) <= pending_transactions


def test_the_storage_exceptions_are_still_needed() -> None:
    # An entry that no longer does what it excuses is removed, not left to rot.
    for name in OPENS_THE_DATABASE:
        path = ROOT / Path(*name.split(".")[1:]).with_suffix(".py")
        assert storage_names(path) == {f"{STORAGE}.Database"}, name
    for name, (names, count) in PENDING.items():
        path = ROOT / Path(*name.split(".")[1:]).with_suffix(".py")
        assert storage_names(path) == names and transactions_opened(path) == count, name


def test_the_storage_check_catches_a_handler_that_opens_storage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from baliza.node.storage.notices import Notices\n"
        "import baliza.node.storage.trust\n"
        "async def handler(ctx):\n"
        "    async with ctx.db.transaction(readonly=True) as session:\n"
        "        return await Notices(session).get('x')\n"
        "async def other(request):\n"
        "    return await request.app[NODE].db.run(read, write=False)\n"
    )
    assert storage_names(bad) == {
        "baliza.node.storage.notices.Notices",
        "baliza.node.storage.trust",
    }
    assert transactions_opened(bad) == 2
