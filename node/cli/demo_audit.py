"""The demo's audit log scene (spec chapter 11 §6), checked from outside.

1. The sender of a delivered notice asks its recipient for an inclusion
   proof of the envelope and verifies it against the recipient's signed
   head (``GET /api/v1/admin/audit/delivered/{id}?peer=``).
2. A node is made to sign a second head of the same size as the one its
   peers hold, over another root, with its own key (as an intruder holding
   its database and key files would). Handed to each peer, it is refused as
   ``audit_equivocation`` and raised as an alarm there (status endpoint),
   both heads kept.
"""

from __future__ import annotations

import time

from baliza.crypto.audit import sign_tree_head
from baliza.node.cli.demo_agency import Agency
from baliza.node.cli.demo_scenario import Step
from baliza.node.core.keyring import load_keys
from baliza.protocol.audit import TreeHead
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.ids import AgencyId


async def prove_delivery(agencies: list[Agency], step: Step) -> list[str]:
    """The sender of ``step`` verifies each recipient's inclusion proof of its envelope."""
    by_id = {a.agency: a for a in agencies}
    sender = by_id[step.sender]
    eid = sender.published[step.key]
    problems = []
    for recipient in step.recipients:
        try:
            proof = await sender.admin().get(
                f"/api/v1/admin/audit/delivered/{eid}", {"peer": recipient}
            )
        except BalizaError as err:
            problems.append(f"audit: {recipient} did not prove it logged {eid}: {err}")
            continue
        print(
            f"  {step.sender:16} verified {recipient}'s proof: {step.key} is leaf "
            f"{proof['index']} of its log, signed head of size {proof['size']} "
            f"root {str(proof['root'])[:16]}…"
        )
    return problems


async def play_equivocation(agencies: list[Agency], liar: Agency, passphrase: bytes) -> list[str]:
    """``liar`` signs two heads of one size; every other node refuses it and raises an alarm."""
    keys = load_keys(liar.data_dir, passphrase)
    problems: list[str] = []
    for peer in agencies:
        if peer is liar:
            continue
        held = await peer.admin().post(f"/api/v1/admin/audit/peers/{liar.agency}/check", {})
        other = bytes(32 - len(b"rewritten")) + b"rewritten"
        forged = sign_tree_head(
            keys,
            TreeHead(
                log=AgencyId(liar.agency),
                size=int(held["size"]),
                root=other,
                at_ms=time.time_ns() // 1_000_000,
            ),
        )
        try:
            await peer.admin().post(
                f"/api/v1/admin/audit/peers/{liar.agency}/check",
                {"signed_head": forged.to_bytes().hex()},
            )
            problems.append(f"audit: {peer.agency} took {liar.agency}'s second head")
            continue
        except BalizaError as err:
            if err.reason is not ReasonCode.AUDIT_EQUIVOCATION:
                problems.append(f"audit: {peer.agency} refused it for another reason: {err}")
                continue
        status = await peer.admin().get("/api/v1/status", {})
        raised = [a for a in status.get("audit_alarms", []) if a["peer"] == liar.agency]
        if not raised:
            problems.append(f"audit: {peer.agency} raised no alarm about {liar.agency}")
            continue
        print(
            f"  {peer.agency:16} ALARM {raised[0]['reason']}: {liar.agency} signed two heads "
            f"of size {held['size']}; both kept as evidence"
        )
    return problems


async def play_audit(agencies: list[Agency], steps: list[Step], passphrase: bytes) -> list[str]:
    """Play the audit scene; return the problems found."""
    print("\nAudit logs (signed tree heads, checked by peers):")
    problems = await prove_delivery(agencies, steps[0])
    liar = next(a for a in agencies if a.agency == steps[0].recipients[0])
    problems += await play_equivocation(agencies, liar, passphrase)
    return problems
