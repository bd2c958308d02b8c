"""Request authentication benchmark: what signing and checking one federation request costs.

Run ``.venv/bin/python bench/bench_fedauth.py`` (``--quick`` for fewer
rounds). Prints a markdown table of CPU µs per request (median of several
interleaved rounds, ``time.process_time``, so other processes on a shared
machine do not count), for the request-signature scheme in force
(``baliza-fed-request-v2``: one Ed25519 signature) and, in the same run, the
scheme it replaced (``baliza-fed-request-v1``: a detached signature map,
Ed25519 + ML-DSA-65 for a ``hybrid-v1`` key), both through the whole path a
request takes: the sender builds its headers, the receiver runs the cheap
header checks and verifies over the same 2 KB inbox body. The last column is
each row's cost over v2's.
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from collections.abc import Callable

from baliza.crypto import AgencyKeys, PublicKeys, Suite, sign_detached, verify_detached
from baliza.node.services.fedauth import claimed_origin, signed_headers, verify_request
from baliza.protocol.canonical import decode, encode
from baliza.protocol.federation import (
    HEADER_DESTINATION,
    HEADER_ORIGIN,
    HEADER_SIGNATURE,
    HEADER_TIME,
    OLD_REQUEST_SCHEME,
    SignedRequest,
)
from baliza.protocol.ids import AgencyId

NOW_MS = 1_767_225_600_000
ORIGIN = AgencyId("co.polfa.ctg")
DESTINATION = AgencyId("es.aduanas.alg")
PATH = "/fed/v1/inbox"
BODY = bytes(range(256)) * 8  # an inbox body of one ~2 KB envelope


def v1_headers(keys: AgencyKeys, body: bytes) -> dict[str, str]:
    """Scheme v1 as the node sent it before v2 (kept here to measure it)."""
    request = SignedRequest.for_body(
        method="POST",
        path=PATH,
        origin=keys.agency,
        destination=DESTINATION,
        time_ms=NOW_MS,
        body=body,
    )
    signatures = sign_detached(keys, OLD_REQUEST_SCHEME, request.signing_bytes())
    return {
        HEADER_ORIGIN: keys.agency,
        HEADER_DESTINATION: DESTINATION,
        HEADER_TIME: str(NOW_MS),
        HEADER_SIGNATURE: base64.urlsafe_b64encode(encode(dict(signatures))).decode(),
    }


def v1_verify(headers: dict[str, str], public: PublicKeys, body: bytes) -> None:
    """Scheme v1's receiving side: decode the signature map, verify every half."""
    raw = decode(base64.urlsafe_b64decode(headers[HEADER_SIGNATURE].encode()))
    assert isinstance(raw, dict)
    request = SignedRequest.for_body(
        method="POST",
        path=PATH,
        origin=ORIGIN,
        destination=DESTINATION,
        time_ms=int(headers[HEADER_TIME]),
        body=body,
    )
    signatures = {k: v for k, v in raw.items() if isinstance(v, bytes)}
    verify_detached(public, OLD_REQUEST_SCHEME, request.signing_bytes(), signatures)


def v2_headers(keys: AgencyKeys, body: bytes) -> dict[str, str]:
    """The node's own sending path (``fedauth.signed_headers``)."""
    return signed_headers(
        keys, method="POST", path=PATH, destination=DESTINATION, time_ms=NOW_MS, body=body
    )


def v2_verify(headers: dict[str, str], public: PublicKeys, body: bytes) -> None:
    """The node's own receiving path (``fedauth.claimed_origin`` + ``verify_request``)."""
    origin = claimed_origin(headers, me=DESTINATION, now_ms=NOW_MS, skew_ms=300_000)
    verify_request(
        headers,
        method="POST",
        path=PATH,
        me=DESTINATION,
        origin=origin,
        origin_keys=[public],
        body=body,
    )


def cpu_us(fns: list[Callable[[], object]], rounds: int, per_round: int) -> list[float]:
    """Median CPU µs per call of each of ``fns``, rounds interleaved so drift hits all alike."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.process_time()
            for _ in range(per_round):
                fn()
            samples[i].append((time.process_time() - start) / per_round * 1e6)
    return [statistics.median(s) for s in samples]


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    rounds, per_round = (5, 100) if quick else (9, 400)
    keys = {
        suite: AgencyKeys.from_seed(
            ORIGIN, suite, bytes(32), valid_from_ms=0, valid_until_ms=2 * NOW_MS
        )
        for suite in Suite
    }
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = []
    for scheme, make, check in (("v1", v1_headers, v1_verify), ("v2", v2_headers, v2_verify)):
        for suite in (Suite.HYBRID, Suite.CLASSIC):
            k = keys[suite]
            pub = k.public()
            headers = make(k, BODY)
            check(headers, pub, BODY)  # it verifies, or the figures mean nothing

            def sign(k: AgencyKeys = k, make: Callable[..., object] = make) -> object:
                return make(k, BODY)

            def verify(
                h: dict[str, str] = headers,
                p: PublicKeys = pub,
                check: Callable[..., object] = check,
            ) -> object:
                return check(h, p, BODY)

            cases.append((f"{scheme}, {suite.value} key", sign, verify))
    figures = cpu_us([fn for _, s, v in cases for fn in (s, v)], rounds, per_round)
    totals = {}
    rows = []
    for i, (name, _, _) in enumerate(cases):
        sign_us, verify_us = figures[2 * i], figures[2 * i + 1]
        totals[name] = sign_us + verify_us
        rows.append((name, sign_us, verify_us))
    floor = totals["v2, hybrid-v1 key"]
    print(f"request authentication, CPU µs per request (median of {rounds}×{per_round})")
    print()
    print("| scheme | sender: headers | receiver: check + verify | per request | × v2 |")
    print("|---|---:|---:|---:|---:|")
    for name, sign_us, verify_us in rows:
        total = sign_us + verify_us
        print(
            f"| {name} | {sign_us:,.0f} | {verify_us:,.0f} | {total:,.0f} | {total / floor:.2f} |"
        )
    print()
    old = totals["v1, hybrid-v1 key"]
    print(f"v1 hybrid → v2: {old:,.0f} → {floor:,.0f} µs per request, {old / floor:.1f}× cheaper")


if __name__ == "__main__":
    main()
