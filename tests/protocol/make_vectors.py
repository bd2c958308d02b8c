"""Generate protocol/vectors/*.json, the test vectors of the spec.

Run ``.venv/bin/python tests/protocol/make_vectors.py`` after changing the
encoding or the notices; test_protocol_vectors.py fails until the committed
files equal this script's output. The output is deterministic: fixed inputs,
sorted keys, no clock, no randomness.

Each entry is ``{"name", "hex", "expect", "path"?, "meaning"?}``: ``expect``
is ``"ok"`` or the reason code of the refusal, ``path`` the field at fault,
``meaning`` (for ``ok``) the decoded value in JSON form. In canonical.json a
byte string is written ``{"$bin": "<hex>"}`` since plain JSON has no bytes;
in the notice files the meaning is the notice's JSON form (bytes as hex).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from notice_examples import (  # noqa: E402
    ALERT,
    CASE,
    CORRECTION,
    EXAMPLES,
    RECEIPT,
    SEIZURE,
    T0,
    eid,
)

from baliza.protocol.canonical import Value, decode, encode  # noqa: E402
from baliza.protocol.data_versions import DATA_VERSIONS  # noqa: E402
from baliza.protocol.envelope import Header, MessageKind  # noqa: E402
from baliza.protocol.errors import InputError  # noqa: E402
from baliza.protocol.handling import Handling, HandlingCode, Tlp  # noqa: E402
from baliza.protocol.ids import AgencyId, KeyId  # noqa: E402
from baliza.protocol.notices import decode_notice, notice_to_json  # noqa: E402

VECTORS = HERE.parents[1] / "protocol" / "vectors"


def tagged(value: Value) -> object:
    """JSON form of a generic value, bytes tagged as ``{"$bin": hex}``."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, dict):
        return {k: tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tagged(v) for v in value]
    return value


def entry(name: str, data: bytes, decoder: Callable[[bytes], object]) -> dict[str, Any]:
    """Run the real decoder on ``data`` and record what it says."""
    out: dict[str, Any] = {"name": name, "hex": data.hex()}
    try:
        result = decoder(data)
    except InputError as err:
        out["expect"] = err.reason.value
        out["path"] = err.path
        return out
    out["expect"] = "ok"
    out["meaning"] = result
    return out


def canonical_decoder(data: bytes) -> object:
    return tagged(decode(data))


def notice_decoder(data: bytes) -> object:
    return notice_to_json(decode_notice(data))


def canonical_vectors() -> list[dict[str, Any]]:
    deep: Value = 0
    for _ in range(13):
        deep = [deep]
    cases: list[tuple[str, bytes]] = [
        ("positive fixint", encode(5)),
        ("uint8", encode(200)),
        ("uint64 max", encode(2**64 - 1)),
        ("negative fixint", encode(-1)),
        ("int64 min", encode(-(2**63))),
        ("booleans", encode([True, False])),
        ("empty string", encode("")),
        ("nfc string", encode("Bogotá")),
        ("bin", encode(b"\x00\xff")),
        ("sorted map", encode({"b": 1, "a": [1, "x", b"y"]})),
        ("nested map", encode({"outer": {"inner": 1}})),
        ("overlong uint8", b"\xcc\x05"),
        ("overlong int16", b"\xd1\x00\x01"),
        ("overlong str8", b"\xd9\x01a"),
        ("overlong str8, empty", b"\xd9\x00"),
        ("unsorted keys", b"\x82\xa1b\x01\xa1a\x02"),
        ("duplicate keys", b"\x81\xa1x\x82\xa1a\x01\xa1a\x02"),
        ("trailing bytes", b"\x01\x02"),
        ("float64", msgpack.packb({"q": 1.5})),
        ("float32", msgpack.packb([1.0], use_single_float=True)),
        ("nil", msgpack.packb({"a": None})),
        ("non-nfc string", msgpack.packb({"city": "Bogota\u0301"})),
        ("ext type", msgpack.packb(msgpack.ExtType(1, b"x"))),
        ("bytes map key", msgpack.packb({b"k": 1}, use_bin_type=True)),
        ("integer map key", msgpack.packb({1: 2})),
        ("array as map key", bytes.fromhex("81910101")),
        ("non-nfc map key", bytes.fromhex("81a361cc8101")),
        ("nfc map key", encode({"\u00e1": 1})),
        ("map header claims 2^32-1 pairs", b"\xdf\xff\xff\xff\xff"),
        ("str32 header claims 2^32-1 bytes", b"\xdb\xff\xff\xff\xff"),
        ("bin32 header claims 2^32-1 bytes", b"\xc6\xff\xff\xff\xff"),
        ("nil map key", b"\x81\xc0\x01"),
        ("empty input", b""),
        ("truncated array", b"\x92\x01"),
        ("reserved byte 0xc1", b"\xc1"),
        ("invalid utf-8", b"\xa2\xff\xfe"),
        ("array header claims 2^31 items", b"\xdd\x7f\xff\xff\xff"),
        ("nesting deeper than 12", msgpack.packb(deep)),
    ]
    return [entry(name, data, canonical_decoder) for name, data in cases]


def notice_vectors() -> list[dict[str, Any]]:
    from baliza.protocol.notices import encode_notice

    return [entry(name, encode_notice(n), notice_decoder) for name, n in EXAMPLES.items()]


def _edit(notice: Any, change: Callable[[dict[str, Any]], None]) -> bytes:
    wire = copy.deepcopy(notice.to_wire())
    change(wire)
    return encode(wire)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(wire: dict[str, Any]) -> None:
        node = wire
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    def change(wire: dict[str, Any]) -> None:
        del wire[key]

    return change


def _delete_at(path: tuple[Any, ...], key: str) -> Callable[[dict[str, Any]], None]:
    def change(wire: dict[str, Any]) -> None:
        node = wire
        for step in path:
            node = node[step]
        del node[key]

    return change


def _nfd_key(notice: Any) -> bytes:
    """The notice with one extra key spelt in NFD: refused before any schema rule."""
    wire = dict(notice.to_wire())
    wire["cafe\u0301"] = 1
    return msgpack.packb(_sorted_maps(wire), use_bin_type=True)  # type: ignore[no-any-return]


def _sorted_maps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_maps(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted_maps(v) for v in value]
    return value


def refused_notice_vectors() -> list[dict[str, Any]]:
    s, a = SEIZURE, ALERT
    cases: list[tuple[str, bytes]] = [
        ("unknown version", _edit(s, _set(("v",), 2))),
        ("unknown kind", _edit(s, _set(("kind",), "notice.future"))),
        ("unknown field", _edit(s, _set(("colour",), "red"))),
        ("missing field", _edit(s, _delete("location"))),
        ("empty list sent", _edit(s, _set(("requests",), []))),
        ("quantity zero", _edit(s, _set(("commodities", 0, "quantity", "amount"), 0))),
        ("unit not allowed", _edit(s, _set(("commodities", 0, "quantity", "unit"), "kg"))),
        ("lower-case container", _edit(s, _set(("conveyance", "container"), "csqu3054383"))),
        ("container check digit", _edit(s, _set(("conveyance", "container"), "CSQU3054384"))),
        ("imo check digit", _edit(s, _set(("conveyance", "vessel", "imo"), "9074728"))),
        ("locode country", _edit(s, _set(("route", "transit", 0, "locode"), "XXCTG"))),
        ("locode and airport", _edit(s, _set(("location", "airport"), "PTY"))),
        ("unknown airport", _edit(a, _set(("origin", "airport"), "ZZZ"))),
        ("flight leading zero", _edit(a, _set(("subject", "flight"), "IB06454"))),
        ("awb check digit", _edit(s, _set(("conveyance", "awb"), "020-12345676"))),
        ("language", _edit(s, _set(("text", "lang"), "xx"))),
        ("country", _edit(s, _set(("nominal", "companies", 1, "country"), "UK"))),
        ("currency", _edit(s, _set(("commodities", 1, "quantity", "currency"), "XYZ"))),
        ("media type", _edit(s, _set(("attachments", 0, "media_type"), "application/zip"))),
        (
            "file name with a right-to-left override",
            _edit(s, _set(("attachments", 0, "filename"), "acta_\u202efdp.html")),
        ),
        (
            "file name with a zero-width joiner",
            _edit(s, _set(("attachments", 0, "filename"), "foto\u200d.jpg")),
        ),
        ("evaluation grade", _edit(s, _set(("evaluation", "source"), "F"))),
        ("passenger alert without passenger", _edit(a, _delete("nominal"))),
        ("correction of a receipt", _edit(CORRECTION, _set(("notice",), RECEIPT.to_wire()))),
        ("bad envelope id", _edit(RECEIPT, _set(("envelope",), "0000"))),
        ("float in a notice", msgpack.packb({"at_ms": 1.5, "kind": "receipt", "v": 1})),
        ("not a map", encode(["notice.seizure"])),
        ("case reference over 64 characters", _edit(s, _set(("case_ref",), "A" * 65))),
        ("case reference with a space", _edit(s, _set(("case_ref",), "EC 2026"))),
        ("person without role", _edit(a, _delete_at(("nominal", "persons", 0), "role"))),
        ("document without type", _edit(s, _delete_at(("nominal", "documents", 0), "type"))),
        ("task without status", _edit(CASE, _delete_at(("tasks", 0), "status"))),
        ("reporting unit without agency", _edit(s, _delete_at(("unit",), "agency"))),
        ("agency id with five parts", _edit(s, _set(("unit", "agency"), "ec.senae.gye.a.b"))),
        ("non-nfc map key", _nfd_key(s)),
        ("bidi override in free text", _edit(s, _set(("text", "text"), "pago \u202egnp.exe"))),
        ("bidi isolate in a name", _edit(s, _set(("unit", "name"), "Unidad \u2067A\u2069"))),
        ("zero-width space in a line", _edit(s, _set(("commodities", 0, "packaging"), "50\u200b"))),
        ("line separator in prose", _edit(a, _set(("requests", 0, "note"), "see\u2028below"))),
        ("language region 999, not a UN M.49 area", _edit(s, _set(("text", "lang"), "es-999"))),
        ("language region 170, a country's number", _edit(s, _set(("text", "lang"), "es-170"))),
        ("name ending in a no-break space", _edit(s, _set(("unit", "name"), "Unidad\u00a0"))),
        (
            "name starting with an ideographic space",
            _edit(s, _set(("unit", "name"), "\u3000Unidad")),
        ),
        ("name with a NUL", _edit(s, _set(("unit", "name"), "Uni\x00dad"))),
        ("prose with a carriage return", _edit(s, _set(("text", "text"), "una\r\nlinea"))),
        ("conveyance naming nothing", _edit(s, _set(("conveyance",), {}))),
        ("route naming nothing", _edit(s, _set(("route",), {}))),
    ]
    return [entry(name, data, notice_decoder) for name, data in cases]


def header_decoder(data: bytes) -> object:
    Header.from_bytes(data)
    return tagged(decode(data))


BASE_HEADER = Header(
    id=eid(1),
    kind=MessageKind.SEIZURE,
    sender=AgencyId("co.polfa.ctg"),
    sender_key=KeyId(bytes(range(16))),
    created_ms=T0,
    recipients=(AgencyId("es.aduanas.alg"), AgencyId("nl.douane.rtm")),
    handling=Handling(tlp=Tlp.AMBER, codes=(HandlingCode.H0,)),
    suite="hybrid-v1",
    key_commitment=bytes(range(32, 64)),
)


def _header(change: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    wire = copy.deepcopy(BASE_HEADER.to_wire())
    if change is not None:
        change(wire)
    return encode(wire)


def _on_channel(wire: dict[str, Any]) -> None:
    del wire["recipients"]
    wire["channel"] = "jit.co-es-2026-07"
    wire["membership_version"] = 3


def _both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(wire: dict[str, Any]) -> None:
        for one in changes:
            one(wire)

    return change


# One character of each UTF-8 length (U+0061, U+00E9, U+20AC, U+1F6A2).
WIDTHS = {1: "a", 2: "\u00e9", 3: "\u20ac", 4: "\U0001f6a2"}


def header_vectors() -> list[dict[str, Any]]:
    """Envelope headers (chapter 02 §0): valid forms and each rule refused."""
    h3 = {"codes": ["h0", "h3"], "restrictions": "Not to be shared with port staff.", "tlp": "red"}
    cases: list[tuple[str, bytes]] = [
        ("to recipients", _header()),
        ("to a channel", _header(_on_channel)),
        ("h3 with its restrictions", _header(_set(("handling",), h3))),
        ("restrictions without h3", _header(_set(("handling", "restrictions"), "No court use."))),
        ("superseding an earlier envelope", _header(_set(("supersedes",), eid(5)))),
        ("sender with two unit levels", _header(_set(("sender",), "co.polfa.ctg.uno"))),
        ("receipt kind", _header(_set(("kind",), "receipt"))),
        ("unknown version", _header(_set(("v",), 2))),
        ("unknown field", _header(_set(("priority",), 1))),
        ("missing handling", _header(_delete("handling"))),
        ("unknown kind", _header(_set(("kind",), "notice.future"))),
        ("h3 without restrictions", _header(_set(("handling", "codes"), ["h0", "h3"]))),
        ("restrictions over 500", _header(_set(("handling", "restrictions"), "x" * 501))),
        ("handling codes unsorted", _header(_set(("handling", "codes"), ["h2", "h0"]))),
        ("unknown tlp", _header(_set(("handling", "tlp"), "white"))),
        ("recipients and a channel", _header(_set(("channel",), "jit.x"))),
        ("neither recipients nor a channel", _header(_delete("recipients"))),
        (
            "channel without membership version",
            _header(_both(_on_channel, _delete("membership_version"))),
        ),
        ("membership version without a channel", _header(_set(("membership_version",), 1))),
        ("membership version zero", _header(_both(_on_channel, _set(("membership_version",), 0)))),
        ("channel id with upper case", _header(_both(_on_channel, _set(("channel",), "JIT")))),
        (
            "recipients unsorted",
            _header(_set(("recipients",), ["nl.douane.rtm", "es.aduanas.alg"])),
        ),
        ("recipient twice", _header(_set(("recipients",), ["es.aduanas.alg", "es.aduanas.alg"]))),
        ("sender with three unit levels", _header(_set(("sender",), "co.polfa.ctg.uno.dos"))),
        ("sender with an unknown country", _header(_set(("sender",), "zz.polfa"))),
        ("sender key of 15 bytes", _header(_set(("sender_key",), bytes(15)))),
        ("key commitment of 31 bytes", _header(_set(("key_commitment",), bytes(31)))),
        ("created_ms beyond 2^53", _header(_set(("created_ms",), 2**53))),
        ("suite with upper case", _header(_set(("suite",), "Hybrid-v1"))),
        ("id not a UUIDv7", _header(_set(("id",), "00000000-0000-4000-8000-000000000000"))),
        ("a share of an earlier envelope", _header(_set(("shares",), eid(6)))),
        ("shares not a UUIDv7", _header(_set(("shares",), "share-1"))),
        (
            "five handling codes",
            _header(_set(("handling", "codes"), ["h0", "h1", "h2", "h3", "h4"])),
        ),
        ("unknown handling code", _header(_set(("handling", "codes"), ["h0", "h9"]))),
        ("handling code twice", _header(_set(("handling", "codes"), ["h0", "h0"]))),
        ("restrictions empty", _header(_set(("handling", "restrictions"), ""))),
        ("restrictions with a line feed", _header(_set(("handling", "restrictions"), "No\ncourt"))),
        ("restrictions with a NUL", _header(_set(("handling", "restrictions"), "No\x00court"))),
        ("restrictions with a leading space", _header(_set(("handling", "restrictions"), " No"))),
        (
            "restrictions with a right-to-left override",
            _header(_set(("handling", "restrictions"), "No \u202ecourt")),
        ),
    ]
    # ``restrictions`` counts characters (1 to 500) in any UTF-8 width; the
    # profile's byte cap of one string (2000 = 4 x 500) never refuses a valid one.
    for width, char in WIDTHS.items():
        for count in (500, 501):
            cases.append(
                (
                    f"restrictions of {count} {width}-byte characters",
                    _header(_set(("handling", "restrictions"), char * count)),
                )
            )
    return [entry(name, data, header_decoder) for name, data in cases]


def render() -> dict[str, str]:
    """File name -> exact file content."""
    files: dict[str, object] = {
        "canonical.json": canonical_vectors(),
        "notices.json": notice_vectors(),
        "notices-refused.json": refused_notice_vectors(),
        "headers.json": header_vectors(),
        "data-versions.json": {
            "description": (
                "Releases of the code lists that define the domain codes of chapter 03; "
                "the notice vectors hold under exactly these."
            ),
            "versions": DATA_VERSIONS,
        },
    }
    return {
        name: json.dumps(vectors, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        for name, vectors in files.items()
    }


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for name, text in render().items():
        (VECTORS / name).write_text(text, encoding="utf-8")
        print(f"wrote {VECTORS / name}")


if __name__ == "__main__":
    main()
