"""``--passphrase-file /dev/stdin`` (or ``-``) as the node's unprivileged user.

The documented step is ``sudo -u baliza baliza init … --passphrase-file
/dev/stdin < /etc/baliza/passphrase``: root opens its own 0600 file and hands
the descriptor on. Opening ``/dev/stdin`` again as ``baliza`` is refused
(``Permission denied``, for a file and for a pipe alike); the command must read
the descriptor it inherited. As root the test creates a system user and drops
to it with ``setpriv``; as an ordinary user it already is one, and the file's
mode is taken away after the test opened it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

PASS = "a passphrase only root can read"
TEST_USER = "baliza-test"
# The child's interpreter adds this venv's packages itself: the venv's own
# interpreter may sit under a folder the unprivileged user cannot enter (/root).
BOOT = (
    "import site, sys; site.addsitedir(sys.argv.pop(1)); "
    "from baliza.node.cli.main import main; sys.argv[0] = 'baliza'; sys.exit(main())"
)
# When the checkout itself is out of the user's reach (a clone under /root, or
# in a 0700 ``mktemp -d``), the child reads hard-linked copies of the sources
# and of the venv's packages instead, put on its path without the editable
# install's finder (which would send it back to the checkout).
BOOT_COPIED = (
    "import sys; sys.path[:0] = [sys.argv.pop(1), sys.argv.pop(1)]; "
    "from baliza.node.cli.main import main; sys.argv[0] = 'baliza'; sys.exit(main())"
)
REPO = Path(__file__).resolve().parents[2]
# Each ``baliza.*`` package and its folder in the checkout, as pyproject maps them.
SOURCES = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def _enterable_by_others(folder: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents))


def _linked_copy(source: Path, target: Path) -> None:
    """``source`` again at ``target``, hard-linked (a copy where links cannot cross devices)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, target, copy_function=os.link, symlinks=True)
    except (shutil.Error, OSError):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, symlinks=True)


def _reachable_by_others(path: Path) -> bool:
    """Every folder above ``path`` is enterable, and the file readable, by any user."""
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def _interpreter() -> str:
    """A Python of this one's version that another user may run."""
    own = Path(sys.executable).resolve()
    if _reachable_by_others(own):
        return str(own)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if found is None:
        pytest.fail(f"no {version} that another user may run (the venv's is {own})")
    return found


class Unprivileged:
    """Runs ``baliza`` as a user who cannot read root's passphrase file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = os.geteuid() == 0

    def _boot(self) -> list[str]:
        """The child's start: this venv's packages, or copies of them it can read."""
        site_packages = Path(sysconfig.get_paths()["purelib"])
        if _enterable_by_others(site_packages) and _enterable_by_others(REPO):
            return [BOOT, str(site_packages)]
        copies = self.folder / "python"
        if not copies.exists():
            for package, folder in SOURCES.items():
                _linked_copy(REPO / folder, copies / "src" / Path(*package.split(".")))
            _linked_copy(site_packages, copies / "site")
            for p in (copies, *copies.rglob("*")):
                if p.is_dir():
                    p.chmod(0o755)
        return [BOOT_COPIED, str(copies / "src"), str(copies / "site")]

    def run(self, stdin: IO[bytes] | int, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
        command = [sys.executable, "-m", "baliza.node.cli.main", *args]
        if self.root:
            command = ["setpriv", f"--reuid={TEST_USER}", f"--regid={TEST_USER}"]
            command += ["--clear-groups", _interpreter(), "-I", "-S", "-c", *self._boot(), *args]
            env["HOME"] = str(self.folder)
        return subprocess.run(
            command, stdin=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
        )


@pytest.fixture
def unprivileged() -> Iterator[Unprivileged]:
    """A folder the unprivileged user owns (outside root's 0700 pytest folder)."""
    folder = Path(tempfile.mkdtemp(prefix="baliza-stdin-"))
    try:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(TEST_USER)
            except KeyError:
                add = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
                subprocess.run([*add, TEST_USER], check=True, timeout=60)
            user = pwd.getpwnam(TEST_USER)
            os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(0o755)
        yield Unprivileged(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def secret_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "passphrase"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def test_init_reads_dev_stdin_from_a_file_it_cannot_open(
    tmp_path: Path, unprivileged: Unprivileged
) -> None:
    secret = secret_file(tmp_path, PASS)
    data = unprivileged.folder / "node"
    with secret.open("rb") as handle:
        if not unprivileged.root:
            secret.chmod(0)  # the descriptor stays readable; the path does not
        done = unprivileged.run(
            handle,
            *("init", "--data-dir", str(data), "--agency", "co.polfa.ctg", "--suite", "classic-v1"),
            *("--passphrase-file", "/dev/stdin"),
        )
    assert done.returncode == 0, done.stderr
    assert "Created node co.polfa.ctg" in done.stdout
    assert (data / "keys.enc").stat().st_uid == (
        pwd.getpwnam(TEST_USER).pw_uid if unprivileged.root else os.geteuid()
    )


def test_doctor_reads_dash_from_a_pipe(tmp_path: Path, unprivileged: Unprivileged) -> None:
    secret = secret_file(tmp_path, PASS)
    data = unprivileged.folder / "node"
    with secret.open("rb") as handle:
        init = ("init", "--data-dir", str(data), "--agency", "co.polfa.ctg", "--suite")
        done = unprivileged.run(handle, *init, "classic-v1", "--passphrase-file", "-")
    assert done.returncode == 0, done.stderr

    def doctor_with(passphrase: str, name: str) -> str:
        reader, writer = os.pipe()  # `cat /etc/baliza/passphrase | sudo -u baliza …`
        os.write(writer, (passphrase + "\n").encode())
        os.close(writer)
        try:
            done = unprivileged.run(
                reader, "doctor", "--data-dir", str(data), "--passphrase-file", name
            )
        finally:
            os.close(reader)
        keys = [line for line in done.stdout.splitlines() if " keys: " in line]
        assert keys, done.stdout + done.stderr
        return keys[0]

    assert doctor_with(PASS, "-").startswith("ok    keys: 1 key set(s) open")
    assert doctor_with(PASS, "/dev/stdin").startswith("ok    keys: 1 key set(s) open")
    # It is the pipe's content that counts: another passphrase is refused.
    assert "[bad_passphrase]" in doctor_with("not the passphrase at all", "-")
