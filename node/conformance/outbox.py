"""Reading the target's outbox as a member (chapter 05 §3), and what the operator sent A.

``prepare`` asks the target's operator to send member A a notice with an
attachment; the pull and attachment areas find it here. The target cannot
push it (A's node URL leads nowhere), so it waits in the outbox, which is
what catch-up by pull is for.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.crypto import open_envelope
from baliza.crypto.seal import verify_envelope
from baliza.node.conformance.checks import Run
from baliza.node.conformance.verdict import Failed
from baliza.protocol.envelope import Envelope, parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.federation import decode_outbox_page
from baliza.protocol.notices import Notice
from baliza.protocol.notices.common import Attachment

PATH = "/fed/v1/outbox"
MAX_PAGES = 50


async def page(run: Run, role: str, query: str) -> tuple[list[tuple[int, bytes]], int]:
    """One page of ``role``'s outbox at the target."""
    answer = await run.target.call(run.kit[role], "GET", f"{PATH}?{query}")
    return decode_outbox_page(answer.expect_msgpack(f"GET {PATH}?{query}"))


async def everything(run: Run, role: str) -> list[tuple[int, bytes]]:
    """Every item of ``role``'s outbox, page by page from the start."""
    items: list[tuple[int, bytes]] = []
    cursor = 0
    for _ in range(MAX_PAGES):
        got, nxt = await page(run, role, f"after={cursor}")
        items.extend(got)
        if not got or nxt <= cursor:
            return items
        cursor = nxt
    raise Failed(f"the outbox did not end within {MAX_PAGES} pages")


@dataclass(frozen=True, slots=True)
class Delivered:
    """An envelope the target sealed to A, verified and opened with A's keys."""

    envelope: Envelope
    notice: Notice

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """The attachments the notice lists (none for kinds that have none)."""
        found: tuple[Attachment, ...] = getattr(self.notice, "attachments", ())
        return found


def opened(run: Run, raw: bytes, role: str = "a") -> Delivered:
    """Parse, verify with the target's listed key, open with ``role``'s keys; ``Failed`` if not."""
    try:
        envelope = parse_envelope(raw)
        verify_envelope(envelope, run.kit.target.keys)
        notice = open_envelope(envelope, recipient=run.kit[role], sender=run.kit.target.keys)
    except BalizaError as err:
        raise Failed(
            f"an outbox envelope fails the reference checks: {err.reason.value}: {err}"
        ) from None
    return Delivered(envelope, notice)


async def operators_notice(run: Run) -> Delivered:
    """The notice with an attachment that the target's operator sent A (STEPS.txt, step 2)."""
    known = run.facts.get("operators_notice")
    if isinstance(known, Delivered):
        return known
    for _, raw in reversed(await everything(run, "a")):
        item = opened(run, raw)
        if item.attachments:
            run.facts["operators_notice"] = item
            return item
    raise Failed(
        "the target's outbox holds no notice with an attachment for A: did its operator "
        "send notice.json with attachment.txt to A (STEPS.txt, step 2)?"
    )
