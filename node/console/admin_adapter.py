"""What the administrator's pages read and decide beyond ``adapter``: subscriptions, proposals.

Part of the console's one door to the node. Subscriptions are listed from
the store the API lists them from, and decided by ``services.subscriptions
.change``, the function ``POST /api/v1/subscriptions/{id}/approve|refuse``
calls (so the other side is told by the same signed update). Directory
proposals are files administrators sign offline, each on a machine of their
own; the node keeps none, so the page reads the file an administrator
hands it and says, against the directory in force, what would change and
whose signatures it still waits for. Nothing is signed here; a proposal
signed by enough administrators is applied by the service the admin API
uses (``apply_and_gossip``), which checks it again.

Channel proposals are different: the node signs them with the agency's key.
The page reads one against the version in force (``channel_admin
.review_proposal``, as ``POST …/proposals/review`` does) and signs it through
``channel_admin.sign_proposal``, the function the API calls, so the console
asks the same confirmation and the same named changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from baliza.crypto import PublicKeys
from baliza.crypto.directory import diff, directory_fingerprint, signers
from baliza.node.services import channel_admin
from baliza.node.services import subscriptions as subscription_service
from baliza.node.services.context import NodeContext
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.rules.channel_signing import NamedChange
from baliza.node.services.views.sharing import Subscription, subscriptions_involving
from baliza.protocol.directory import SignedDirectory
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.ids import AgencyId
from baliza.protocol.subscriptions import SubscriptionState

# As the admin API bounds a directory it is handed.
MAX_DIRECTORY = 4 << 20
DECISIONS = {"approve": SubscriptionState.ADMITTED, "refuse": SubscriptionState.REFUSED}
UNDECIDED = frozenset({SubscriptionState.REQUESTED.value, SubscriptionState.PENDING.value})


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionView:
    """A subscription as the page shows it: our side, and whether we decide it now."""

    item: Subscription
    side: str  # "publisher" (a partner subscribes to us) or "subscriber"
    awaiting_us: bool
    # pause, resume, cancel: those the service's rule lets this side take now.
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AdministratorView:
    """One administrator of the directory in force, and whether it signed the proposal."""

    agency: str
    fingerprint: str
    signed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalView:
    """A directory proposal read against the version in force."""

    version: int
    fingerprint: str
    changes: list[str]
    administrators: list[AdministratorView]
    threshold: int
    signatures: int

    @property
    def complete(self) -> bool:
        """Whether enough administrators of the version in force have signed."""
        return sum(a.signed for a in self.administrators) >= self.threshold


async def subscriptions(ctx: NodeContext) -> list[SubscriptionView]:
    """Every subscription this node is a party to; those waiting for our decision first."""
    items = await subscriptions_involving(ctx)
    views = [
        SubscriptionView(
            item=item,
            side="publisher" if item.publisher == ctx.agency else "subscriber",
            awaiting_us=item.publisher == ctx.agency and item.state in UNDECIDED,
            actions=offered(item, ctx.agency),
        )
        for item in items
    ]
    return sorted(views, key=lambda v: (not v.awaiting_us, -v.item.updated_ms))


async def decide(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    sid: str,
    action: str,
    reason: str | None,
    user_id: str | None = None,
) -> bool:
    """Admit or refuse a pending request, as the API does; whether the subscriber was told."""
    if action not in DECISIONS:
        raise InputError(ReasonCode.BAD_ENUM, "must be approve or refuse", path="action")
    changed = await subscription_service.change(
        ctx, http, sid, DECISIONS[action], reason, decision=True, user_id=user_id
    )
    return changed.notified


# What either side does to a subscription once it is decided (the API's words and states).
STATE_CHANGES = {
    "pause": SubscriptionState.PAUSED,
    "resume": SubscriptionState.ADMITTED,
    "cancel": SubscriptionState.CANCELLED,
}


def offered(item: Subscription, me: AgencyId) -> tuple[str, ...]:
    """The changes ``me`` may make to ``item`` now, asked of the rule the service enforces."""
    if item.state in UNDECIDED:
        return ("cancel",) if item.subscriber == me else ()
    out = []
    for action, state in STATE_CHANGES.items():
        try:
            subscription_service.check_change(item, state, by=me)
        except BalizaError:
            continue
        out.append(action)
    return tuple(out)


async def change_state(
    ctx: NodeContext, http: aiohttp.ClientSession, sid: str, action: str, reason: str | None
) -> bool:
    """Pause, resume or cancel, as ``POST /api/v1/subscriptions/{id}/pause|…`` does."""
    if action not in STATE_CHANGES:
        raise InputError(ReasonCode.BAD_ENUM, "must be pause, resume or cancel", path="action")
    changed = await subscription_service.change(ctx, http, sid, STATE_CHANGES[action], reason)
    return changed.notified


def review_proposal(ctx: NodeContext, raw: bytes) -> ProposalView:
    """What a proposal file would change, and which administrators have signed it."""
    try:
        document = SignedDirectory.from_bytes(raw)
    except InputError as err:
        raise err.at("proposal") from None
    new = document.directory
    current = ctx.trust.directory
    administrators: tuple[PublicKeys, ...]
    if current is None:
        administrators = ()
        threshold = new.threshold
        changes = [f"version {new.version}: a new federation"]
    else:
        administrators = current.administrators()
        threshold = current.directory.threshold
        changes = diff(current.directory, new)  # none: the page says "No change"
    signed = {a.fingerprint() for a in signers(raw, administrators)}
    return ProposalView(
        version=new.version,
        fingerprint=directory_fingerprint(raw),
        changes=changes,
        administrators=[
            AdministratorView(
                agency=a.agency, fingerprint=a.fingerprint(), signed=a.fingerprint() in signed
            )
            for a in administrators
        ],
        threshold=threshold,
        signatures=len(document.signatures),
    )


async def apply_directory(delivery: DeliveryService, signed: bytes, *, actor: str) -> bool:
    """Apply a signed directory here and gossip it, as ``POST /api/v1/admin/directory`` does.

    The node's own checks decide (signatures of the administrators in
    force, no rollback, revocations kept); a refusal names its rule.
    """
    if len(signed) > MAX_DIRECTORY:
        raise InputError(ReasonCode.TOO_LARGE, "directory too large", path="proposal")
    return await delivery.apply_and_gossip(signed, actor=actor)


async def review_channel_proposal(ctx: NodeContext, raw: bytes) -> channel_admin.ProposalReview:
    """What a channel proposal file changes against the version in force, and who signed it."""
    return await channel_admin.review_proposal(ctx, raw)


async def sign_channel_proposal(
    ctx: NodeContext,
    delivery: DeliveryService,
    raw: bytes,
    *,
    confirm: str | None,
    accept: frozenset[NamedChange],
) -> channel_admin.Signed:
    """Sign as the API does; a version this signature completes is passed on to the members."""
    signed = await channel_admin.sign_proposal(ctx, raw, confirm=confirm, accept=accept)
    if signed.applied is not None:
        delivery.channels.gossip(signed.applied)
    return signed
