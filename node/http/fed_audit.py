"""The audit log between members (spec chapter 11 §6): heads, consistency and inclusion proofs.

Authenticated like every ``/fed/v1`` route (``federation.authenticate_peer``):
a member node, a key valid now, not blocked here.

* ``GET /fed/v1/audit/head``: the newest signed head, from memory
  (``HeadSigner.latest``): no database trip, so peers may ask after every
  push.
* ``GET /fed/v1/audit/heads``: the newest head this node accepted of every
  other member's log but the caller's (gossip, spec 11 §5), each as its
  signer signed it; one read, charged ``PROOF_COST``.
* ``GET /fed/v1/audit/consistency?first=&second=``: PROOF(first,
  D[second]) of this node's log; one read of O(log n) cached subtrees,
  charged ``PROOF_COST``.
* ``GET /fed/v1/audit/inclusion?envelope=``: the bundle proving that this
  node logged the envelope *the caller* delivered (an entry
  ``envelope.received`` whose peer is the caller): no other agency learns
  that an envelope exists here. Charged ``INCLUSION_COST`` (it may sign a
  head).
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.http.appkeys import ADMISSION, AUDIT_HEADS, NODE
from baliza.node.http.federation import authenticate_peer
from baliza.node.http.routes import Access, Route
from baliza.node.services.audit import consistency_between, export_bundle
from baliza.node.services.audit_peers import held_heads
from baliza.protocol.audit import EntryKind
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import envelope_id
from baliza.protocol.merkle import MAX_SIZE

PROOF_COST = 1
INCLUSION_COST = 2


async def get_head(request: web.Request) -> web.Response:
    """This node's newest signed tree head."""
    await authenticate_peer(request, with_body=False)
    signed = await request.app[AUDIT_HEADS].current()
    return web.Response(body=signed.to_bytes(), content_type=MEDIA_TYPE)


async def get_held_heads(request: web.Request) -> web.Response:
    """The newest heads this node holds of other members' logs, passed on as signed."""
    origin, _ = await authenticate_peer(request, with_body=False)
    request.app[ADMISSION].spend(origin, PROOF_COST)
    held = await held_heads(request.app[NODE], origin)
    return web.Response(body=held.to_bytes(), content_type=MEDIA_TYPE)


def _size(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
    if not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_SIZE:
        raise InputError(ReasonCode.BAD_FORMAT, "must be a tree size", path=name)
    return int(raw)


async def get_consistency(request: web.Request) -> web.Response:
    """PROOF(first, D[second]) of this node's log, for a peer holding a head of size ``first``."""
    origin, _ = await authenticate_peer(request, with_body=False)
    first, second = _size(request, "first"), _size(request, "second")
    request.app[ADMISSION].spend(origin, PROOF_COST)
    proof = await consistency_between(request.app[NODE], first, second)
    return web.Response(body=proof.to_bytes(), content_type=MEDIA_TYPE)


async def get_inclusion(request: web.Request) -> web.Response:
    """The bundle proving this node logged an envelope the caller delivered to it."""
    origin, _ = await authenticate_peer(request, with_body=False)
    eid = envelope_id(request.query.get("envelope", ""), "envelope")
    request.app[ADMISSION].spend(origin, INCLUSION_COST)
    bundle = await export_bundle(
        request.app[NODE], eid, kind=EntryKind.ENVELOPE_RECEIVED, peer=origin, with_content=False
    )
    return web.Response(body=bundle.to_bytes(), content_type=MEDIA_TYPE)


ROUTES = (
    Route("GET", "/fed/v1/audit/head", get_head, Access.PEER),
    Route("GET", "/fed/v1/audit/heads", get_held_heads, Access.PEER),
    Route("GET", "/fed/v1/audit/consistency", get_consistency, Access.PEER),
    Route("GET", "/fed/v1/audit/inclusion", get_inclusion, Access.PEER),
)
