"""Fixtures of the browser tests (see browser_env.py for what they need)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

from browser_env import SCREENSHOTS_ENV, chromium_path  # noqa: E402


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
