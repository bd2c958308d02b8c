"""Reading ``deploy/compose/compose.yaml`` as Docker Compose does, and running its services here.

The build machine has no Docker. What compose itself does before it starts a
container can still be done: read ``.env``, interpolate ``${VAR}`` and
``${VAR:-default}``, validate the result against the Compose Specification's
JSON schema, work out which services a command starts and in what order
(``depends_on``, ``profiles``). ``Simulation`` then runs the node image's
services as local processes in that order, each with its own environment,
the container paths mapped onto folders of the test:

- a named volume (``data:/var/lib/baliza``) is a folder per volume;
- a secret (``/run/secrets/NAME``) is the file the top-level ``secrets`` names;
- the ``db`` service is the test PostgreSQL (a fresh database), the node's
  backend address is loopback and its port a free one;
- ``baliza`` is this checkout's command; the ``proxy`` (the nginx image) is
  not started: tests/deploy/test_proxy.py runs the same template.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.schema.json"
NODE_IMAGE = "baliza-node:"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$\$")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines as compose reads ``.env``: comments skipped, quotes removed."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``$$``, as compose resolves them."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, default = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        if operator == ":-" and not value:
            return default
        if operator == "-" and value is None:
            return default
        if operator in (":?", "?") and not value:
            raise AssertionError(f"compose would stop: {name} is required ({default})")
        if value is None:
            raise AssertionError(f"${{{name}}} is not set (compose would use an empty string)")
        return value

    return _VARIABLE.sub(one, text)


def load_compose(env: dict[str, str]) -> dict[str, Any]:
    """compose.yaml after interpolation, as the YAML document compose validates."""
    document: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), env))
    return document


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    return schema


def dependencies(document: dict[str, Any], service: str) -> dict[str, str]:
    """The services ``service`` waits for, each with its condition (``depends_on``)."""
    depends = document["services"][service].get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def start_order(document: dict[str, Any], targets: list[str]) -> list[str]:
    """Every service compose starts for ``targets``, dependencies first."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in order:
            return
        for dependency in dependencies(document, name):
            visit(dependency, (*path, name))
        order.append(name)

    for target in targets:
        visit(target, ())
    return order


def up_services(document: dict[str, Any]) -> list[str]:
    """What ``docker compose up`` starts: every service outside a profile."""
    return [name for name, spec in document["services"].items() if not spec.get("profiles")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Result:
    """One command the simulation ran."""

    service: str
    argv: list[str]
    code: int
    out: str
    err: str


@dataclass
class Simulation:
    """Runs the node image's services locally, in the order compose would."""

    work: Path  # the copy of deploy/compose the operator works in
    volumes: Path
    database_url: str
    port: int = field(default_factory=free_port)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)
    log: list[Result] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return load_compose(read_env_file(self.work / ".env"))

    # -- mapping a container onto this machine ---------------------------------

    def _mounts(self, spec: dict[str, Any], document: dict[str, Any]) -> dict[str, str]:
        mounts: dict[str, str] = {}
        for volume in spec.get("volumes", []):
            name, target = volume.split(":")[:2]
            assert name in document.get("volumes", {}), f"volume {name} is not declared"
            (self.volumes / name).mkdir(parents=True, exist_ok=True, mode=0o700)
            mounts[target] = str(self.volumes / name)
        for secret in spec.get("secrets", []):
            source = document["secrets"][secret]["file"]
            mounts[f"/run/secrets/{secret}"] = str((self.work / source).resolve())
        return mounts

    def _map(self, value: str, mounts: dict[str, str]) -> str:
        for target in sorted(mounts, key=len, reverse=True):
            if value == target or value.startswith(target + "/"):
                return mounts[target] + value[len(target) :]
        return value

    def _environment(self, spec: dict[str, Any], mounts: dict[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("BALIZA_", "PG"))}
        env = {key: self._map(str(value), mounts) for key, value in spec["environment"].items()}
        url = env.get("BALIZA_DATABASE_URL", "")
        if url:
            # The `db` service: here the test PostgreSQL.
            assert "@db:" in url or "@db/" in url, url
            env["BALIZA_DATABASE_URL"] = self.database_url
        env["BALIZA_HOST"] = "127.0.0.1"  # the backend address is loopback here
        env["BALIZA_PORT"] = str(self.port)
        return {**base, **env}

    def _argv(self, command: list[str], mounts: dict[str, str]) -> list[str]:
        argv = [self._map(part, mounts) for part in command]
        assert argv and argv[0] == "baliza", f"not the node image's command: {command}"
        return [sys.executable, "-m", "baliza.node.cli.main", *argv[1:]]

    def _is_node_image(self, spec: dict[str, Any]) -> bool:
        return str(spec.get("image", "")).startswith(NODE_IMAGE)

    # -- compose's commands ----------------------------------------------------

    def start(self, service: str, document: dict[str, Any], *, one_shot: bool) -> None:
        """Start one service: run it to completion, or leave it running."""
        spec = document["services"][service]
        if service == "db":
            return  # the test PostgreSQL: already answering
        if not self._is_node_image(spec):
            return  # the proxy: the nginx image, tested with the template elsewhere
        if service in self.running or service in self.completed:
            return
        mounts = self._mounts(spec, document)
        argv = self._argv(spec["command"], mounts)
        env = self._environment(spec, mounts)
        if one_shot:
            self._run(service, argv, env)
            self.completed.add(service)
            return
        process = subprocess.Popen(
            argv, env=env, cwd=self.volumes, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.running[service] = process
        self._wait_serving(service, process)

    def _run(self, service: str, argv: list[str], env: dict[str, str]) -> Result:
        done = subprocess.run(argv, env=env, cwd=self.volumes, capture_output=True, timeout=180)
        result = Result(service, argv, done.returncode, done.stdout.decode(), done.stderr.decode())
        self.log.append(result)
        return result

    def _wait_serving(self, service: str, process: subprocess.Popen[bytes]) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                _, err = process.communicate()
                raise AssertionError(f"{service} exited with {process.returncode}: {err.decode()}")
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"{service} did not serve within 60 s")

    def _dependency(self, name: str, document: dict[str, Any], closure: list[str]) -> None:
        """Start a dependency as its dependents wait for it: to completion, or running."""
        waited = {
            condition
            for dependent in closure
            for dependency, condition in dependencies(document, dependent).items()
            if dependency == name
        }
        one_shot = "service_completed_successfully" in waited
        ran = len(self.log)
        self.start(name, document, one_shot=one_shot)
        for result in self.log[ran:]:
            if result.code != 0:
                raise AssertionError(
                    f"`{name}` failed, so compose would not start what waits for it"
                    f" ({', '.join(closure[closure.index(name) + 1 :])}):"
                    f" {result.err or result.out}"
                )

    def bring_up(self, document: dict[str, Any], targets: list[str]) -> None:
        """Start ``targets`` and what they depend on, each dependency as its condition asks."""
        closure = start_order(document, targets)
        for name in closure:
            self._dependency(name, document, closure)

    def compose(self, line: str) -> Result | None:
        """One ``docker compose …`` line of the documentation."""
        words = shlex.split(line)
        assert words[:2] == ["docker", "compose"], line
        verb, rest = words[2], words[3:]
        document = self.document()
        if verb == "build":
            # No Docker: the Dockerfile and its context are checked by
            # test_image_context.py and this file's Dockerfile tests.
            return None
        if verb == "up":
            assert rest == ["-d"], line
            self.bring_up(document, up_services(document))
            return None
        if verb == "run":
            assert rest[0] == "--rm", line
            service, command = rest[1], rest[2:]
            spec = document["services"][service]
            closure = start_order(document, [service])
            for dependency in closure[:-1]:
                self._dependency(dependency, document, closure)
            mounts = self._mounts(spec, document)
            argv = self._argv(command or spec["command"], mounts)
            return self._run(service, argv, self._environment(spec, mounts))
        if verb == "exec":
            service, command = rest[0], rest[1:]
            assert service in self.running, f"{service} is not running: {line}"
            spec = document["services"][service]
            mounts = self._mounts(spec, document)
            return self._run(service, self._argv(command, mounts), self._environment(spec, mounts))
        if verb == "cp":
            source, target = rest
            service, inside = source.split(":", 1)
            spec = document["services"][service]
            found = Path(self._map(inside, self._mounts(spec, document)))
            assert found.is_dir(), f"{inside} is not a folder in a volume of {service}"
            shutil.copytree(found, self.work / target)
            return None
        raise AssertionError(f"the simulation does not know `docker compose {verb}`")

    def down(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        self.running.clear()
