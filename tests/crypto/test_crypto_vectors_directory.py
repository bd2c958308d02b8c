"""protocol/vectors/directory.json: reproduced by its generator, and every decision holds.

The decisions are re-run here from the file's own bytes (documents, keys),
so a change in the trust rules that moves a reason code fails this test
even if nobody regenerates the file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from make_directory_vectors import OUT, render

from baliza.crypto import TrustedDirectory
from baliza.crypto.directory import directory_fingerprint
from baliza.crypto.keys import PublicKeys
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import KeyId

FILE: dict[str, Any] = json.loads(OUT.read_text(encoding="utf-8"))
DOCS = {name: bytes.fromhex(raw) for name, raw in FILE["documents"].items()}


def test_the_generator_reproduces_the_file() -> None:
    assert OUT.read_text(encoding="utf-8") == render()


def _trusting(name: str) -> TrustedDirectory:
    first = DOCS["v1"]
    node = TrustedDirectory.bootstrap(
        first, FILE["updates"][0]["now_ms"], fingerprint=FILE["fingerprints"]["v1"]
    )
    if name != "v1":
        node.update(DOCS[name], FILE["updates"][0]["now_ms"])
    return node


def _outcome(run: Any) -> tuple[str, str]:
    try:
        run()
    except BalizaError as err:
        return err.reason.value, err.path
    return "ok", ""


def test_fingerprints_are_of_the_documents() -> None:
    assert FILE["fingerprints"] == {n: directory_fingerprint(d) for n, d in DOCS.items()}


@pytest.mark.parametrize("case", FILE["updates"], ids=lambda c: f"{c['trusted']}<-{c['candidate']}")
def test_each_update_decides_as_listed(case: dict[str, Any]) -> None:
    node = _trusting(case["trusted"])
    got = _outcome(lambda: node.update(DOCS[case["candidate"]], case["now_ms"]))
    assert got == (case["expect"], case["path"])


@pytest.mark.parametrize("case", FILE["bootstraps"], ids=lambda c: f"{c['trusted']}~{c['pinned']}")
def test_each_bootstrap_decides_as_listed(case: dict[str, Any]) -> None:
    pinned = FILE["fingerprints"][case["pinned"]]
    got = _outcome(
        lambda: TrustedDirectory.bootstrap(
            DOCS[case["trusted"]], case["now_ms"], fingerprint=pinned
        )
    )
    assert got == (case["expect"], case["path"])


@pytest.mark.parametrize("case", FILE["lookups"], ids=lambda c: f"{c['trusted']}:{c['expect']}")
def test_each_key_lookup_decides_as_listed(case: dict[str, Any]) -> None:
    node = _trusting(case["trusted"])
    key = KeyId(bytes.fromhex(case["key_id"]))
    got = _outcome(
        lambda: node.check_key(case["agency"], key, case["created_ms"], now_ms=case["now_ms"])
    )
    assert got == (case["expect"], case["path"])


def test_lookup_key_ids_are_those_of_the_member_keys() -> None:
    for case in FILE["lookups"]:
        keys = PublicKeys.from_bytes(bytes.fromhex(FILE["member_keys"][case["key_of"]]))
        assert bytes(keys.signing_key_id).hex() == case["key_id"]


@pytest.mark.parametrize("case", FILE["public_keys"], ids=lambda c: c["name"])
def test_each_public_key_set_parses_as_listed(case: dict[str, Any]) -> None:
    got = _outcome(lambda: PublicKeys.from_bytes(bytes.fromhex(case["hex"])))
    assert got == (case["expect"], case["path"])
