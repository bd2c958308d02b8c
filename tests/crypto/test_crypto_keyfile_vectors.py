"""protocol/vectors/key-files.json: reproduced by its generator, and each file unlocks as listed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from make_keyfile_vectors import OUT, render

from baliza.crypto import keystore
from baliza.protocol.errors import BalizaError

FILE: dict[str, Any] = json.loads(OUT.read_text(encoding="utf-8"))


def test_the_generator_reproduces_the_file() -> None:
    assert OUT.read_text(encoding="utf-8") == render()


@pytest.mark.parametrize("case", FILE["cases"], ids=lambda c: c["name"])
def test_each_key_file_unlocks_as_listed(case: dict[str, Any]) -> None:
    data, passphrase = bytes.fromhex(case["file"]), bytes.fromhex(case["passphrase"])
    if case["expect"] == "ok":
        assert keystore.unlock(data, passphrase).hex() == case["secret"]
        return
    with pytest.raises(BalizaError) as refused:
        keystore.unlock(data, passphrase)
    assert (refused.value.reason.value, refused.value.path) == (case["expect"], case["path"])
