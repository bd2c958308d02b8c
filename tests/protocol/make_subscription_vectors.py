"""Generate protocol/vectors/subscriptions.json: the vectors of spec chapter 07.

Run ``.venv/bin/python tests/protocol/make_subscription_vectors.py`` after
changing ``protocol/subscriptions.py``; test_protocol_subscriptions.py fails
until the committed file equals this output. Fixed inputs, no clock.

Each entry is ``{"name", "message", "hex", "expect", "path"?}``: ``message``
names the type, ``expect`` is ``"ok"`` or the reason code of the refusal and
``path`` the field at fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baliza.protocol.canonical import encode
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.sharing import SharedOriginal
from baliza.protocol.subscriptions import (
    PermissionDecision,
    PermissionRequest,
    PermissionState,
    SubscriptionFilter,
    SubscriptionRequest,
    SubscriptionState,
    SubscriptionUpdate,
)

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "subscriptions.json"
SID = EnvelopeId("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
EID = EnvelopeId("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c")
T = 1_767_225_600_000
#: A share body's fields: the reader checks their form; the node verifies the envelope.
KEY = bytes(range(32))
ORIGINAL = bytes.fromhex("83a3736967") + b"... the originator's envelope, as signed"
GYE, CTG, ALG = AgencyId("ec.polnac.gye"), AgencyId("co.polfa.ctg"), AgencyId("es.aduanas.alg")


def _ok(name: str, message: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "message": message, "hex": data.hex(), "expect": "ok"}


def _bad(name: str, message: str, value: dict[str, Any], expect: str, path: str) -> dict[str, Any]:
    return {
        "name": name,
        "message": message,
        "hex": encode(value).hex(),
        "expect": expect,
        "path": path,
    }


def vectors() -> list[dict[str, Any]]:
    """Every vector, in a fixed order."""
    wanted = SubscriptionFilter(
        categories=("cocaine",), countries=("EC",), places=("ESALG",), programmes=("ccp",)
    )
    request = SubscriptionRequest(
        id=SID, subscriber=CTG, publisher=GYE, filter=wanted, created_ms=T, note="CCP feed"
    )
    update = SubscriptionUpdate(
        id=SID,
        publisher=GYE,
        subscriber=CTG,
        state=SubscriptionState.ADMITTED,
        at_ms=T + 1,
        reason="admitted by policy",
    )
    permission = PermissionRequest(
        id=SID, envelope=EID, requester=ALG, originator=GYE, recipients=(CTG,), created_ms=T
    )
    decision = PermissionDecision(id=SID, envelope=EID, state=PermissionState.GRANTED, at_ms=T + 2)
    shared = SharedOriginal(original=ORIGINAL, content_key=KEY)
    base = {
        "v": 1,
        "id": SID,
        "subscriber": CTG,
        "publisher": GYE,
        "filter": {},
        "created_ms": T,
    }
    return [
        _ok("subscription request with a filter", "SubscriptionRequest", request.to_bytes()),
        _ok("publisher admits", "SubscriptionUpdate", update.to_bytes()),
        _ok("permission request", "PermissionRequest", permission.to_bytes()),
        _ok("permission granted", "PermissionDecision", decision.to_bytes()),
        _ok("share body: the original and its content key", "SharedOriginal", shared.to_bytes()),
        _bad(
            "share body with a short content key",
            "SharedOriginal",
            {"v": 1, "content_key": KEY[:31], "original": ORIGINAL},
            "bad_length",
            "content_key",
        ),
        _bad(
            "share body without the original (a bare notice)",
            "SharedOriginal",
            {"v": 1, "content_key": KEY, "notice": ORIGINAL},
            "missing_field",
            "original",
        ),
        _bad(
            "filter terms not sorted",
            "SubscriptionRequest",
            {**base, "filter": {"countries": ["PE", "EC"]}},
            "non_canonical",
            "filter.countries",
        ),
        _bad(
            "unknown commodity category",
            "SubscriptionRequest",
            {**base, "filter": {"categories": ["gold"]}},
            "bad_enum",
            "filter.categories[0]",
        ),
        _bad(
            "unknown filter field",
            "SubscriptionRequest",
            {**base, "filter": {"vessels": ["9074729"]}},
            "unknown_field",
            "filter.vessels",
        ),
        _bad(
            "unknown subscription state",
            "SubscriptionUpdate",
            {
                "v": 1,
                "id": SID,
                "publisher": GYE,
                "subscriber": CTG,
                "state": "approved",
                "at_ms": T,
            },
            "bad_enum",
            "state",
        ),
        _bad(
            "a decision that decides nothing",
            "PermissionDecision",
            {"v": 1, "id": SID, "envelope": EID, "state": "pending", "at_ms": T},
            "bad_enum",
            "state",
        ),
        _bad(
            "message version 2",
            "PermissionRequest",
            {
                "v": 2,
                "id": SID,
                "envelope": EID,
                "requester": ALG,
                "originator": GYE,
                "recipients": [CTG],
                "created_ms": T,
            },
            "unknown_version",
            "v",
        ),
        *_gap_vectors(base),
    ]


# One character of each UTF-8 length: notes and reasons count characters.
WIDTHS = {1: "a", 2: "\u00e9", 3: "\u20ac", 4: "\U0001f6a2"}


def _gap_vectors(base: dict[str, Any]) -> list[dict[str, Any]]:
    """The rules chapter 07 §1 settles: places, countries, kinds, text, profile, ids."""
    update = {"v": 1, "id": SID, "publisher": GYE, "subscriber": CTG, "state": "paused", "at_ms": T}
    decision = {"v": 1, "id": SID, "envelope": EID, "state": "refused", "at_ms": T}
    permission = {
        "v": 1,
        "id": SID,
        "envelope": EID,
        "requester": ALG,
        "originator": GYE,
        "recipients": [CTG],
        "created_ms": T,
    }
    out = [
        _bad(
            "place ZZZ (no such airport)",
            "SubscriptionRequest",
            {**base, "filter": {"places": ["ZZZ"]}},
            "bad_airport",
            "filter.places[0]",
        ),
        _bad(
            "place XXABC (no such country)",
            "SubscriptionRequest",
            {**base, "filter": {"places": ["XXABC"]}},
            "bad_locode",
            "filter.places[0]",
        ),
        _bad(
            "place of four characters",
            "SubscriptionRequest",
            {**base, "filter": {"places": ["ESAL"]}},
            "bad_format",
            "filter.places[0]",
        ),
        _bad(
            "place in lower case",
            "SubscriptionRequest",
            {**base, "filter": {"places": ["esalg"]}},
            "bad_locode",
            "filter.places[0]",
        ),
        _bad(
            "country ZZ",
            "SubscriptionRequest",
            {**base, "filter": {"countries": ["ZZ"]}},
            "bad_country",
            "filter.countries[0]",
        ),
        _bad(
            "kind receipt",
            "SubscriptionRequest",
            {**base, "filter": {"kinds": ["receipt"]}},
            "bad_enum",
            "filter.kinds[0]",
        ),
        _bad(
            "33 countries",
            "SubscriptionRequest",
            {**base, "filter": {"countries": [f"C{i}" for i in range(33)]}},
            "bad_length",
            "filter.countries",
        ),
        _bad(
            "65 recipients (over the profile's 64 items)",
            "PermissionRequest",
            {**permission, "recipients": [f"es.unit{i:02d}" for i in range(65)]},
            "too_many_items",
            "",
        ),
        _bad(
            "id not a UUIDv7",
            "SubscriptionUpdate",
            {**update, "id": "sub-1"},
            "bad_envelope_id",
            "id",
        ),
        _bad(
            "an update to requested",
            "SubscriptionUpdate",
            {**update, "state": "requested"},
            "bad_enum",
            "state",
        ),
        _bad(
            "note with a NUL",
            "PermissionRequest",
            {**permission, "note": "see\x00this"},
            "bad_format",
            "note",
        ),
        _bad(
            "reason with a carriage return",
            "PermissionDecision",
            {**decision, "reason": "no\r\nthanks"},
            "bad_format",
            "reason",
        ),
        _bad(
            "reason with a zero-width space",
            "SubscriptionUpdate",
            {**update, "reason": "on\u200bhold"},
            "format_character",
            "reason",
        ),
        _bad("empty note", "SubscriptionRequest", {**base, "note": ""}, "bad_length", "note"),
    ]
    for width, char in WIDTHS.items():
        out.append(
            _checked(
                f"reason of 500 {width}-byte characters",
                "PermissionDecision",
                {**decision, "reason": char * 500},
            )
        )
        out.append(
            _checked(
                f"reason of 501 {width}-byte characters",
                "PermissionDecision",
                {**decision, "reason": char * 501},
            )
        )
    out.append(
        _checked(
            "note of two lines with a tab",
            "SubscriptionRequest",
            {**base, "note": "CCP feed\n\tports only"},
        )
    )
    return out


PARSERS: dict[str, Any] = {
    "SubscriptionRequest": SubscriptionRequest.from_bytes,
    "SubscriptionUpdate": SubscriptionUpdate.from_bytes,
    "PermissionRequest": PermissionRequest.from_bytes,
    "PermissionDecision": PermissionDecision.from_bytes,
}


def _checked(name: str, message: str, value: dict[str, Any]) -> dict[str, Any]:
    """A vector whose outcome is what the reader says (the edges of a limit)."""
    data = encode(value)
    try:
        PARSERS[message](data)
    except BalizaError as err:
        return {**_bad(name, message, value, err.reason.value, err.path)}
    return _ok(name, message, data)


def render() -> str:
    """The file's text."""
    return json.dumps(vectors(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
