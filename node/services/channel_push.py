"""What a member's channel push may cost this node, decided before a signature is checked.

``POST /fed/v1/channels`` carries up to 50 membership versions of 16 owner
signatures each, and one request token used to buy all of them (~75 ms of
event loop for a maximal chain; issue 17, item 6). Here, before the trust
rules of ``services.channels`` run:

- ``read_push`` bounds the request: at most ``MAX_CHAIN`` versions and
  ``MAX_PUSH_SIGNATURES`` signature entries in all (``too_large``), one
  channel, and this agency named in some version (``not_a_recipient``);
- ``Push.work`` is the number of signature entries in the versions this node
  does not hold yet: an upper bound of the checks applying it can cause,
  which the HTTP layer charges to the origin before applying it;
- ``RefusedChains`` remembers chains the rules refused, keyed by their bytes
  and by everything else the outcome depends on (the version held here and
  the directory version), so the same bytes pushed again are refused with the
  same reason without being verified twice. Entries age out, and a restart
  forgets them: memory is bounded, and nothing is refused for long on a
  stale fact (another worker may have applied a version meanwhile).

The checks themselves run off the event loop when they are many
(``services.channels``); this module only reads and counts.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

from baliza.crypto.channels import parse_membership
from baliza.node.services.channels import MAX_CHAIN
from baliza.node.services.context import NodeContext
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.channels import SignedMembership
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, ChannelId

# An honest chain carries a threshold of owners' signatures per version (one
# to three in practice): 50 versions of four each fit.
MAX_PUSH_SIGNATURES = 200
REMEMBERED_REFUSALS = 1024
REMEMBER_FOR_MS = 10 * 60 * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """The version of a channel in force here (``None`` fields: none held)."""

    version: int | None
    signed: bytes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Push:
    """A pushed chain, parsed and within bounds, not yet checked by the trust rules."""

    channel: ChannelId
    chain: tuple[bytes, ...]
    documents: tuple[SignedMembership, ...]
    digest: bytes

    def work(self, held: Held) -> int:
        """Signature entries in the versions not held here: what applying may make this node check.

        The version in force (same signed bytes) and older ones are skipped
        by the rules without a check; anything else may be checked, twice
        when it changes the owners, but counting entries once is the bound
        the charge is set against.
        """
        return sum(
            len(d.signatures)
            for d in self.documents
            if held.version is None
            or d.membership.version > held.version
            or (d.membership.version == held.version and d.signed != held.signed)
        )


def read_push(chain: list[bytes], me: AgencyId) -> Push:
    """Parse and bound a pushed chain; raise before any signature is checked."""
    if not chain:
        raise InputError(ReasonCode.BAD_LENGTH, "an empty chain", path="versions")
    if len(chain) > MAX_CHAIN:
        raise InputError(ReasonCode.TOO_LARGE, f"at most {MAX_CHAIN} versions", path="versions")
    documents = []
    for i, raw in enumerate(chain):
        try:
            documents.append(parse_membership(raw))
        except InputError as err:
            raise err.at(f"versions[{i}]") from None
    entries = sum(len(d.signatures) for d in documents)
    if entries > MAX_PUSH_SIGNATURES:
        raise InputError(
            ReasonCode.TOO_LARGE,
            f"{entries} signature entries; at most {MAX_PUSH_SIGNATURES} per request",
            path="versions",
        )
    channels = {d.membership.channel for d in documents}
    if len(channels) != 1:
        raise InputError(ReasonCode.INCONSISTENT, "one channel per chain", path="versions")
    if not any(me in d.membership.members for d in documents):
        raise TrustError(ReasonCode.NOT_A_RECIPIENT, "this agency is in no version of the chain")
    digest = hashlib.sha256(b"".join(len(raw).to_bytes(4, "big") + raw for raw in chain)).digest()
    return Push(
        channel=ChannelId(channels.pop()),
        chain=tuple(chain),
        documents=tuple(documents),
        digest=digest,
    )


async def held_version(ctx: NodeContext, channel: ChannelId) -> Held:
    """The version of ``channel`` in force here, as ``Push.work`` and the memory key need it."""
    latest = await ctx.db.run(partial(channel_rows.latest, channel=channel), write=False)
    if latest is None:
        return Held(version=None, signed=None)
    return Held(version=latest.version, signed=parse_membership(latest.raw).signed)


@dataclass(frozen=True, slots=True)
class _Refusal:
    error: BalizaError
    until_ms: int


class RefusedChains:
    """Chains the trust rules refused, recalled by (bytes, version held, directory version).

    Only refusals of the chain itself are kept (``InputError`` and
    ``TrustError``); ``busy`` and storage failures say nothing about the
    bytes. Bounded in entries (the oldest go first) and in time.
    """

    def __init__(self, capacity: int = REMEMBERED_REFUSALS) -> None:
        self._capacity = capacity
        self._refused: OrderedDict[tuple[bytes, int | None, int | None], _Refusal] = OrderedDict()
        self.recalled = 0

    @staticmethod
    def key(
        push: Push, held: Held, directory_version: int | None
    ) -> tuple[bytes, int | None, int | None]:
        """What the outcome of checking ``push`` depends on, besides the clock."""
        return (push.digest, held.version, directory_version)

    def recall(self, key: tuple[bytes, int | None, int | None], now_ms: int) -> None:
        """Raise the remembered refusal of this chain, if there is one still fresh."""
        refusal = self._refused.get(key)
        if refusal is None:
            return
        if refusal.until_ms <= now_ms:
            del self._refused[key]
            return
        self.recalled += 1
        err = refusal.error
        raise type(err)(err.reason, f"refused before: {err.detail}", path=err.path)

    def remember(
        self, key: tuple[bytes, int | None, int | None], error: BalizaError, now_ms: int
    ) -> None:
        """Keep ``error`` as the answer to this chain for a while, if it is about the chain."""
        if not isinstance(error, InputError | TrustError) or error.reason is ReasonCode.BUSY:
            return
        self._refused[key] = _Refusal(error=error, until_ms=now_ms + REMEMBER_FOR_MS)
        self._refused.move_to_end(key)
        while len(self._refused) > self._capacity:
            self._refused.popitem(last=False)
