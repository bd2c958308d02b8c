"""Crypto benchmark: seal and open against the primitives they are made of.

Run ``.venv/bin/python bench/bench_crypto.py`` (or ``make bench``). Prints a
markdown table: µs per operation (median of several rounds) and operations
per second, for sealing and opening a ~2 KB seizure-notice-sized plaintext to
1, 5 and 20 recipients in both suites, and, measured in the same run, the
bare primitives those must call. The last column compares seal and open with
the sum of their primitives; the goal is at most 1.3x, i.e. the envelope
code (encoding, parsing, checks) costs less than a third of the cryptography.
Absolute numbers vary between machines; compare ratios within one run.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from baliza.crypto import AgencyKeys, PublicKeys, Suite, open_bytes, seal_bytes
from baliza.crypto import _primitives as prim
from baliza.crypto._domain import SIG_ENVELOPE, TAG_KEY_WRAP, pae
from baliza.crypto.seal import _body_key, header_hash
from baliza.protocol.canonical import decode, encode
from baliza.protocol.envelope import Envelope, MessageKind, parse_envelope
from baliza.protocol.handling import Handling, HandlingCode, Tlp
from baliza.protocol.ids import make_envelope_id

NOW_MS = 1_767_225_600_000
ROUNDS = 7
TARGET_ROUND_S = 0.05
COUNTRIES = tuple(
    [
        "es",
        "nl",
        "de",
        "fr",
        "it",
        "pt",
        "be",
        "pa",
        "ec",
        "pe",
        "br",
        "mx",
        "us",
        "gb",
        "ie",
        "ma",
        "sn",
        "gh",
        "ng",
        "za",
    ]
)

# A seizure notice's shape and size: ~2 KB of canonical MessagePack.
NOTICE = {
    "v": 1,
    "kind": "notice.seizure",
    "programme": "ccp",
    "unit": "co.polfa.ctg",
    "when_ms": NOW_MS,
    "where": {"locode": "COCTG"},
    "transport": "sea",
    "text": {"lang": "es", "text": "Hallazgo en contenedor refrigerado de banano. " * 12},
    "commodities": [
        {
            "category": "cocaine",
            "description": "ladrillos prensados con logotipo",
            "grams": 1_250_000,
            "packaging": "bricks in banana boxes",
        },
        {"category": "cash", "description": "billetes USD", "quantity": 84_000, "unit": "usd"},
    ],
    "conveyance": {"container": "MSCU1234565", "seal": "ML-CO 0098812", "vessel": "IMO9074729"},
    "route": {
        "loading": "COCTG",
        "transit": ["PAMIT"],
        "discharge": "ESALG",
        "destination": "NLRTM",
    },
    "concealment": "rip-on/rip-off: bolsos deportivos detrás de la carga legítima " * 3,
    "detection": "scanner + k9",
    "persons": [
        {"role": "driver", "name": "Juan Pérez Gómez", "document": "CO:79123456"},
        {"role": "consignee", "name": "María López", "document": "ES:X1234567"},
    ],
    "companies": [
        {"role": "shipper", "name": "Frutas del Caribe S.A.S.", "id": "900123456-7"},
        {"role": "consignee", "name": "Fruit Import Algeciras S.L.", "id": "B11223344"},
    ],
    "requests": [{"action": "inform", "text": "¿Antecedentes de la empresa receptora? " * 4}],
    "evaluation": {"source": "B", "information": "2"},
}
PLAINTEXT = encode(NOTICE)


def per_op_us(fn: Callable[[], object]) -> float:
    """Median over ROUNDS of the mean µs per call in a round of ~TARGET_ROUND_S."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(TARGET_ROUND_S / once))
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


def interleaved(fns: list[Callable[[], object]]) -> list[float]:
    """Median µs per call of each function, measured in alternating rounds."""
    numbers = []
    for fn in fns:
        fn()
        start = time.perf_counter()
        fn()
        numbers.append(max(1, int(TARGET_ROUND_S / max(time.perf_counter() - start, 1e-7))))
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(ROUNDS):
        for fn, number, out in zip(fns, numbers, samples, strict=True):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            out.append((time.perf_counter() - start) / number * 1e6)
    return [statistics.median(s) for s in samples]


class EnvelopeBench:
    """seal/open of one configuration, and the bare calls they are made of."""

    def __init__(
        self,
        sender: AgencyKeys,
        recipients: list[PublicKeys],
        reader: AgencyKeys,
        handling: Handling,
    ) -> None:
        self.sender, self.recipients, self.reader, self.handling = (
            sender,
            recipients,
            reader,
            handling,
        )
        self.eid = make_envelope_id(NOW_MS, b"\x01" * 10)
        self.raw = self.seal()
        self.envelope = parse_envelope(self.raw)
        self.key = prim.random_bytes(32)
        self.nonce = prim.random_bytes(12)
        self.aad = header_hash(self.envelope.header_bytes)
        self.info = pae(TAG_KEY_WRAP, self.aad)
        self.body = self.envelope.body[12:]
        self.own = next(
            e.wrapped for e in self.envelope.keys if e.kid == reader.public().encryption_key_id
        )
        self.content_key = reader.unwrap(self.own, self.info)
        self.signed = pae(SIG_ENVELOPE, self.envelope.signed_bytes)

    def seal(self) -> bytes:
        """The real thing."""
        return seal_bytes(
            PLAINTEXT,
            kind=MessageKind.SEIZURE,
            sender=self.sender,
            recipients=self.recipients,
            handling=self.handling,
            envelope_id=self.eid,
            created_ms=NOW_MS,
        ).raw

    def seal_crypto(self) -> None:
        """AES-GCM once, HPKE per recipient, every signature of the suite."""
        prim.aes_gcm_seal(self.key, self.nonce, PLAINTEXT, self.aad)
        for public in self.recipients:
            public.wrap(self.key, self.info)
        for signer in self.sender._signers:
            signer.sign(self.signed, b"ctx")

    def seal_codec(self) -> None:
        """Canonical encoding of the header, and Envelope.assemble (encode + parse back)."""
        env = self.envelope
        env.header.to_bytes()
        Envelope.assemble(env.header_bytes, env.keys, env.body, env.signatures)

    def open(self) -> bytes:
        """The real thing, from received bytes."""
        return open_bytes(
            parse_envelope(self.raw), recipient=self.reader, sender=self.sender.public()
        )

    def open_crypto(self) -> None:
        """Every signature verification, one HPKE open, AES-GCM once."""
        for verifier in self.sender.public()._verifiers:
            sig = self.envelope.signatures[verifier.algorithm]
            verifier.verify(sig, self.signed, SIG_ENVELOPE.encode())
        self.reader.unwrap(self.own, self.info)
        prim.aes_gcm_open(
            _body_key(self.content_key, self.eid), self.envelope.body[:12], self.body, self.aad
        )

    def open_codec(self) -> None:
        """parse_envelope of the received bytes."""
        parse_envelope(self.raw)


def agencies(suite: Suite, n: int) -> list[AgencyKeys]:
    """``n`` recipient agencies with fresh keys."""
    return [
        AgencyKeys.generate(
            f"{COUNTRIES[i]}.agency.u{i}", suite, valid_from_ms=0, valid_until_ms=2**52
        )
        for i in range(n)
    ]


def main() -> None:
    """Measure and print the table."""
    rows: list[tuple[str, float, float, float]] = []

    def row(name: str, us: float, crypto: float = 0.0, codec: float = 0.0) -> None:
        rows.append((name, us, crypto, codec))
        print(f"  {name}: {us:,.1f} µs", file=sys.stderr)

    handling = Handling(tlp=Tlp.AMBER, codes=(HandlingCode.H0,))
    key32, nonce, aad, info = prim.random_bytes(32), prim.random_bytes(12), b"h" * 32, b"i" * 60
    body = prim.aes_gcm_seal(key32, nonce, PLAINTEXT, aad)
    size = len(PLAINTEXT)

    # The bare primitives, alone, as seal and open call them.
    row(
        f"AES-256-GCM encrypt {size} B",
        per_op_us(partial(prim.aes_gcm_seal, key32, nonce, PLAINTEXT, aad)),
    )
    row(
        f"AES-256-GCM decrypt {size} B",
        per_op_us(partial(prim.aes_gcm_open, key32, nonce, body, aad)),
    )
    row(f"canonical encode, {size} B notice", per_op_us(partial(encode, NOTICE)))
    row(f"canonical decode, {size} B notice", per_op_us(partial(decode, PLAINTEXT)))
    message = b"m" * 2400
    for suite in Suite:
        sender = agencies(suite, 1)[0]
        for signer, verifier in zip(sender._signers, sender.public()._verifiers, strict=True):
            sig = signer.sign(message, b"ctx")
            row(f"{signer.algorithm} sign 2.4 KB", per_op_us(partial(signer.sign, message, b"ctx")))
            row(
                f"{signer.algorithm} verify 2.4 KB",
                per_op_us(partial(verifier.verify, sig, message, b"ctx")),
            )
        public = sender.public()
        kem = " + ".join(sorted(public.encryption))
        row(f"HPKE {kem} seal 32 B", per_op_us(partial(public.wrap, key32, info)))
        wrapped = public.wrap(key32, info)
        row(f"HPKE {kem} open 32 B", per_op_us(partial(sender.unwrap, wrapped, info)))

    # seal and open against the primitive calls they make, measured in
    # interleaved rounds so that load from other processes hits both alike.
    for suite in Suite:
        sender = agencies(suite, 1)[0]
        pool = agencies(suite, 20)
        for n in (1, 5, 20):
            bench = EnvelopeBench(sender, [a.public() for a in pool[:n]], pool[n - 1], handling)
            seal_us, seal_crypto, seal_codec = interleaved(
                [bench.seal, bench.seal_crypto, bench.seal_codec]
            )
            open_us, open_crypto, open_codec = interleaved(
                [bench.open, bench.open_crypto, bench.open_codec]
            )
            size = len(bench.raw)
            row(
                f"**seal** {suite.value}, {n} recipients ({size:,} B)",
                seal_us,
                seal_crypto,
                seal_codec,
            )
            row(f"**open** {suite.value}, 1 of {n} recipients", open_us, open_crypto, open_codec)

    print(
        "| operation | µs/op | ops/s | crypto primitives µs | + envelope codec µs "
        "| ratio to crypto | ratio to crypto + codec |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, us, crypto, codec in rows:
        if crypto:
            total = crypto + codec
            extra = f"{crypto:,.0f} | {total:,.0f} | {us / crypto:.2f}x | {us / total:.2f}x"
        else:
            extra = " | | | "
        print(f"| {name} | {us:,.1f} | {1e6 / us:,.0f} | {extra} |")


if __name__ == "__main__":
    main()
