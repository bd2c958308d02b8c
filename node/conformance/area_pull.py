"""Pull and catch-up (chapter 05 §3): the outbox a member reads from the target.

The notice the operator sent A could not be pushed (A's node URL leads
nowhere); the outbox must serve it anyway, signed by the target's listed key
and sealed to A's, and must serve B nothing addressed to A alone.
"""

from __future__ import annotations

from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.outbox import PATH, everything, opened, operators_notice, page
from baliza.node.conformance.verdict import Failed

SECTION = "05 §3"


@check("pull", "page-shape", SECTION, "a page is ascending by seq, next = the last seq")
async def page_shape(run: Run) -> None:
    items, nxt = await page(run, "a", "after=0")
    seqs = [s for s, _ in items]
    if seqs != sorted(set(seqs)):
        raise Failed(f"seq not strictly ascending: {seqs[:10]}")
    if items and nxt != seqs[-1]:
        raise Failed(f"next is {nxt}, the last seq is {seqs[-1]}")
    if not items and nxt != 0:
        raise Failed(f"an empty page after 0 must say next 0, said {nxt}")


@check("pull", "catch-up", SECTION, "the notice the target could not push to A is served by pull")
async def catch_up(run: Run) -> None:
    item = await operators_notice(run)
    if run.kit["a"].agency not in item.envelope.header.recipients:
        raise Failed("the envelope found does not name A among its recipients")


@check(
    "pull", "envelopes-verify", "02 §6", "every envelope A pulls verifies and opens with A's keys"
)
async def envelopes_verify(run: Run) -> None:
    items = await everything(run, "a")
    if not items:
        raise Failed("A's outbox is empty (see STEPS.txt, step 2)")
    for _, raw in items:
        item = opened(run, raw)
        header = item.envelope.header
        if header.sender != run.kit.target.agency:
            raise Failed(f"the outbox served an envelope of {header.sender}")


@check("pull", "cursor-end", SECTION, "after the last seq: no items, next = after")
async def cursor_end(run: Run) -> None:
    items = await everything(run, "a")
    last = items[-1][0] if items else 0
    got, nxt = await page(run, "a", f"after={last}")
    if got or nxt != last:
        raise Failed(f"after={last}: {len(got)} items, next {nxt}")


@check("pull", "limit", SECTION, "limit=1 serves at most one item")
async def limit(run: Run) -> None:
    got, _ = await page(run, "a", "after=0&limit=1")
    if len(got) > 1:
        raise Failed(f"limit=1 served {len(got)} items")


@check("pull", "only-the-callers", SECTION, "B's outbox holds nothing addressed to A alone")
async def only_the_callers(run: Run) -> None:
    mine = await operators_notice(run)
    for _, raw in await everything(run, "b"):
        if raw == mine.envelope.raw:
            raise Failed("B was served the notice sealed to A")


@check("pull", "bad-cursor", SECTION, "after=abc: 422 bad_format")
async def bad_cursor(run: Run) -> None:
    answer = await run.target.call(run.kit["a"], "GET", f"{PATH}?after=abc")
    answer.expect_refusal("bad_format", 422)


@check("pull", "negative-cursor", SECTION, "after=-1: 422 out_of_range")
async def negative_cursor(run: Run) -> None:
    answer = await run.target.call(run.kit["a"], "GET", f"{PATH}?after=-1")
    answer.expect_refusal("out_of_range", 422)


@check("pull", "zero-limit", SECTION, "limit=0: 422 out_of_range")
async def zero_limit(run: Run) -> None:
    answer = await run.target.call(run.kit["a"], "GET", f"{PATH}?after=0&limit=0")
    answer.expect_refusal("out_of_range", 422)
