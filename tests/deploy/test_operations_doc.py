"""docs/operations.md, run: every ``sh`` block, in order, as one operator's shell session.

The guide once told operators to install without the lock, to read
``/dev/stdin`` as another user, and to run a compose ``init`` that could not
start; nobody had run its commands. This test runs them. The blocks run in
the order of the document, in a temporary folder ``$WORK`` holding a copy of
the repository (the starting directory), each in its own ``bash -e`` whose
environment, directory and umask carry over to the next, after the
replacements the document declares (its ``doc-test substitutions`` comment,
and a block's own ``run-with`` markers). ``baliza`` is the one the guide's
locked install put in ``$WORK/venv``; ``baliza serve`` runs in the background
until the end of the test.

A block runs unless a ``<!-- not-run: REASON -->`` marker stands before it;
every such block is also listed here in ``NOT_RUN``, so that a block is
skipped only when both the guide and this test say why. A block with
``<!-- exits: N: FAIL a, b (…) -->`` must exit with N, and the ``FAIL``
lines of its ``doctor`` must be exactly those checks.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from compose_support import free_port
from conftest import FreshDatabases
from doc_blocks import OPERATIONS, Block, command_blocks, parse_substitution, substitutions
from test_image_context import checkout_files

from baliza.node.cli.schema import code_heads

REPO = Path(__file__).resolve().parents[2]
REQUIRE_DEPLOY_ENV = "BALIZA_REQUIRE_DEPLOY"

#: The blocks that do not run here, by their first command, and the gist of why.
NOT_RUN = {
    "pip-compile --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url"
    " --no-emit-find-links --output-file requirements.lock pyproject.toml": "registry",
    "pip-compile --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url"
    " --no-emit-find-links --build-deps-for=wheel --only-build-deps --output-file"
    " requirements-build.lock pyproject.toml": "registry",
    "apt-get install python3 python3-venv nginx-light gettext-base": "root",
    "cd /opt/baliza/src/deploy/systemd": "systemd",
    "install -m 0644 /opt/baliza/src/deploy/compose/nginx/agency-networks.conf"
    " /etc/nginx/baliza-agency-networks.conf": "nginx",
    "sudo -u baliza /opt/baliza/venv/bin/baliza doctor --data-dir /var/lib/baliza"
    " --passphrase-file /dev/stdin < /etc/baliza/passphrase": "systemd",
    "cd deploy/compose": "Docker",
    "docker compose exec node baliza backup --out /var/lib/baliza-backups --keep 14": "Docker",
    "baliza channel create ccp.pacific-europe --kind programme --programme ccp --name"
    ' "Container programme, Pacific to Europe" --member co.polfa.ctg --member pa.senan.pty'
    " --member es.aduanas.alg": "federation",
    "baliza channel create jit.co-es-2026-07 --kind jit --programme jit --name"
    ' "JIT Colombia-Spain 2026/07" --owner co.polfa.ctg --owner es.aduanas.alg --threshold 2'
    " --member es.gc.mad --proposal-out jit-v1.bin": "federation",
    "baliza channel members jit.co-es-2026-07 --remove es.gc.mad --proposal-out jit-v2.bin": (
        "federation"
    ),
    'baliza channel join ccp.pacific-europe --owner ec.polnac.gye --note "Madrid airport unit"': (
        "federation"
    ),
    "baliza channel alarm jit.co-es-2026-07 keep": "federation",
    "baliza restore --data-dir /var/lib/baliza-restored --database-url"
    " postgresql://baliza@db/baliza_new"
    " /var/lib/baliza-backups/baliza-backup-co.polfa.ctg-20261201T023000Z": "PostgreSQL",
    "baliza subscriptions request ec.polnac.gye --programme ccp --category cocaine --country EC"
    ' --place ESALG --note "CCP Algeciras desk" --token "$ADMIN"': "partner",
    'baliza subscriptions list --token "$ADMIN"': "partner",
    'baliza share ID --to co.polfa.ctg --note "for the Cartagena investigation"': "partner",
    "baliza permissions list": "partner",
    "baliza notice template seizure > seizure.json": "federation",
    "baliza import alerts semana49.csv --to es.aduanas.alg --publish": "federation",
    "baliza import stix from-misp.json -o drafts/": "bundle",
    'baliza outcome ALERT_ID seizure SEIZURE_ID --text "412 kg behind the doors"': "alert",
    "baliza publish seizure.json --to co.polfa.ctg --attach doors.jpg --attach xray.png"
    " --attach report.pdf": "federation",
}

#: Sourced by every block: the `baliza` of the session, serve in the background.
PRELUDE = r"""
curl() { command curl --fail --silent --show-error "$@"; }

baliza() {
    if [ "${1:-}" = serve ]; then
        local log="$WORK/serve-$(date +%s%N).log"
        command baliza "$@" > "$log" 2>&1 &
        local pid=$!
        echo "$pid" >> "$WORK/pids"
        for _ in $(seq 600); do
            grep -q "listening on" "$log" && { cat "$log"; return 0; }
            kill -0 "$pid" 2> /dev/null || { cat "$log" >&2; return 1; }
            sleep 0.1
        done
        echo "baliza serve did not start within 60 s" >&2
        return 1
    elif [ "${1:-}" = tokens ] && [ "${2:-}" = create ]; then
        local out
        out=$(command baliza "$@") || return $?
        printf '%s\n' "$out"
        printf '%s\n' "$out" | grep '^bz_' >> "$WORK/tokens"
    else
        command baliza "$@"
    fi
}
"""

#: Saves what the next block inherits, whether this one succeeded or not.
SAVE_STATE = r"""
save_state() {
    { export -p | grep -v -E '^declare -x (OLDPWD|PWD|SHLVL|_)='
      printf 'cd %q\n' "$PWD"
      printf 'umask %s\n' "$(umask)"; } > "$WORK/state.sh"
}
trap save_state EXIT
"""


def deploy_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    reason = f"{name} not installed (.ci/deploy-checks.sh installs it)"
    if os.environ.get(REQUIRE_DEPLOY_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_DEPLOY_ENV}=1 requires it")
    pytest.skip(reason)


def apply(block: Block) -> str:
    text = block.text
    for marker in block.markers.get("run-with", []):
        old, new = parse_substitution(marker)
        assert old in text, f"line {block.line}: run-with {old!r} is not in the block"
        text = text.replace(old, new)
    for old, new in substitutions():
        text = text.replace(old, new)
    return text


def first_command(block: Block) -> str:
    return block.commands()[0]


def test_every_block_that_does_not_run_is_listed_with_its_reason() -> None:
    skipped = {first_command(b): b.not_run for b in command_blocks() if b.not_run}
    assert set(skipped) == set(NOT_RUN), (
        f"marked in the guide only: {sorted(set(skipped) - set(NOT_RUN))};"
        f" listed here only: {sorted(set(NOT_RUN) - set(skipped))}"
    )
    for command, reason in skipped.items():
        assert NOT_RUN[command].lower() in reason.lower(), (command, reason)
    runnable = [b for b in command_blocks() if not b.not_run]
    assert len(runnable) >= 12, [b.line for b in runnable]


def test_every_substitution_and_marker_applies() -> None:
    used = {old for old, _ in substitutions() if any(old in b.text for b in command_blocks())}
    assert used == {old for old, _ in substitutions()}, "a declared substitution matches nothing"
    for block in command_blocks():
        assert set(block.markers) <= {"not-run", "run-with", "exits"}, block.line
        if block.not_run:
            assert set(block.markers) == {"not-run"}, f"line {block.line}: skipped yet marked"


def test_the_samples_name_the_codes_schema_head() -> None:
    """The doctor and upgrade samples once named 0012 long after the head moved on."""
    head = code_heads()[-1]
    text = " ".join(OPERATIONS.read_text().split())  # a sample may wrap
    assert f"schema: at {head}, the code's head" in text
    assert f"database already at {head}, the code's head" in text
    migrated = re.findall(r"database migrated from (\d{4}) to (\d{4})", text)
    assert migrated and all(int(b) == int(a) + 1 and b == head for a, b in migrated), migrated


def failed_checks(output: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^FAIL\s+([\w-]+)", output, re.M)]


def run_block(block: Block, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "\n".join(
        [
            "set -e -o pipefail",
            f". {shlex.quote(str(work / 'state.sh'))}",
            PRELUDE,
            SAVE_STATE,
            apply(block),
        ]
    )
    return subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def stop_servers(work: Path) -> None:
    pids = work / "pids"
    if not pids.exists():
        return
    for line in pids.read_text().split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line), signal.SIGTERM)


@pytest.mark.timeout(1200)
async def test_the_operations_guide_runs(tmp_path: Path, fresh_databases: FreshDatabases) -> None:
    deploy_tool("promtool")
    pg_url = await fresh_databases.url("postgresql")
    work = tmp_path / "work"
    src = work / "src"
    for name in checkout_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BALIZA_", "VIRTUAL_ENV", "PG")) and k != "PYTHONPATH"
    }
    # The shell starts as an operator's: no project venv on PATH.
    path = [p for p in base.get("PATH", "").split(":") if ".venv" not in p]
    env = {
        **base,
        "PATH": ":".join(path),
        "WORK": str(work),
        "PORT": str(free_port()),
        "PORT2": str(free_port()),
        "PG_URL": pg_url,
        "EDITOR": "true",
        # The example federation's three ports: free ones, not 8471-8473.
        "BALIZA_EXAMPLE_PORT": str(free_port()),
    }
    (work / "state.sh").write_text(f"cd {shlex.quote(str(src))}\n")
    ran = []
    try:
        for block in command_blocks():
            if block.not_run:
                continue
            done = run_block(block, work, env)
            where = f"docs/operations.md:{block.line} ({block.section})"
            report = f"{where}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            exits = block.markers.get("exits", [])
            if exits:
                code, _, expected = exits[0].partition(":")
                assert done.returncode == int(code), report
                named = re.search(r"FAIL ([\w, -]+?) \(", expected)
                assert named, f"{where}: name the failing checks"
                wanted = [name.strip() for name in named.group(1).split(",")]
                assert failed_checks(done.stdout) == wanted, report
            else:
                assert done.returncode == 0, report
            ran.append(block.line)
            with (tmp_path / "transcript.txt").open("a") as transcript:
                transcript.write(f"{report}\n--- exit {done.returncode}\n\n")
    finally:
        stop_servers(work)
    assert len(ran) >= 12, ran
