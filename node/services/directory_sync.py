"""Applying a federation directory version, and passing it on (gossip).

A new version can arrive from an administrator (CLI or admin API), from a
peer that pushes it, or from a peer this node polls. Whatever the source,
it goes through the same pure trust rules (``TrustedDirectory``: rollback,
freeze, threshold of current and new administrators), is stored with the
history of versions, recorded as a trust event, put in force in one step,
and pushed on to every peer, so all nodes converge without a central server
— in one gossip round when every node can reach the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import aiohttp
from sqlalchemy import Connection

from baliza.crypto import PublicKeys
from baliza.crypto.directory import TrustedDirectory, diff, directory_fingerprint, signers
from baliza.crypto.directory_review import utc
from baliza.node.core.clock import now_ms
from baliza.node.core.notify import DIRECTORY_CHANNEL, signal_in
from baliza.node.core.trust import NodeAddress, TrustView
from baliza.node.services.context import NodeContext
from baliza.node.services.fedclient import push_directory
from baliza.node.storage import Database
from baliza.node.storage.directory import DirectoryVersion
from baliza.node.storage.sql import directory as directory_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.protocol.directory import SignedDirectory
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError

log = logging.getLogger(__name__)


async def load_directory(db: Database) -> TrustedDirectory | None:
    """The newest directory this node applied before, or None on a new node."""
    latest = await db.run(directory_rows.latest_version, write=False)
    return None if latest is None else TrustedDirectory.restore(latest.raw)


def _record(
    connection: Connection,
    versions: Sequence[DirectoryVersion],
    *,
    actor: str,
    in_force: int,
    detail: Mapping[str, Any],
) -> bool:
    """The unit that applies directory versions: store them, log it, tell the other workers.

    False, and nothing logged, when every version was stored already: the
    same version pushed by two peers at once was applied by the other push.
    """
    if not directory_rows.insert_versions(connection, versions):
        return False
    trust_rows.record_event(
        connection,
        at_ms=versions[-1].applied_ms,
        actor=actor,
        action="directory.applied",
        subject=f"version {in_force}",
        detail=detail,
    )
    # Other workers on the same PostgreSQL database put it in force too.
    signal_in(connection, DIRECTORY_CHANNEL, [str(in_force)])
    return True


async def apply_directory(
    ctx: NodeContext, signed: bytes, *, actor: str, fingerprint: str | None = None
) -> bool:
    """Apply ``signed`` if it is a newer valid version; return whether it changed anything.

    Refusals raise with the rule's reason code and leave the node's trust
    exactly as it was; success puts the new version in force in one step.
    """
    trusted = await store_directory(
        ctx.db, ctx.trust.directory, signed, actor=actor, fingerprint=fingerprint
    )
    if trusted is None:
        return False
    ctx.set_trust(TrustView(ctx.trust.me, trusted))
    ctx.count("baliza_directory_versions_applied_total")
    return True


async def store_directory(
    db: Database,
    current: TrustedDirectory | None,
    signed: bytes,
    *,
    actor: str,
    fingerprint: str | None = None,
) -> TrustedDirectory | None:
    """Check ``signed`` against ``current``, record it and return the new trust (None: no change).

    The first directory a node ever applies must be pinned by its
    fingerprint, read out of band; every later one must pass the update rules
    against the one in force. Works on a stopped node too (``--offline``).
    """
    now = now_ms()
    incoming = SignedDirectory.from_bytes(signed)
    if current is None:
        if not fingerprint:
            raise TrustError(
                ReasonCode.UNKNOWN_KEY,
                "the first directory must be pinned: pass its fingerprint, read out of band",
                path="fingerprint",
            )
        trusted = TrustedDirectory.bootstrap(signed, now, fingerprint=fingerprint)
        changes = ["founding directory"]
    else:
        if incoming.signed == SignedDirectory.from_bytes(current.signed_bytes).signed:
            return None  # the version in force (perhaps with other signatures)
        trusted = TrustedDirectory.restore(current.signed_bytes)
        trusted.update(signed, now)
        changes = diff(current.directory, trusted.directory)
    directory = trusted.directory
    who = [p.agency for p in signers(signed, trusted.administrators())]
    version = DirectoryVersion(
        version=directory.version,
        applied_ms=now,
        expires_ms=directory.expires_ms,
        raw=signed,
        signers=tuple(who),
    )
    detail = {"signers": who, "changes": changes, "expires_ms": directory.expires_ms}
    recorded = await db.run(
        partial(
            _record, versions=[version], actor=actor, in_force=directory.version, detail=detail
        ),
        write=True,
    )
    if not recorded:
        return None  # applied at the same moment through another push
    log.info("directory version %d in force (%s)", directory.version, "; ".join(changes))
    return trusted


async def apply_directory_chain(ctx: NodeContext, chain: list[bytes], *, actor: str) -> bool:
    """Apply the versions a node missed, in order (an administrator change in between).

    Each version must be signed as the one before it requires; only the last
    must be unexpired. All or nothing: on any refusal trust stays as it was.
    """
    current = ctx.trust.directory
    if current is None or not chain:
        return False
    have = current.directory.version
    chain = [v for v in chain if SignedDirectory.from_bytes(v).directory.version > have]
    if not chain:
        return False
    trusted = TrustedDirectory.restore(current.signed_bytes)
    now = now_ms()
    trusted.update_chain(chain, now)
    directories = [SignedDirectory.from_bytes(signed).directory for signed in chain]
    versions = [
        DirectoryVersion(
            version=directory.version,
            applied_ms=now,
            expires_ms=directory.expires_ms,
            raw=signed,
            signers=(),
        )
        for directory, signed in zip(directories, chain, strict=True)
    ]
    detail = {
        "chain": [directory.version for directory in directories],
        "changes": diff(current.directory, trusted.directory),
    }
    recorded = await ctx.db.run(
        partial(
            _record,
            versions=versions,
            actor=actor,
            in_force=trusted.directory.version,
            detail=detail,
        ),
        write=True,
    )
    if not recorded:
        return False  # applied at the same moment through another push
    ctx.set_trust(TrustView(ctx.trust.me, trusted))
    ctx.count("baliza_directory_versions_applied_total", len(chain))
    return True


def gossip(
    ctx: NodeContext, session: aiohttp.ClientSession, signed: bytes, *, skip: Iterable[str] = ()
) -> list[asyncio.Task[None]]:
    """Push ``signed`` to every peer but those in ``skip``, in the background."""
    skipped = set(skip)
    keyring = list(ctx.keyring)

    async def push(node: NodeAddress) -> None:
        try:
            await push_directory(session, keyring, node, signed)
        except BalizaError as err:
            log.info("directory gossip to %s: %s", node.agency, err)

    return [
        asyncio.create_task(push(node), name=f"gossip {node.agency}")
        for node in ctx.trust.member_nodes()
        if node.agency not in skipped
    ]


def describe_directory(signed: bytes) -> dict[str, Any]:
    """A directory as JSON for people: version, expiry, administrators, members, key states."""
    document = SignedDirectory.from_bytes(signed)
    directory = document.directory
    admins = [PublicKeys.from_bytes(a.data) for a in directory.administrators]
    members = []
    for member in directory.members:
        keys = []
        for record in member.keys:
            public = PublicKeys.from_bytes(record.keys.data)
            keys.append(
                {
                    "fingerprint": public.fingerprint(),
                    "signing_key_id": bytes(public.signing_key_id).hex(),
                    "valid_from": utc(record.valid_from_ms),
                    "valid_until": utc(record.valid_until_ms),
                    "revoked": None if record.revoked_ms is None else utc(record.revoked_ms),
                    "revocation_reason": record.revocation_reason,
                }
            )
        members.append(
            {
                "agency": member.agency,
                "name": member.name,
                "country": member.country,
                "node_url": member.node_url,
                "programmes": [p.value for p in member.programmes],
                "keys": keys,
            }
        )
    return {
        "federation": directory.federation,
        "version": directory.version,
        "issued": utc(directory.issued_ms),
        "expires": utc(directory.expires_ms),
        "threshold": directory.threshold,
        "fingerprint": directory_fingerprint(signed),
        "administrators": [{"agency": a.agency, "fingerprint": a.fingerprint()} for a in admins],
        "signatures": len(document.signatures),
        "members": members,
    }
