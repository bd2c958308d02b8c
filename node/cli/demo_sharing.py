"""The demo's subscription and share: a partner feed admitted by policy, a share by permission.

Madrid-Barajas subscribes to Tocumen's airport-programme (aircop) notices;
every node of the demo admits aircop subscriptions by policy, so Tocumen
admits it at once. Tocumen then reports an amber courier seizure to
Guayaquil, which Madrid also receives as a subscriber, and a red one, which
Madrid must not receive. Guayaquil sends Cartagena a notice marked H2 (no
onward dissemination without permission); Cartagena asks to share it with
Algeciras, Guayaquil's officer grants it, and only then does it go.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from baliza.crypto import AgencyKeys, open_envelope
from baliza.node.cli.demo_agency import Agency
from baliza.node.cli.demo_scenario import HOUR_MS
from baliza.node.core.keyring import load_keys
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError

TIMEOUT_S = 60
# Set for every demo node: subscriptions that ask only for aircop are admitted at once.
POLICY_ENV = {"BALIZA_SUBSCRIPTION_AUTO_ADMIT_PROGRAMMES": "aircop"}


def _courier(sender: str, flight: str, grams: int, now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "aircop",
        "unit": {"agency": sender},
        "seized_ms": now - HOUR_MS,
        "location": {"airport": "PTY"},
        "transport": "air",
        "commodities": [{"category": "cocaine", "quantity": {"amount": grams, "unit": "g"}}],
        "conveyance": {"flight": flight},
        "text": {"lang": "es", "text": "Cápsulas ingeridas, pasajero en tránsito."},
    }


def _port_seizure(sender: str, now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": sender},
        "seized_ms": now - 2 * HOUR_MS,
        "location": {"locode": "ECGYE"},
        "transport": "sea",
        "commodities": [{"category": "cocaine", "quantity": {"amount": 48_000, "unit": "g"}}],
        "conveyance": {"container": "TGHU0012349"},
        "text": {"lang": "es", "text": "Doble fondo en contenedor refrigerado."},
    }


async def _until(check: Any, what: str) -> str | None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if await check():
            return None
        await asyncio.sleep(0.3)
    return f"sharing: {what} not reached in time"


async def _holds(a: Agency, eid: str) -> bool:
    try:
        await a.api().get(f"/api/v1/notices/{eid}", {})
    except BalizaError:
        return False
    return True


async def _publish(
    a: Agency, notice: dict[str, Any], to: list[str], tlp: str, codes: list[str]
) -> str:
    handling: dict[str, Any] = {"tlp": tlp}
    if codes:
        handling["codes"] = codes
    body = {"notice": notice, "recipients": to, "handling": handling}
    result = await a.api().post("/api/v1/notices", body)
    eid: str = result["id"]
    return eid


async def play_sharing(agencies: list[Agency], passphrase: bytes) -> list[str]:
    """Play the subscription and share scenes; return the problems the checks found."""
    by = {a.agency: a for a in agencies}
    gye, ctg, pty, alg, mad = (
        by[n]
        for n in ("ec.polnac.gye", "co.polfa.ctg", "pa.senan.pty", "es.aduanas.alg", "es.gc.mad")
    )
    keys: dict[str, AgencyKeys] = {a.agency: load_keys(a.data_dir, passphrase) for a in agencies}
    problems: list[str] = []
    print("\nSubscriptions and shares:")

    asked = await mad.admin().post(
        "/api/v1/subscriptions",
        {"publisher": pty.agency, "filter": {"programmes": ["aircop"]}, "note": "MAD arrivals"},
    )
    print(f"  {mad.agency:16} subscribes to {pty.agency}'s aircop notices: {asked['state']}")
    if asked["state"] != "admitted":
        problems.append(f"sharing: the aircop subscription is {asked['state']}, not admitted")

    now = time.time_ns() // 1_000_000
    amber = await _publish(
        pty, _courier(pty.agency, "CM0431", 2_300, now), [gye.agency], "amber", []
    )
    red = await _publish(pty, _courier(pty.agency, "CM0471", 900, now), [gye.agency], "red", [])
    print(f"  {pty.agency:16} -> {gye.agency:16} amber and red courier seizures (aircop)")

    async def subscriber_got_amber() -> bool:
        return await _holds(mad, amber) and await _holds(gye, red)

    problems += [p for p in [await _until(subscriber_got_amber, "the subscriber's copy")] if p]
    if await _holds(mad, red):
        problems.append("sharing: a RED notice reached a subscriber")
    red_envelope = parse_envelope(await pty.api().get_bytes(f"/api/v1/notices/{red}/envelope"))
    try:
        open_envelope(red_envelope, recipient=keys[mad.agency], sender=keys[pty.agency].public())
        problems.append("sharing: the subscriber's keys open the RED notice")
    except BalizaError:
        pass

    h2 = await _publish(gye, _port_seizure(gye.agency, now), [ctg.agency], "amber", ["h2"])

    async def at_ctg() -> bool:
        return await _holds(ctg, h2)

    problems += [p for p in [await _until(at_ctg, "the H2 notice at Cartagena")] if p]
    pending = await ctg.api().post(f"/api/v1/notices/{h2}/share", {"recipients": [alg.agency]})
    print(
        f"  {ctg.agency:16} asks to share {gye.agency}'s H2 notice with {alg.agency}: "
        f"{pending['state']}"
    )
    if await _holds(alg, h2) or pending["state"] != "pending":
        problems.append("sharing: an H2 notice went on without the originator's permission")

    async def asked_at_gye() -> bool:
        items = (await gye.api().get("/api/v1/permissions", {}))["items"]
        return any(i["state"] == "pending" for i in items)

    problems += [p for p in [await _until(asked_at_gye, "the permission request")] if p]
    [request] = [
        i
        for i in (await gye.api().get("/api/v1/permissions", {}))["items"]
        if i["state"] == "pending"
    ]
    await gye.api().post(f"/api/v1/permissions/{request['id']}/grant", {})
    print(f"  {gye.agency:16} grants it; the share goes out")

    async def shared() -> bool:
        items = (await ctg.api().get("/api/v1/permissions", {}))["items"]
        done = [i for i in items if i.get("share")]
        return bool(done) and await _holds(alg, done[0]["share"])

    problems += [p for p in [await _until(shared, "the granted share at Algeciras")] if p]
    if not problems:
        print(
            "  checked: the subscriber got the amber notice and not the red one (its keys cannot "
            "open it); the H2 share waited for the grant, then reached Algeciras"
        )
    return problems
