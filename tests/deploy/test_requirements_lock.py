"""``requirements.lock`` is the whole runtime: what pyproject asks for, what the code imports.

The lock once lacked jinja2, aiohttp-jinja2 and babel, so a node installed
the documented way (``pip install --require-hashes --no-deps -r
requirements.lock``) stopped at ``ModuleNotFoundError: No module named
'babel'``. These checks read the files; no network:

- every runtime dependency of ``pyproject.toml`` is pinned, at a version its
  specifier accepts, and every pin carries hashes;
- every module the shipped packages import, outside the standard library,
  comes from a locked distribution;
- what the locked distributions themselves require (as installed here) is
  locked too, so ``--no-deps`` leaves nothing out;
- every install path (operations.md, the systemd step, the Dockerfile)
  installs from the lock.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"
# The folders shipped as baliza.* (pyproject's package-dir).
SHIPPED = ("protocol", "crypto", "node", "migrations")
LOCKED_INSTALL = "pip install --require-hashes --no-deps -r"


def locked() -> dict[str, tuple[Version, int]]:
    """Each pinned distribution: its version and how many hashes it carries."""
    pins: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in LOCK.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==([^ \\]+)", line)
        if found:
            current = canonicalize_name(found[1])
            pins[current] = (Version(found[2]), 0)
        elif "--hash=sha256:" in line and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_every_runtime_dependency_is_pinned_with_hashes() -> None:
    pins = locked()
    assert pins, "requirements.lock pins nothing"
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, which pyproject's {requirement} refuses"
        )
    unhashed = [name for name, (_, hashes) in pins.items() if hashes == 0]
    assert unhashed == [], f"pinned without a hash: {unhashed}"


def imported_top_levels() -> dict[str, str]:
    """Top-level modules the shipped code imports, outside the standard library and baliza."""
    found: dict[str, str] = {}
    for folder in SHIPPED:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in ("baliza", "__future__"):
                        found.setdefault(top, str(path.relative_to(REPO)))
    return found


def test_every_module_the_package_imports_is_locked() -> None:
    pins = locked()
    providers = metadata.packages_distributions()
    missing = []
    for module, where in sorted(imported_top_levels().items()):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions, f"{module} (imported in {where}) is not installed here"
        if not distributions & set(pins):
            missing.append(f"{module} ({', '.join(sorted(distributions))}; {where})")
    assert missing == [], f"imported but not in requirements.lock: {missing}"
    # The console's three, which the lock once lacked, are among them.
    assert {"jinja2", "aiohttp_jinja2", "babel"} <= set(imported_top_levels())


def _needs(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    environment: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in (extras or {""})
    )


def test_what_locked_distributions_require_is_locked_too() -> None:
    pins = locked()
    wanted = [(canonicalize_name(r.name), set(r.extras)) for r in runtime_requirements()]
    seen: set[tuple[str, frozenset[str]]] = set()
    missing = []
    while wanted:
        name, extras = wanted.pop()
        if (name, frozenset(extras)) in seen:
            continue
        seen.add((name, frozenset(extras)))
        if name not in pins:
            missing.append(name)
            continue
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if _needs(requirement, extras):
                wanted.append((canonicalize_name(requirement.name), set(requirement.extras)))
    assert missing == [], f"required by a locked distribution but not locked: {missing}"


def test_every_install_path_installs_from_the_lock() -> None:
    operations = (REPO / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", operations, re.S)
    installs = [line for block in blocks for line in block.splitlines() if "pip install" in line]
    assert installs, "operations.md installs nothing"
    for line in installs:
        if "--no-deps" in line and re.search(r"\s-r\s", line) is None:
            continue  # Baliza itself, after its locked dependencies
        assert LOCKED_INSTALL in line and "requirements.lock" in line, line
    dockerfile = (REPO / "deploy" / "compose" / "Dockerfile").read_text()
    # The image installs the lock with hashes, then the wheel it built without
    # the index (deploy/compose/Dockerfile's two stages).
    assert re.search(r"pip install --require-hashes[^\n]*-r \S*requirements\.lock", dockerfile)
    assert "--no-index --no-deps" in dockerfile
    unit = (REPO / "deploy" / "systemd" / "baliza.service").read_text()
    assert "requirements.lock" in unit, "the unit's install notes do not use the lock"
