"""``baliza demo`` leaves nothing behind unless asked: keys and decrypted notices are evidence."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

LINE_TIMEOUT_S = 120


class Demo:
    """A ``baliza demo`` child process whose output is read line by line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "baliza.node.cli.main", "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # lines as they are printed
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def until(self, marker: str) -> str:
        """Read until a line contains ``marker``; fail if the demo falls silent or exits."""
        while True:
            try:
                line = self.lines.get(timeout=LINE_TIMEOUT_S)
            except queue.Empty:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"no {marker!r} in: {''.join(self.seen)}")
            self.seen.append(line)
            if marker in line:
                return line

    def interrupt(self, number: int = signal.SIGINT) -> int:
        """Ctrl-C, as a person at the terminal would (or another signal), and the exit code."""
        self.process.send_signal(number)
        code = self.process.wait(timeout=LINE_TIMEOUT_S)
        self.reader.join(timeout=LINE_TIMEOUT_S)  # reads to the end of the output
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def rest(self) -> str:
        """What the demo printed after the last line read, once it has exited."""
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


@pytest.mark.slow
def test_ctrl_c_removes_the_demo_folder() -> None:
    demo = Demo()
    data = Path(demo.until("data in ").split("data in ", 1)[1].split()[0])
    demo.until("Scenario:")
    assert data.exists()
    assert demo.interrupt() == 130
    assert not data.exists()


@pytest.mark.slow
def test_keep_prints_tokens_and_keeps_the_folder_after_ctrl_c() -> None:
    demo = Demo("--keep")
    data = Path(demo.until("data in ").split("data in ", 1)[1].split()[0])
    try:
        demo.until("Nodes keep running")
        assert demo.interrupt() in (0, 130)  # stopping a kept demo is what was asked
        out = demo.rest()
        assert "    analyst bz_" in out and "    admin   bz_" in out
        assert f"Data kept in {data}" in out
        assert data.exists()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/")[0].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_sigterm_stops_a_kept_demo_and_removes_its_folder() -> None:
    """``kill`` (or a service manager) ending ``demo --keep`` leaves no node and no folder."""
    demo = Demo("--keep")
    data = Path(demo.until("data in ").split("data in ", 1)[1].split()[0])
    try:
        demo.until("Nodes:")
        urls = [demo.until("http://").split()[-1] for _ in range(5)]
        demo.until("Nodes keep running")
        assert all(listening(url) for url in urls), urls
        assert demo.interrupt(signal.SIGTERM) == 128 + signal.SIGTERM
        assert not data.exists()
        assert not any(listening(url) for url in urls), urls
        assert "Data kept" not in demo.rest()
    finally:
        shutil.rmtree(data, ignore_errors=True)
