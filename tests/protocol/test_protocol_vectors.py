"""The committed test vectors: each one holds, and they equal the generator's output."""

from __future__ import annotations

import json
from typing import Any

import make_vectors
import pytest

from baliza.protocol.canonical import decode, encode
from baliza.protocol.data_versions import DATA_VERSIONS, installed_data_versions
from baliza.protocol.envelope import Header
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import decode_notice, encode_notice, notice_to_json

VECTORS = make_vectors.VECTORS


def load(name: str) -> list[dict[str, Any]]:
    data = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    assert isinstance(data, list) and data
    return data


def ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in vectors]


CANONICAL = load("canonical.json")
NOTICES = load("notices.json") + load("notices-refused.json")
HEADERS = load("headers.json")


def check_refusal(vector: dict[str, Any], decoder: Any) -> None:
    with pytest.raises(InputError) as info:
        decoder(bytes.fromhex(vector["hex"]))
    assert info.value.reason is ReasonCode(vector["expect"])
    assert info.value.path == vector["path"]


@pytest.mark.parametrize("vector", CANONICAL, ids=ids(CANONICAL))
def test_canonical_vector(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    if vector["expect"] != "ok":
        check_refusal(vector, decode)
        return
    value = decode(data)
    assert make_vectors.tagged(value) == vector["meaning"]
    assert encode(value) == data


@pytest.mark.parametrize("vector", NOTICES, ids=ids(NOTICES))
def test_notice_vector(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    if vector["expect"] != "ok":
        check_refusal(vector, decode_notice)
        return
    notice = decode_notice(data)
    assert notice_to_json(notice) == vector["meaning"]
    assert encode_notice(notice) == data


@pytest.mark.parametrize("vector", HEADERS, ids=ids(HEADERS))
def test_header_vector(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    if vector["expect"] != "ok":
        check_refusal(vector, Header.from_bytes)
        return
    header = Header.from_bytes(data)
    assert make_vectors.tagged(decode(data)) == vector["meaning"]
    assert header.to_bytes() == data


def test_installed_code_lists_are_the_releases_the_spec_names() -> None:
    # A new pycountry, airportsdata or python-stdnum can change which codes are
    # valid: moving to one is a reviewed change of DATA_VERSIONS, chapter 03 and
    # the vectors, never a side effect of an upgrade.
    assert installed_data_versions() == DATA_VERSIONS
    recorded = json.loads((VECTORS / "data-versions.json").read_text(encoding="utf-8"))
    assert recorded["versions"] == DATA_VERSIONS


def test_vectors_cover_ok_and_refusals() -> None:
    assert {v["expect"] for v in load("notices.json")} == {"ok"}
    refused = {v["expect"] for v in load("notices-refused.json")}
    assert "ok" not in refused
    assert {"unknown_version", "bad_container", "bad_imo", "bad_locode"} <= refused
    assert len({v["expect"] for v in CANONICAL}) >= 8


def test_committed_files_equal_the_generator_output() -> None:
    # Other files in the folder (envelope vectors) belong to other generators.
    rendered = make_vectors.render()
    for name, text in rendered.items():
        assert (VECTORS / name).read_text(encoding="utf-8") == text, f"regenerate {name}"
