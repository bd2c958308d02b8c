"""Reviewed draft alerts published as one batch: every draft checked before the first is sent.

A targeting list read from a spreadsheet (``exchange.manifest``) becomes
drafts the officer reviews; this publishes them, from the API and from the
console alike. Each draft is validated as ``POST /api/v1/notices`` would
before anything is stored, so a batch with a bad draft publishes nothing
and names the draft. A draft refused afterwards by a rule that reads the
node's state (a recipient that left the directory in between) stops the
batch there: what was sent stays sent, and the outcome says where it
stopped, so the officer never guesses which alerts went.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.person_actions import record_published
from baliza.node.services.publish import Published, PublishRequest, publish
from baliza.protocol.errors import BalizaError, InputError, ReasonCode

log = logging.getLogger(__name__)
MAX_BATCH = 500


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch became: the alerts sent, and where and why it stopped (if it did)."""

    published: tuple[Published, ...]
    stopped_at: int | None = None
    error: BalizaError | None = None


def batch_requests(body: Any) -> list[PublishRequest]:
    """Validate ``{"drafts": [...], "recipients": ..., "handling": ...}`` draft by draft.

    The fields beside ``drafts`` are shared by every draft (recipients or a
    channel, handling). Only alerts are imported; an error names its draft
    (``drafts[3].notice.expected_ms``).
    """
    if not isinstance(body, dict) or not isinstance(body.get("drafts"), list):
        raise InputError(ReasonCode.MISSING_FIELD, "a list of reviewed drafts", path="drafts")
    drafts = body["drafts"]
    if not 1 <= len(drafts) <= MAX_BATCH:
        raise InputError(ReasonCode.BAD_LENGTH, f"1 to {MAX_BATCH} drafts", path="drafts")
    shared = {k: v for k, v in body.items() if k != "drafts"}
    requests: list[PublishRequest] = []
    for index, draft in enumerate(drafts):
        try:
            if not isinstance(draft, dict) or draft.get("kind") != "notice.alert":
                raise InputError(ReasonCode.UNKNOWN_KIND, "only alerts are imported", path="kind")
            requests.append(PublishRequest.from_json({**shared, "notice": draft}))
        except BalizaError as err:
            raise err.at(f"drafts[{index}]") from None
    return requests


async def publish_batch(
    ctx: NodeContext, requests: list[PublishRequest], *, publisher: str | None = None
) -> BatchOutcome:
    """Publish checked drafts in order; ``publisher`` (a person's account, or a token's
    owner) is recorded."""
    sent: list[Published] = []
    outcome = BatchOutcome(())
    for index, publication in enumerate(requests):
        try:
            sent.append(await publish(ctx, publication))
        except BalizaError as err:
            log.warning("batch of %d stopped at draft %d: %s", len(requests), index, err)
            outcome = BatchOutcome((), index, err)
            break
    if publisher is not None:
        ids = [i for p in sent for i in p.envelope_ids]
        await record_published(ctx.db, publisher, ids, now_ms())
    return BatchOutcome(tuple(sent), outcome.stopped_at, outcome.error)
