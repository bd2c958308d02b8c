"""The ``[smtp]`` table of node.toml: checked like every setting, written back as it was read."""

from __future__ import annotations

from pathlib import Path

import pytest

from baliza.node.core.config import NodeConfig
from baliza.node.core.smtp import smtp_settings
from baliza.protocol.errors import UsageError
from baliza.protocol.ids import AgencyId


def config(tmp_path: Path, **smtp: object) -> NodeConfig:
    return NodeConfig(
        agency=AgencyId("es.aduanas.alg"), name="Aduanas", data_dir=tmp_path, smtp=smtp
    )


def test_a_relay_round_trips_through_node_toml(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    written = config(
        tmp_path, host="smtp.aduanas.example", port=587, **{"from": "baliza@aduanas.example"},
        username="baliza", password_file=str(secret), red_summaries=False,
    )  # fmt: skip
    written.save()
    assert "[smtp]" in (tmp_path / "node.toml").read_text()
    loaded = NodeConfig.load(tmp_path, environ={})
    relay = smtp_settings(loaded.smtp)
    assert relay is not None
    assert (relay.host, relay.port, relay.sender, relay.starttls) == (
        "smtp.aduanas.example",
        587,
        "baliza@aduanas.example",
        True,
    )
    assert relay.password() == "s3cret" and not relay.red_summaries
    assert smtp_settings(config(tmp_path).smtp) is None  # no table: no e-mail


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"host": "smtp.x", "from": "a@x.example", "port": 0}, "smtp.port"),
        ({"host": "smtp.x"}, "smtp.from"),
        ({"host": "smtp.x", "from": "a@x.example", "starttls": "yes"}, "smtp.starttls"),
        ({"host": "smtp.x", "from": "a@x.example", "username": "u"}, "smtp.password_file"),
        (
            {"host": "smtp.x", "from": "a@x.example", "password_file": "/nonexistent"},
            "smtp.password_file",
        ),
        ({"host": "smtp.x", "from": "a@x.example", "relay": "x"}, "smtp.relay"),
    ],
)
def test_a_bad_table_is_refused_naming_the_key(
    tmp_path: Path, table: dict[str, object], named: str
) -> None:
    with pytest.raises(UsageError) as refused:
        config(tmp_path, **table).check()
    assert named in refused.value.detail
