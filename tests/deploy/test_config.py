"""node.toml: written by init, overridden by BALIZA_*, every problem refused by name.

Each refusal names the key (or the environment variable), says what is wrong
and gives a value that would be accepted; several problems are reported at
once. node.json from before TOML is still read and ``config migrate`` turns it
into TOML. Every key is documented with its default in docs/operations.md.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
from proxy_support import REPO

from baliza.node.cli.main import main
from baliza.node.core.config import DEFAULTS, INT_RANGES, NodeConfig
from baliza.protocol.errors import UsageError
from baliza.protocol.ids import AgencyId

BASE = {"agency": "co.polfa.ctg", "name": "POLFA Cartagena"}


def write(folder: Path, settings: Mapping[str, object], extra_text: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # json.dumps writes valid TOML for strings, integers and booleans.
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (folder / "node.toml").write_text("\n".join(lines) + "\n" + extra_text)
    return folder


def refusal(folder: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        NodeConfig.load(folder, environ={} if environ is None else environ)
    assert caught.value.reason == "bad_config"
    return caught.value.detail


def test_init_writes_toml_that_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BALIZA_PASSPHRASE", "correct horse battery")
    folder = tmp_path / "node"
    assert main(["init", "--data-dir", str(folder), "--agency", "co.polfa.ctg", "--port", "0"]) == 0
    settings = tomllib.loads((folder / "node.toml").read_text())
    assert settings["agency"] == "co.polfa.ctg" and settings["port"] == 0
    assert not (folder / "node.json").exists()
    config = NodeConfig.load(folder, environ={})
    assert config.settings() == {**DEFAULTS, **settings}


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    folder = write(tmp_path, {**BASE, "port": 8470})
    env = {"BALIZA_PORT": "9001", "BALIZA_LOG_FORMAT": "json", "BALIZA_PASSPHRASE": "not a key"}
    config = NodeConfig.load(folder, environ=env)
    assert config.port == 9001 and config.log_format == "json"
    assert NodeConfig.load(folder, environ={}).port == 8470


@pytest.mark.parametrize(
    ("settings", "key", "accepted"),
    [
        ({"colour": "blue"}, "colour", "known:"),
        ({"agency": "Colombia"}, "agency", 'agency = "co.polfa.ctg"'),
        ({"agency": "zz.nowhere"}, "agency", 'agency = "co.polfa.ctg"'),
        ({"name": 7}, "name", 'name = "POLFA Cartagena"'),
        ({"host": 127}, "host", 'host = "127.0.0.1"'),
        ({"public_url": "baliza.polfa.example"}, "public_url", "public_url = "),
        ({"database_url": "mysql://db/baliza"}, "database_url", "database_url = "),
        ({"tls_ca_file": "/nonexistent/ca.pem"}, "tls_ca_file", "tls_ca_file = "),
        ({"log_format": "xml"}, "log_format", 'log_format = "json"'),
        *(({key: hi + 1}, key, f"{key} = {DEFAULTS[key]}") for key, (_, hi) in INT_RANGES.items()),
        *(({key: lo - 1}, key, f"{key} = {DEFAULTS[key]}") for key, (lo, _) in INT_RANGES.items()),
        ({"port": "8470"}, "port", "port = 8470"),
        ({"batch_size": True}, "batch_size", "batch_size = 100"),
    ],
)
def test_each_bad_setting_is_refused_by_name(
    tmp_path: Path, settings: dict[str, object], key: str, accepted: str
) -> None:
    detail = refusal(write(tmp_path, {**BASE, **settings}))
    assert detail.split(": ", 1)[1].startswith(f"{key}:"), detail
    assert accepted in detail, detail


def test_a_missing_identity_is_refused(tmp_path: Path) -> None:
    detail = refusal(write(tmp_path, {"port": 8470}))
    assert "agency: missing (e.g. agency = " in detail and "name: missing" in detail


def test_extra_must_be_a_table_of_strings(tmp_path: Path) -> None:
    assert "extra: must be a table" in refusal(write(tmp_path, BASE, "\n[extra]\nsite = 3\n"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    detail = refusal(write(tmp_path, {**BASE, "port": -1, "batch_size": 500, "log_format": "x"}))
    assert "3 problems" in detail
    for key in ("port", "batch_size", "log_format"):
        assert f"{key}:" in detail


def test_bad_environment_values_name_the_variable(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    detail = refusal(folder, {"BALIZA_PORT": "eighty"})
    assert "BALIZA_PORT: 'eighty' is not an integer (e.g. BALIZA_PORT=8470)" in detail
    detail = refusal(folder, {"BALIZA_BATCH_SIZE": "500"})
    assert "batch_size (set by BALIZA_BATCH_SIZE): must be an integer in [1, 100]" in detail


def test_a_file_that_is_not_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "node.toml").write_text('agency = "co.polfa.ctg"\nport = \n')
    assert "line 2" in refusal(tmp_path)


def test_the_command_line_shows_one_line_per_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write(tmp_path / "node", {**BASE, "port": 70000})
    assert main(["config", "check", "--data-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[bad_config]" in err and "port: must be" in err
    assert main(["serve", "--data-dir", str(folder)]) == 1
    assert "port: must be" in capsys.readouterr().err


def test_node_json_is_read_and_migrates_to_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    old = {**BASE, "data_dir": str(folder), "port": 8999, "extra": {"site": "north"}}
    (folder / "node.json").write_text(json.dumps(old))
    before = NodeConfig.load(folder, environ={})
    assert before.port == 8999 and before.agency == AgencyId("co.polfa.ctg")
    assert main(["config", "migrate", "--data-dir", str(folder)]) == 0
    assert (folder / "node.toml").exists() and (folder / "node.json.migrated").exists()
    assert not (folder / "node.json").exists()
    assert NodeConfig.load(folder, environ={}) == before
    capsys.readouterr()
    assert main(["config", "migrate", "--data-dir", str(folder)]) == 1
    assert "[conflict]" in capsys.readouterr().err


def test_every_key_is_documented_with_its_default() -> None:
    docs = (REPO / "docs" / "operations.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]*) \|", docs, re.MULTILINE))
    for key, default in DEFAULTS.items():
        assert key in rows, f"{key} is not in the settings table of docs/operations.md"
        if default not in (None, "", {}):
            assert str(default) in rows[key].replace(",", ""), (key, rows[key])
