"""The demo's channels: a container-programme feed across four agencies and a two-country JIT.

Guayaquil founds the Pacific–Europe container-programme channel with
Cartagena, Tocumen and Algeciras and posts a pre-arrival alert to it.
Cartagena and Algeciras found a JIT (both owners must sign every change)
with Madrid-Barajas; a case notice stays inside it. Madrid then leaves the
JIT, and the next case notice is sealed to the remaining members only: the
check opens it with Madrid's own keys and must fail. Madrid then tries to
squat the JIT's id: it signs its own "version 1000" (itself sole owner,
listing the real members and Tocumen) and pushes it to Tocumen, not a
member; Tocumen refuses it (``channel_unfounded``) and raises the alarm its
status shows, and the check requires both.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from baliza.crypto import AgencyKeys, open_envelope
from baliza.crypto.channels import propose_membership, sign_membership
from baliza.node.cli.demo_agency import Agency
from baliza.node.cli.demo_scenario import CONTAINER, DAY_MS
from baliza.node.core.keyring import load_keys
from baliza.node.core.trust import NodeAddress
from baliza.node.services.fedclient import new_session, push_memberships
from baliza.protocol.channels import ChannelKind, Membership, founding_digest
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import AgencyId, ChannelId

CCP = "ccp.pacific-europe"
JIT = "jit.co-es-2026-07"
TIMEOUT_S = 60


def _alert(sender: str, now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.alert",
        "programme": "ccp",
        "unit": {"agency": sender, "name": "Unidad de Control Portuario Guayaquil"},
        "origin": {"locode": "ECGYE"},
        "destination": {"locode": "ESALG"},
        "subject": {"type": "container", "container": "MSKU8912345"},
        "expected_ms": now + 18 * DAY_MS,
        "indicators": ["route"],
    }


def _case(sender: str, status: str) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.case",
        "programme": "jit",
        "unit": {"agency": sender},
        "case_ref": "JIT-CO-ES-2026/07",
        "title": f"Banana route Guayaquil-Algeciras, container {CONTAINER}",
        "status": status,
        "offences": ["drug_trafficking", "money_laundering"],
    }


async def _until(check: Any, what: str) -> str | None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if await check():
            return None
        await asyncio.sleep(0.3)
    return f"channels: {what} not reached in time"


async def _version(a: Agency, channel: str) -> int | None:
    try:
        found = await a.api().get(f"/api/v1/channels/{channel}", {})
    except BalizaError:
        return None
    version: int = found["version"]
    return version


async def _holds(a: Agency, eid: str) -> bool:
    try:
        await a.api().get(f"/api/v1/notices/{eid}", {})
    except BalizaError:
        return False
    return True


async def _post(a: Agency, channel: str, notice: dict[str, Any], tlp: str) -> str:
    body = {"notice": notice, "channel": channel, "handling": {"tlp": tlp}}
    result = await a.api().post("/api/v1/notices", body)
    eid: str = result["id"]
    return eid


async def _reach(
    sender: Agency,
    eid: str,
    members: list[Agency],
    others: list[Agency],
    keys: dict[str, AgencyKeys],
    label: str,
) -> list[str]:
    """Every member holds and can open ``eid``; every other agency neither."""

    async def arrived() -> bool:
        return all([await _holds(m, eid) for m in members])

    problems = [p for p in [await _until(arrived, f"{label} at every member")] if p]
    envelope = parse_envelope(await sender.api().get_bytes(f"/api/v1/notices/{eid}/envelope"))
    for a in members + others:
        meant = a in members
        try:
            open_envelope(envelope, recipient=keys[a.agency], sender=keys[sender.agency].public())
            readable = True
        except BalizaError:
            readable = False
        if readable != meant or (not meant and await _holds(a, eid)):
            problems.append(f"{label}: {a.agency} {'cannot' if meant else 'can'} read it")
    return problems


def _squat(squatter: AgencyKeys, listed: list[Agency], version: int) -> bytes:
    """``squatter``'s own version of the JIT's id: itself sole owner, its own founding."""
    now = time.time_ns() // 1_000_000
    members = tuple(sorted({squatter.agency, *(AgencyId(a.agency) for a in listed)}))

    def membership(n: int, founding: bytes | None) -> Membership:
        return Membership(
            channel=ChannelId(JIT),
            kind=ChannelKind.JIT,
            name="JIT Colombia-Spain 2026/07",
            owners=(squatter.agency,),
            threshold=1,
            members=members,
            version=n,
            issued_ms=now,
            expires_ms=now + 30 * DAY_MS,
            founding=founding,
        )

    founding = founding_digest(membership(1, None).to_bytes())
    return sign_membership(propose_membership(membership(version, founding)), squatter)


async def _squat_refused(
    squatter: Agency, target: Agency, listed: list[Agency], keys: dict[str, AgencyKeys]
) -> list[str]:
    """The squatter pushes its "version 1000" of the JIT to ``target``: refused, and alarmed."""
    raw = _squat(keys[squatter.agency], [target, *listed], 1000)
    address = NodeAddress(agency=AgencyId(target.agency), url=target.url)
    print(
        f"  {squatter.agency:16} squats {JIT}: its own version 1000, itself sole owner, "
        f"pushed to {target.agency}"
    )
    problems: list[str] = []
    async with new_session() as session:
        try:
            await push_memberships(session, keys[squatter.agency], address, [raw])
            problems.append(f"squat: {target.agency} accepted {squatter.agency}'s version 1000")
        except BalizaError as err:
            if "channel_unfounded" not in str(err):
                problems.append(f"squat: refused for another reason: {err}")
    status = await target.api().get("/api/v1/status", {})
    raised = [
        a
        for a in status.get("channel_alarms", [])
        if (a["channel"], a["reason"]) == (JIT, "channel_unfounded")
        and squatter.agency in a["actor"]
    ]
    if not raised:
        problems.append(f"squat: no alarm in {target.agency}'s status")
    if await _version(target, JIT) is not None:
        problems.append(f"squat: {target.agency} holds {JIT}")
    if not problems:
        print(
            f"  {target.agency:16} refuses it (channel_unfounded) and raises the alarm: "
            f"ALARM channel {JIT} in its status, console and metrics"
        )
    return problems


async def _cosign(a: Agency, channel: str, proposal: str) -> None:
    """Sign another owner's proposal as an owner does: read its changes, confirm what was read."""
    path = f"/api/v1/channels/{channel}/proposals"
    review = await a.admin().post(f"{path}/review", {"proposal": proposal})
    await a.admin().post(path, {"proposal": proposal, "confirm": review["fingerprint"]})


async def play_channels(agencies: list[Agency], passphrase: bytes) -> list[str]:
    """Play the channel scenario and check it from outside; return the problems found."""
    gye, ctg, pty, alg, mad = (
        next(a for a in agencies if a.agency == name)
        for name in ("ec.polnac.gye", "co.polfa.ctg", "pa.senan.pty", "es.aduanas.alg", "es.gc.mad")
    )
    keys = {a.agency: load_keys(a.data_dir, passphrase) for a in agencies}
    problems: list[str] = []
    print("\nChannels:")

    programme = [ctg, pty, alg]
    await gye.admin().post(
        "/api/v1/channels",
        {
            "id": CCP,
            "kind": "programme",
            "name": "Container programme, Pacific to Europe",
            "programme": "ccp",
            "members": [a.agency for a in programme],
        },
    )
    print(f"  {gye.agency:16} founds {CCP} with {', '.join(a.agency for a in programme)}")

    async def ccp_known() -> bool:
        return all([await _version(a, CCP) == 1 for a in programme])

    problems += [p for p in [await _until(ccp_known, f"{CCP} v1 everywhere")] if p]
    now = time.time_ns() // 1_000_000
    alert = await _post(gye, CCP, _alert(gye.agency, now), "amber")
    print(f"  {gye.agency:16} -> channel {CCP:24} pre-arrival alert on MSKU8912345")
    problems += await _reach(gye, alert, programme, [mad], keys, "programme alert")

    jit_members = [alg, mad]
    proposed = await ctg.admin().post(
        "/api/v1/channels",
        {
            "id": JIT,
            "kind": "jit",
            "name": "JIT Colombia-Spain 2026/07",
            "programme": "jit",
            "owners": [ctg.agency, alg.agency],
            "threshold": 2,
            "members": [a.agency for a in jit_members],
        },
    )
    await _cosign(alg, JIT, proposed["proposal"])
    print(f"  {ctg.agency:16} and {alg.agency} (both owners sign) found {JIT} with {mad.agency}")

    async def jit_known() -> bool:
        return all([await _version(a, JIT) == 1 for a in (ctg, alg, mad)])

    problems += [p for p in [await _until(jit_known, f"{JIT} v1 everywhere")] if p]
    first = await _post(ctg, JIT, _case(ctg.agency, "active"), "red")
    print(f"  {ctg.agency:16} -> channel {JIT:24} case notice (stays inside the JIT)")
    problems += await _reach(ctg, first, [alg, mad], [gye, pty], keys, "JIT case notice")

    removal = await ctg.admin().post(f"/api/v1/channels/{JIT}/members", {"remove": [mad.agency]})
    await _cosign(alg, JIT, removal["proposal"])
    print(f"  {ctg.agency:16} and {alg.agency} remove {mad.agency} from {JIT} (version 2)")

    async def removed() -> bool:
        return all([await _version(a, JIT) == 2 for a in (ctg, alg, mad)])

    problems += [p for p in [await _until(removed, f"{JIT} v2 everywhere")] if p]
    second = await _post(alg, JIT, _case(alg.agency, "closed"), "red")
    print(f"  {alg.agency:16} -> channel {JIT:24} case update after the removal")
    problems += await _reach(alg, second, [ctg], [mad, gye, pty], keys, "case after removal")
    problems += await _squat_refused(mad, pty, [ctg, alg], keys)
    if not problems:
        print(
            "  checked: members read each channel notice, nobody else can; "
            f"{mad.agency}'s own keys cannot open the case update sent after its removal, "
            "and its squat of the JIT's id was refused and raised as an alarm"
        )
    return problems
