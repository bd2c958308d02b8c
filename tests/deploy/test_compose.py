"""``deploy/compose``: the file Compose would accept, and its services run in Compose's order.

``docker compose run --rm node baliza init`` once started ``node``'s
dependency ``migrate`` first, which stopped with ``node.toml not found``, so
the documented set-up could not run. No Docker here; instead (see
compose_support.py): compose.yaml, interpolated from ``.env.example`` as
compose does, is validated against the Compose Specification's JSON schema;
the services a command starts are worked out from ``depends_on`` and
``profiles``; and the lines of docs/operations.md's compose section are run,
each service as a local process in compose's order against the test
PostgreSQL, up to a backup that ``pg_dump`` wrote. The image's tools are read
from its Dockerfile: ``pg_dump`` of the database image's major release.
"""

from __future__ import annotations

import asyncio
import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from compose_support import (
    COMPOSE_DIR,
    REPO,
    Result,
    Simulation,
    load_compose,
    load_schema,
    read_env_file,
    start_order,
    up_services,
)
from conftest import FreshDatabases
from doc_blocks import command_blocks
from jsonschema import Draft7Validator

DOCKERFILE = COMPOSE_DIR / "Dockerfile"
SECTION = "Running with Docker Compose"
#: Lines of the compose section that need what a build machine lacks.
NOT_HERE = {
    "cp /path/to/tls.crt /path/to/tls.key secrets/": "the agency's certificate; the proxy is"
    " tested with the same template in test_proxy.py",
    "sudo chown 10001 secrets/baliza_passphrase secrets/pgpass": "the image's user; here the"
    " services run as the test's user",
}


def example() -> dict[str, Any]:
    return load_compose(read_env_file(COMPOSE_DIR / ".env.example"))


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = Draft7Validator(load_schema())
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    assert schema_errors(example()) == []


def test_the_schema_check_refuses_what_compose_refuses() -> None:
    """The check can fail: a misspelt key and a wrong condition are caught."""
    misspelt = copy.deepcopy(example())
    misspelt["services"]["node"]["depend_on"] = misspelt["services"]["node"].pop("depends_on")
    assert any("depend_on" in error for error in schema_errors(misspelt))
    wrong = copy.deepcopy(example())
    wrong["services"]["migrate"]["depends_on"]["db"]["condition"] = "service_done"
    assert schema_errors(wrong) != []


def test_init_waits_for_the_database_only_and_up_never_runs_it() -> None:
    document = example()
    # `run --rm init` starts the database, and nothing that needs node.toml.
    assert start_order(document, ["init"]) == ["db", "init"]
    assert "init" not in up_services(document)
    for service in up_services(document):
        assert "init" not in start_order(document, [service]), service
    # What the old instructions did: through `node`, migrate runs first.
    assert start_order(document, ["node"]) == ["db", "migrate", "node"]


def test_init_uses_the_same_data_database_and_secrets_as_the_node() -> None:
    services = example()["services"]
    for key in ("environment", "volumes", "image"):
        assert services["init"][key] == services["migrate"][key], key
    assert services["init"]["environment"] == services["node"]["environment"]
    assert set(services["init"]["secrets"]) == {"pgpass", "baliza_passphrase"}


def runtime_stage() -> str:
    text = DOCKERFILE.read_text()
    return text[text.rindex("\nFROM ") :]


def test_the_image_carries_pg_dump_of_the_database_images_release() -> None:
    stage = runtime_stage()
    installed = re.findall(r"apt-get install[^&\n]*?((?:\s+[a-z0-9.+-]+)+)", stage)
    packages = " ".join(installed).split()
    client = [p for p in packages if p.startswith("postgresql-client")]
    assert client, f"the node image installs no PostgreSQL client: {packages}"
    client_major = re.fullmatch(r"postgresql-client-(\d+)", client[0])
    assert client_major, f"name the client's major release: {client[0]}"
    db_image = example()["services"]["db"]["image"]
    match = re.fullmatch(r"postgres:(\d+)(?:\.\d+)*-(\w+)", db_image)
    assert match, db_image
    # pg_dump refuses a server of a newer major release than itself.
    assert int(client_major.group(1)) >= int(match.group(1)), (client[0], db_image)
    # Debian 12 (bookworm) ships postgresql-client-15; the base image is that release.
    base = re.search(r"^FROM python:[\d.]+-slim-(\w+)", stage, re.M)
    assert base and base.group(1) == "bookworm" and client[0] == "postgresql-client-15"
    assert "--no-install-recommends" in stage and "rm -rf /var/lib/apt/lists" in stage


def test_the_backup_volume_is_a_folder_of_the_node_user() -> None:
    node = example()["services"]["node"]
    targets = [volume.split(":")[1] for volume in node["volumes"]]
    assert "/var/lib/baliza-backups" in targets
    assert re.search(
        r"install -d -o baliza -g baliza -m 0700 [^\n]*/var/lib/baliza-backups", runtime_stage()
    )


def run_lines(simulation: Simulation, lines: list[str]) -> dict[str, Result | None]:
    """The section's lines in order: compose's through the simulation, the others by the shell."""
    results: dict[str, Result | None] = {}
    try:
        for line in lines:
            if line.startswith("docker compose"):
                results[line] = simulation.compose(line)
            elif line.startswith("cd "):
                simulation.work = simulation.work / line.split()[1]
            elif line not in NOT_HERE:
                subprocess.run(line, shell=True, cwd=simulation.work, check=True)
    finally:
        simulation.down()
    return results


@pytest.mark.timeout(300)
async def test_the_documented_compose_steps_run_in_compose_order(
    tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    database = await fresh_databases.url("postgresql")
    assert shutil.which("pg_dump"), "pg_dump (postgresql-client) is needed for the backup"
    section = [block for block in command_blocks() if block.section == SECTION]
    assert len(section) == 2, [block.line for block in section]
    checkout = tmp_path / "checkout"
    shutil.copytree(COMPOSE_DIR, checkout / "deploy" / "compose")
    simulation = Simulation(work=checkout, volumes=tmp_path / "volumes", database_url=database)
    lines = section[0].commands() + section[1].commands()
    results = await asyncio.to_thread(run_lines, simulation, lines)

    init = results["docker compose run --rm init"]
    assert init is not None and init.code == 0, init
    assert "Created node co.polfa.ctg" in init.out
    # `migrate` ran at `up` (the schema `init` created: nothing to migrate), then the node.
    migrate = [result for result in simulation.log if result.service == "migrate"]
    assert len(migrate) == 1 and migrate[0].code == 0, migrate
    assert "nothing to migrate" in migrate[0].out
    data = simulation.volumes / "data"
    assert (data / "node.toml").is_file() and (data / "keys.enc").is_file()
    assert not (data / "baliza.db").exists(), "init created the schema in SQLite, not PostgreSQL"
    assert "POLFA Cartagena" in (data / "public.json").read_text()

    doctor = results[
        "docker compose exec node baliza doctor --passphrase-file /run/secrets/baliza_passphrase"
    ]
    assert doctor is not None
    lines = doctor.out.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    # As the guide says: only the directory fails until the federation's is applied.
    assert [line.split(":")[0] for line in failed] == ["FAIL  directory"], doctor.out
    assert any(line.startswith("ok    node: serving") for line in lines), doctor.out
    assert any(line.startswith("ok    database: postgresql") for line in lines), doctor.out

    backup = results[
        "docker compose exec node baliza backup --out /var/lib/baliza-backups --keep 14"
    ]
    assert backup is not None and backup.code == 0, backup
    copied = list((simulation.work / "backups").glob("baliza-backup-co.polfa.ctg-*"))
    assert len(copied) == 1, copied
    dump = copied[0] / "database.pgdump"
    listed = await asyncio.to_thread(
        subprocess.run, ["pg_restore", "--list", str(dump)], capture_output=True, text=True
    )
    assert listed.returncode == 0 and "TABLE public notices" in listed.stdout, listed.stderr


def test_the_old_init_line_fails_as_reported(tmp_path: Path) -> None:
    """Through `node`, compose runs `migrate` first: the simulation sees that failure."""
    checkout = tmp_path / "compose"
    shutil.copytree(COMPOSE_DIR, checkout)
    shutil.copy2(checkout / ".env.example", checkout / ".env")
    subprocess.run(["sh", str(checkout / "secrets" / "make-secrets.sh")], check=True)
    simulation = Simulation(
        work=checkout, volumes=tmp_path / "volumes", database_url="sqlite+aiosqlite:///unused"
    )
    with pytest.raises(AssertionError, match=r"`migrate` failed.*node\.toml"):
        simulation.compose(
            "docker compose run --rm node baliza init --agency co.polfa.ctg"
            " --passphrase-file /run/secrets/baliza_passphrase"
        )
    assert REPO.is_dir()
