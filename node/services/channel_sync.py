"""How channel memberships travel between nodes, and how a stale channel notice is re-sealed.

- Gossip: a version new here is pushed (with the channel's whole chain, a
  few small documents) to the members of the old and the new list, except
  the node it came from; each of them passes it on the same way. A removed
  member gets the chain only up to the version that removed it
  (``rules.channel_reach``): never who joined after it left.
- Catch-up: a node pulls, from the owners of each channel it is in, the
  versions it missed (``GET /fed/v1/channels/{id}?since=N``).
- Repair on refusal: a receiver that does not hold the version an envelope
  names answers ``membership_unknown``; the courier keeps the row pending and
  pushes the chain. A receiver that knows a later version which removed
  somebody answers ``membership_stale``; the sender then learns that version
  from it and seals the notice again, to the current members, for that
  receiver only, so nothing is lost and the removed member gets nothing new.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from functools import partial

import aiohttp
from sqlalchemy import Connection

from baliza.crypto import open_envelope
from baliza.node.core.clock import now_ms
from baliza.node.core.trust import NodeAddress, Peer
from baliza.node.services.channels import Applied, apply_chain, chain_for, keep_held
from baliza.node.services.context import NodeContext
from baliza.node.services.fedclient import fetch_memberships, push_memberships
from baliza.node.services.publish import PublishRequest, publish
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import AgencyId, ChannelId

log = logging.getLogger(__name__)


class ChannelSync:
    """Pushes, pulls and repairs channel memberships for one node."""

    def __init__(self, ctx: NodeContext, session: aiohttp.ClientSession) -> None:
        self._ctx = ctx
        self._session = session
        self._tasks: set[asyncio.Task[None]] = set()
        # Couriers of two peers that both refused a stale notice learn the
        # same version at once; one at a time, the second finds it applied.
        self._applying = asyncio.Lock()

    async def apply_and_gossip(
        self, chain: list[bytes], *, actor: str, skip: Iterable[str] = ()
    ) -> Applied | None:
        """Apply a chain and, if it changed anything here, pass it on in the background."""
        async with self._applying:
            applied = await apply_chain(self._ctx, chain, actor=actor)
        if applied is not None:
            self.gossip(applied, skip=skip)
        return applied

    def gossip(self, applied: Applied, *, skip: Iterable[str] = ()) -> None:
        """Push the channel's chain to the members of the old and new lists but ``skip``."""
        skipped = {*skip, self._ctx.agency}
        for agency in sorted(applied.audience - skipped):
            task = asyncio.create_task(
                self._push(agency, applied.channel), name=f"membership {agency}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel pushes still in flight."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    async def _push(self, agency: AgencyId, channel: ChannelId) -> None:
        directory = self._ctx.trust.directory
        member = directory.directory.member(agency) if directory else None
        if member is None:
            return
        try:
            await self.share(NodeAddress(agency=agency, url=member.node_url), [channel])
        except BalizaError as err:
            log.info("membership push of %s to %s: %s", channel, agency, err)

    async def share(self, peer: Peer | NodeAddress, channels: Iterable[str]) -> None:
        """Push each channel's chain, as far as ``peer`` may see it (it skips what it holds)."""
        chains = await self._ctx.db.run(
            partial(_chains, channels=list(dict.fromkeys(channels)), agency=peer.agency),
            write=False,
        )
        for chain in chains:
            if chain:
                await push_memberships(self._session, self._ctx.signing_keys(), peer, chain)

    async def resolve_alarm(
        self, channel: ChannelId, *, source: Peer | None, actor: str
    ) -> Applied | None:
        """The administrator's decision on a channel whose sends are paused.

        ``source`` None keeps the chain held; otherwise the chain ``source``
        holds is pulled from its version 1, checked as if nothing were held,
        and replaces the chain held in one transaction (``apply_chain``
        ``replacing``), then goes to its members. Either way sends resume and
        a ``channel.alarm_resolved`` trust event says what was decided.
        Raises ``NOT_FOUND`` when sends to the channel are not paused.
        """
        if source is None:
            await self._ctx.db.run(
                partial(keep_held, channel=channel, at_ms=now_ms(), actor=actor), write=True
            )
            return None
        chain = await fetch_memberships(self._session, self._ctx.signing_keys(), source, channel, 0)
        async with self._applying:
            applied = await apply_chain(self._ctx, chain, actor=actor, replacing=True)
        if applied is not None:
            self.gossip(applied, skip=[source.agency])
        return applied

    async def catch_up(self, peer: Peer) -> None:
        """Pull what ``peer`` holds of the channels it owns and this node is in."""
        mine = await self._ctx.db.run(channel_rows.all_latest, write=False)
        for membership in mine:
            if peer.agency not in membership.owners:
                continue
            try:
                chain = await fetch_memberships(
                    self._session,
                    self._ctx.signing_keys(),
                    peer,
                    membership.channel,
                    membership.version,
                )
                await self.apply_and_gossip(chain, actor=f"pulled from {peer.agency}")
            except BalizaError as err:
                log.info("membership catch-up of %s from %s: %s", membership.channel, peer, err)

    async def reseal(self, peer: Peer, envelope_ids: Iterable[str]) -> list[str]:
        """Learn ``peer``'s newer memberships, then seal each notice again for it; new ids."""
        resealed: list[str] = []
        for eid in envelope_ids:
            raw = await self._ctx.db.run(
                partial(envelope_rows.sent_raw, envelope_id=eid), write=False
            )
            envelope = parse_envelope(raw)
            channel = envelope.header.channel
            if channel is None or envelope.header.membership_version is None:
                continue
            chain = await fetch_memberships(
                self._session,
                self._ctx.signing_keys(),
                peer,
                channel,
                envelope.header.membership_version,
            )
            await self.apply_and_gossip(chain, actor=f"learnt from {peer.agency}")
            latest = await self._ctx.db.run(
                partial(channel_rows.latest, channel=channel), write=False
            )
            if latest is None or peer.agency not in latest.members:
                continue  # the refusing peer left the channel: nothing more for it
            own = self._ctx.keyring.for_envelope(envelope)
            notice = open_envelope(envelope, recipient=own, sender=own.public())
            request = PublishRequest(
                notice=notice,
                channel=channel,
                handling=envelope.header.handling,
                supersedes=envelope.header.supersedes,
            )
            try:
                published = await publish(self._ctx, request, only=frozenset({peer.agency}))
            except BalizaError as err:
                # Not a member any more (or the channel expired): nothing to send.
                log.info("no re-seal of %s for %s: %s", eid, peer.agency, err)
                continue
            new_id = published.id or (published.non_nominal.id if published.non_nominal else None)
            log.info("re-sealed %s as %s for %s", eid, new_id, peer.agency)
            if new_id is not None:
                resealed.append(new_id)
        return resealed


def _chains(connection: Connection, *, channels: list[str], agency: str) -> list[list[bytes]]:
    """Unit of work: the signed chain of each channel that ``agency`` may see, oldest first."""
    return [chain_for(connection, channel=channel, agency=agency, since=0) for channel in channels]


def channels_named(raws: Iterable[bytes]) -> list[str]:
    """The channels the given envelopes were sealed to."""
    found = []
    for raw in raws:
        channel = parse_envelope(raw).header.channel
        if channel is not None:
            found.append(channel)
    return list(dict.fromkeys(found))
