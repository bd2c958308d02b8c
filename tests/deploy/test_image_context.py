"""The compose image is built from a context that holds no secret (third attack round, item 5).

Compose builds ``deploy/compose/Dockerfile`` from the repository root, the
folder where docs/operations.md has the operator create
``deploy/compose/secrets/*`` (the key passphrase, the database password and
pgpass, the TLS key) and ``deploy/compose/.env``. Whatever the context
holds is sent to the builder and can land in a layer. These tests lay out a
checkout as an operator has it after following those steps, with the real
``make-secrets.sh``, a ``.git`` and a node's data folder, and build the
context as Docker's own SDK does (``docker.utils.build.tar``: its
``.dockerignore`` matcher, the Dockerfile added as the client adds it); no
daemon is needed. Then they look for every secret, by name and by content.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from docker.api.build import process_dockerfile
from docker.utils.build import tar

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose"
DOCKERFILE = "deploy/compose/Dockerfile"
#: What the image is built from; everything else stays out of the context.
PACKAGE = ("protocol", "crypto", "node", "migrations", "examples")


def build_context(root: Path) -> dict[str, bytes]:
    """Every file in the context Docker would send for ``root``, by path, with its bytes.

    ``.dockerignore`` is read exactly as ``docker.api.build.BuildApiMixin.build``
    reads it (stripped lines, blank and ``#`` lines dropped) and handed to
    the SDK's ``tar``, which applies Docker's matching rules.
    """
    lines = (root / ".dockerignore").read_text().splitlines()
    exclude = [line.strip() for line in lines]
    exclude = [line for line in exclude if line and not line.startswith("#")]
    dockerfile = process_dockerfile(DOCKERFILE, str(root))
    with tempfile.TemporaryFile() as archive:
        tar(root, exclude=exclude, dockerfile=dockerfile, fileobj=archive)
        archive.seek(0)
        sent = archive.read()
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(sent)) as context:
        for member in context.getmembers():
            if member.isfile():
                data = context.extractfile(member)
                found[member.name] = data.read() if data else b""
    return found


def checkout_files() -> list[str]:
    """The files of this checkout that git would keep (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    return [name for name in listed.decode().split("\0") if name and (REPO / name).is_file()]


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A checkout after the operator's steps; and each secret in it, by file, with its value."""
    root = tmp_path / "baliza"
    for name in checkout_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    compose = root / "deploy" / "compose"
    # docs/operations.md, "Running with Docker Compose":
    shutil.copy2(compose / ".env.example", compose / ".env")
    with (compose / ".env").open("a") as env:
        env.write(f"BALIZA_OPERATOR_NOTE={secrets.token_hex(16)}\n")
    subprocess.run(["sh", str(compose / "secrets" / "make-secrets.sh")], check=True)
    key = f"-----BEGIN PRIVATE KEY-----\n{secrets.token_hex(48)}\n-----END PRIVATE KEY-----\n"
    (compose / "secrets" / "tls.key").write_text(key)
    (compose / "secrets" / "tls.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    # A clone's history (a remote URL with a token in it), and a node's data
    # folder (`baliza init --data-dir data`) with its encrypted keys.
    (root / ".git").mkdir()
    token = secrets.token_hex(16)
    (root / ".git" / "config").write_text(f'[remote "origin"]\n\turl = https://x:{token}@git\n')
    (root / "data").mkdir()
    (root / "data" / "keys.enc").write_bytes(secrets.token_bytes(64))
    found = {
        ".git/config": token,
        "deploy/compose/.env": (compose / ".env").read_text(),
        "data/keys.enc": (root / "data" / "keys.enc").read_bytes().hex(),
    }
    for name in ("baliza_passphrase", "db_password", "pgpass", "tls.key"):
        found[f"deploy/compose/secrets/{name}"] = (compose / "secrets" / name).read_text()
    return root, found


def test_the_build_context_holds_no_secret(deployment: tuple[Path, dict[str, str]]) -> None:
    root, planted = deployment
    assert all((root / name).is_file() for name in planted)  # the secrets are really there
    context = build_context(root)
    leaked = sorted(set(planted) & set(context))
    assert leaked == []
    assert not [name for name in context if name.startswith((".git/", "data/"))]
    assert not [name for name in context if "/secrets/" in f"/{name}" or name.endswith(".env")]
    # Nor their content, under any name (a copy, a backup, a log).
    values = {
        "deploy/compose/secrets/baliza_passphrase": planted[
            "deploy/compose/secrets/baliza_passphrase"
        ].strip(),
        "deploy/compose/secrets/db_password": planted["deploy/compose/secrets/db_password"].strip(),
        "deploy/compose/secrets/tls.key": planted["deploy/compose/secrets/tls.key"].splitlines()[1],
        ".git/config": planted[".git/config"],
    }
    for secret, value in values.items():
        holding = [name for name, data in context.items() if value.encode() in data]
        assert holding == [], f"the content of {secret} is in {holding}"


def test_without_the_dockerignore_the_same_checkout_would_leak(
    deployment: tuple[Path, dict[str, str]],
) -> None:
    """The attack as reported: the context before this .dockerignore held every secret."""
    root, planted = deployment
    (root / ".dockerignore").write_text("")
    context = build_context(root)
    assert set(planted) <= set(context)


def test_the_context_holds_what_the_image_is_built_from(
    deployment: tuple[Path, dict[str, str]],
) -> None:
    """Every COPY source is there, and every file of the package: the allow-list breaks no build."""
    root, _ = deployment
    context = build_context(root)
    dockerfile = (COMPOSE / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = [source for line in copies for source in line.split()]
    assert sources, "the Dockerfile copies nothing from the context"
    for source in sources:
        assert source in context or any(name.startswith(f"{source}/") for name in context), source
    package = [
        name
        for name in checkout_files()
        if name.split("/")[0] in PACKAGE and "__pycache__" not in name
    ]
    assert package and sorted(set(package) - set(context)) == []
    compose = (COMPOSE / "compose.yaml").read_text()
    assert "build: {context: ../.., dockerfile: deploy/compose/Dockerfile}" in compose


def test_the_image_installs_only_hash_locked_requirements() -> None:
    """Each pip install in the Dockerfile takes a hash-locked file, or nothing from an index."""
    dockerfile = (COMPOSE / "Dockerfile").read_text().replace("\\\n", " ")
    installs = re.findall(r"pip (?:install|wheel)[^&\n]*", dockerfile)
    assert len(installs) == 4
    for command in installs:
        locked = re.search(r"--require-hashes -r /src/(\S+)", command)
        if locked is None:
            assert "--no-index" in command, command
            continue
        lock = (REPO / locked.group(1)).read_text()
        pins = re.findall(r"^(\S+)==\S+ \\$", lock, flags=re.MULTILINE)
        assert pins and len(pins) == len(re.findall(r"^\S+==", lock, flags=re.MULTILINE))
        for block in re.split(r"\n(?=\S+==)", lock)[1:]:
            assert "--hash=sha256:" in block, block.splitlines()[0]
