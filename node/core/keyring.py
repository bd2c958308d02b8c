"""The agency's private keys on disk, encrypted under a passphrase.

The passphrase comes from, in order: a file named by the operator (``-`` or
``/dev/stdin``: the standard input), the
``BALIZA_PASSPHRASE`` environment variable, or a prompt when a person is at the
terminal. It is never written to the data folder. The first key set is
``keys.enc``; each rotation adds ``keys-<id>.enc``. All stay until their
validity ends, so envelopes sealed to an older set can still be opened.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from baliza.crypto import AgencyKeys
from baliza.node.core.config import KEYS_FILE
from baliza.node.core.trust import Keyring
from baliza.protocol.errors import ReasonCode, UsageError

PASSPHRASE_ENV = "BALIZA_PASSPHRASE"
MIN_PASSPHRASE = 8
# ``--passphrase-file`` names that mean the standard input the command inherited.
STDIN_NAMES = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def read_passphrase(passphrase_file: Path | None = None, *, confirm: bool = False) -> bytes:
    """Return the key passphrase from a file, the environment or the terminal."""
    if passphrase_file is not None and str(passphrase_file) in STDIN_NAMES:
        # Read the inherited descriptor, not the path: under `sudo -u baliza ... <
        # /etc/baliza/passphrase` the file (and a pipe's /proc path) is root's, and
        # opening /dev/stdin again is refused; the descriptor root opened is not.
        text = sys.stdin.read().rstrip("\n")
    elif passphrase_file is not None:
        try:
            text = passphrase_file.read_text().rstrip("\n")
        except OSError as exc:
            raise UsageError(ReasonCode.BAD_CONFIG, f"cannot read passphrase file: {exc}") from None
    elif PASSPHRASE_ENV in os.environ:
        text = os.environ[PASSPHRASE_ENV]
    elif sys.stdin.isatty():
        text = getpass.getpass("Key passphrase: ")
        if confirm and getpass.getpass("Again: ") != text:
            raise UsageError(ReasonCode.BAD_PASSPHRASE, "the two passphrases differ")
    else:
        raise UsageError(
            ReasonCode.BAD_PASSPHRASE,
            f"no passphrase: set {PASSPHRASE_ENV}, pass --passphrase-file, or run in a terminal",
        )
    if len(text) < MIN_PASSPHRASE:
        raise UsageError(
            ReasonCode.BAD_PASSPHRASE,
            f"the passphrase must have at least {MIN_PASSPHRASE} characters",
        )
    return text.encode()


def write_key_file(path: Path, keys: AgencyKeys, passphrase: bytes) -> Path:
    """Write one encrypted key set atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(keys.to_encrypted_bytes(passphrase))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def read_key_file(path: Path, passphrase: bytes) -> AgencyKeys:
    """Read and decrypt one key set; a wrong passphrase raises ``UsageError``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(ReasonCode.BAD_CONFIG, f"{path} not found") from None
    return AgencyKeys.from_encrypted_bytes(data, passphrase)


def save_keys(data_dir: Path, keys: AgencyKeys, passphrase: bytes) -> Path:
    """Add a key set to the node: ``keys.enc`` for the first, ``keys-<id>.enc`` after.

    Nothing is renamed or overwritten, so a crash at any moment leaves every
    key set readable; which one signs is decided from the directory.
    """
    first = data_dir / KEYS_FILE
    if not first.exists():
        return write_key_file(first, keys, passphrase)
    name = f"keys-{bytes(keys.public().signing_key_id).hex()}.enc"
    return write_key_file(data_dir / name, keys, passphrase)


def load_keyring(data_dir: Path, passphrase: bytes) -> Keyring:
    """Every key set of this node: the current one and those kept after rotations."""
    current = data_dir / KEYS_FILE
    if not current.exists():
        raise UsageError(ReasonCode.BAD_CONFIG, f"{current} not found: run `baliza init`")
    paths = [current, *sorted(data_dir.glob("keys-*.enc"))]
    return Keyring(read_key_file(p, passphrase) for p in paths)


def load_keys(data_dir: Path, passphrase: bytes) -> AgencyKeys:
    """The newest key set of this node."""
    return load_keyring(data_dir, passphrase).newest
