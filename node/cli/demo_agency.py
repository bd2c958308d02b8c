"""One node of the demo federation, as the demo drives it: its folder, port, tokens, process."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from baliza.node.cli.client import ApiClient


@dataclass(slots=True)
class Agency:
    """One node of the demo federation."""

    agency: str
    name: str
    where: str
    port: int
    data_dir: Path
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    published: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # by role

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self) -> ApiClient:
        return ApiClient(self.url, self.token)

    def admin(self) -> ApiClient:
        return ApiClient(self.url, self.tokens["admin"])
