"""What ``pip install .`` (not editable) ships: every package and every data file.

The editable install of development maps whole folders, so a package left
out of pyproject's explicit list goes unnoticed there; an installed node
(the systemd step, the Docker image) then stops at ``No module named
'baliza.node.services.rules'``. These checks compare pyproject with the tree.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# Files for developers (`make catalogues`), not read by a running node.
DEVELOPMENT_ONLY = {"node/console/babel.cfg", "node/console/locale/console.pot"}


def setuptools_table() -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    return dict(table["setuptools"])


def on_disk() -> dict[str, Path]:
    """Every ``baliza.*`` package in the tree: dotted name to folder."""
    found = {}
    for name, folder in setuptools_table()["package-dir"].items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root)
            found[".".join([name, *relative.parts])] = init.parent
    return found


def test_every_package_in_the_tree_is_shipped() -> None:
    listed = set(setuptools_table()["packages"])
    tree = set(on_disk())
    assert sorted(tree - listed) == [], "packages pip install . would leave out"
    assert sorted(listed - tree) == [], "packages listed that do not exist"


def test_every_data_file_is_shipped() -> None:
    data = setuptools_table()["package-data"]
    packages = on_disk()
    missing = []
    for name, folder in packages.items():
        for path in folder.rglob("*"):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            if path.relative_to(REPO).as_posix() in DEVELOPMENT_ONLY:
                continue
            # The file belongs to the deepest package holding it.
            owner = max(
                (n for n, f in packages.items() if path.is_relative_to(f)),
                key=lambda n: len(packages[n].parts),
            )
            if owner != name:
                continue
            relative = path.relative_to(folder).as_posix()
            # setuptools' "*" does not cross a slash: match part by part.
            if not any(
                len(glob.split("/")) == len(relative.split("/"))
                and all(
                    fnmatch.fnmatchcase(part, pattern)
                    for part, pattern in zip(relative.split("/"), glob.split("/"), strict=True)
                )
                for glob in data.get(name, [])
            ):
                missing.append(f"{name}: {relative}")
    assert missing == [], "files pip install . would leave out"
