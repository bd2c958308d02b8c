"""What the browser tests need: the system's Chromium, Playwright and axe-core.

Playwright's own browser download is not used: the tests drive Debian's
``chromium`` (``.ci/browser-setup.sh`` installs it). Without it they skip
with the reason, unless ``BALIZA_REQUIRE_BROWSER=1`` (CI), which makes the
skip a failure. Screenshots go to ``BALIZA_SCREENSHOTS`` (default: a folder
under the system's temporary directory).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

# The node tests' harness (real nodes on loopback) is shared with these tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

CHROMIUM_ENV = "BALIZA_CHROMIUM"
REQUIRE_ENV = "BALIZA_REQUIRE_BROWSER"
SCREENSHOTS_ENV = "BALIZA_SCREENSHOTS"
AXE_ENV = "BALIZA_AXE_JS"
AXE_PLACES = (
    Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js",
    Path("/tmp/axe/node_modules/axe-core/axe.min.js"),
    Path("/usr/share/nodejs/axe-core/axe.min.js"),
)


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 requires it")
    pytest.skip(reason)


def chromium_path() -> str:
    """The system Chromium, or skip (fail in CI) saying how to get it."""
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or ""
    if not path:
        _unavailable("no chromium: run .ci/browser-setup.sh (apt-get install -y chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    return path


def axe_source() -> str:
    """axe-core's script, from npm (``npm install axe-core``), or skip saying so."""
    candidates = [Path(os.environ[AXE_ENV])] if os.environ.get(AXE_ENV) else []
    for path in [*candidates, *AXE_PLACES]:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    _unavailable("axe-core not found: run .ci/browser-setup.sh (npm install axe-core)")
    return ""


@pytest.fixture(scope="session")
def screenshots() -> Iterator[Path]:
    folder = Path(
        os.environ.get(SCREENSHOTS_ENV) or Path(tempfile.gettempdir()) / "baliza-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    yield folder


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()
