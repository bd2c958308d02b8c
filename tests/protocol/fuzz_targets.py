"""One-input fuzz targets for every protocol decoder, and their seed inputs.

Each target takes arbitrary bytes and either returns or raises a
``BalizaError`` carrying a ``ReasonCode``; anything else (a ``KeyError``, a
``RecursionError``, a ``MemoryError``, msgpack's own exceptions) is a bug.
When a decoder accepts its input, the target also checks that the value
re-encodes to the very same bytes, since canonical form is what signatures
rest on.

The same functions serve the hypothesis tests (``test_protocol_fuzz.py``)
and the atheris harnesses in ``fuzz/`` (run by hand), so the harnesses
cannot rot: the tests run them over the committed vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

from baliza.protocol.canonical import decode, encode
from baliza.protocol.directory import (
    Directory,
    DirectorySignature,
    KeyRecord,
    Member,
    PublicKeysWire,
    SignedDirectory,
)
from baliza.protocol.envelope import Header, parse_envelope
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.federation import (
    EnvelopeResult,
    Outcome,
    decode_batch,
    decode_directory_chain,
    decode_outbox_page,
    decode_results,
    encode_batch,
    encode_directory_chain,
    encode_outbox_page,
    encode_results,
)
from baliza.protocol.ids import AgencyId, EnvelopeId, KeyId
from baliza.protocol.notices import (
    NOTICE_LIMITS,
    decode_notice,
    encode_notice,
    notice_from_json,
    notice_to_json,
)

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
Target = Callable[[bytes], None]


def refuses_cleanly(decoder: Target, data: bytes) -> None:
    """Run ``decoder``; a refusal must be a ``BalizaError`` with a listed reason code."""
    try:
        decoder(data)
    except BalizaError as err:
        if not isinstance(err.reason, ReasonCode):
            raise AssertionError(f"refusal without a reason code: {err!r}") from err


def canonical(data: bytes) -> None:
    """The canonical decoder, in the default and the notice profile."""
    for limits in (None, NOTICE_LIMITS):
        value = decode(data) if limits is None else decode(data, limits)
        assert encode(value) == data, "accepted bytes that do not re-encode to themselves"


def header(data: bytes) -> None:
    """An envelope header."""
    assert Header.from_bytes(data).to_bytes() == data


def envelope(data: bytes) -> None:
    """An envelope's shape: outer map, signed part, key entries, header."""
    parsed = parse_envelope(data)
    assert parsed.raw == data
    assert parsed.header.to_bytes() == parsed.header_bytes


def notice(data: bytes) -> None:
    """A notice plaintext, and its JSON form back to the same bytes."""
    value = decode_notice(data)
    assert encode_notice(value) == data
    assert encode_notice(notice_from_json(notice_to_json(value))) == data


def directory(data: bytes) -> None:
    """A signed directory and the directory inside it (shape only)."""
    signed = SignedDirectory.from_bytes(data)
    assert signed.to_bytes() == data
    inner = Directory.from_bytes(signed.signed)
    assert inner.to_bytes() == signed.signed


def federation(data: bytes) -> None:
    """Every node-to-node body: inbox batch and answer, outbox page, directory chain."""
    decoders: list[Target] = [
        lambda d: _ignore(decode_batch(d)),
        lambda d: _ignore(decode_results(d, 1)),
        lambda d: _ignore(decode_results(d, 3)),
        lambda d: _ignore(decode_outbox_page(d)),
        lambda d: _ignore(decode_directory_chain(d)),
    ]
    for decoder in decoders:
        refuses_cleanly(decoder, data)


def _ignore(_: object) -> None:
    return None


TARGETS: dict[str, Target] = {
    "canonical": canonical,
    "header": header,
    "envelope": envelope,
    "notice": notice,
    "directory": directory,
    "federation": federation,
}


def _hexes(name: str, field: str = "hex") -> list[bytes]:
    entries = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return [bytes.fromhex(e[field]) for e in entries]


def _envelopes() -> list[bytes]:
    data = json.loads((VECTORS / "envelopes.json").read_text(encoding="utf-8"))
    out = []
    for vector in data["envelopes"]:
        out.append(bytes.fromhex(vector["envelope"]))
        out += [bytes.fromhex(m["envelope"]) for m in vector["refused"]]
    return out


def _public_keys(suite: str = "classic-v1") -> list[bytes]:
    """The vector agencies' public key sets of one suite (one per agency)."""
    data = json.loads((VECTORS / "envelopes.json").read_text(encoding="utf-8"))
    return [bytes.fromhex(v["public_keys"]) for v in data["keys"].values() if v["suite"] == suite]


def _directory() -> bytes:
    """A small signed directory (shape only: the signature bytes are not real)."""
    keys = [PublicKeysWire(data=k) for k in _public_keys()[:3]]
    agencies = [_field(k, "agency") for k in keys]
    members = tuple(
        sorted(
            (
                Member(
                    agency=AgencyId(agency),
                    name=f"Agency {agency}",
                    country=agency[:2].upper(),
                    node_url=f"https://{agency}.example.org",
                    keys=(
                        KeyRecord(
                            keys=k,
                            valid_from_ms=_validity(k)[0],
                            valid_until_ms=_validity(k)[1],
                        ),
                    ),
                )
                for agency, k in zip(agencies, keys, strict=True)
            ),
            key=lambda m: m.agency,
        )
    )
    inner = Directory(
        federation="baliza-fuzz",
        version=3,
        issued_ms=1_767_225_600_000,
        expires_ms=1_767_225_600_000 + 30 * 86_400_000,
        threshold=1,
        administrators=tuple(sorted(keys[:1])),
        members=members,
    )
    entry = DirectorySignature(key_id=KeyId(bytes(16)), sigs={"ed25519": bytes(64)})
    return SignedDirectory(signed=inner.to_bytes(), signatures=(entry,)).to_bytes()


def _validity(keys: PublicKeysWire) -> tuple[int, int]:
    start, end = _field(keys, "valid_from_ms"), _field(keys, "valid_until_ms")
    return int(start), int(end)


def _field(keys: PublicKeysWire, name: str) -> str:
    value = decode(keys.data)
    assert isinstance(value, dict)
    return str(value[name])


def _federation() -> list[bytes]:
    envelopes = _envelopes()[:2]
    eid = EnvelopeId("019b76da-a801-7000-8000-000000000001")
    return [
        encode_batch(envelopes),
        encode_results(
            [
                EnvelopeResult(index=0, id=eid, outcome=Outcome.ACCEPTED),
                EnvelopeResult(index=1, id=None, outcome=Outcome.REFUSED, reason="bad_signature"),
            ]
        ),
        encode_outbox_page([(7, envelopes[0])], 7),
        encode_outbox_page([], 0),
        encode_directory_chain([_directory()]),
    ]


@cache
def seeds(name: str) -> tuple[bytes, ...]:
    """Valid (and some refused) inputs of target ``name``, from the committed vectors."""
    notices = _hexes("notices.json") + _hexes("notices-refused.json")
    chosen: dict[str, list[bytes]] = {
        "canonical": _hexes("canonical.json") + notices[:3],
        "header": _hexes("headers.json"),
        "envelope": _envelopes(),
        "notice": notices,
        "directory": [_directory()],
        "federation": _federation(),
    }
    return tuple(chosen[name])
