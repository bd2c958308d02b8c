"""The history checker itself: a clean run passes, and each kind of anomaly is caught.

The fault tests are only as good as their checker, so each anomaly it looks
for is planted here, in a small hand-made history, and must be reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from history import Answer, History, Result, check
from holdings import FeedItem, Holdings, Stored

GYE, CTG, ALG = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"
A, B, C = "notice-a", "notice-b", "notice-c"
RECEIPT_ID = "receipt-1"


def clean_run() -> tuple[History, dict[str, Holdings]]:
    """GYE published A to CTG and ALG, B to CTG, C (answer lost) to ALG; CTG read A."""
    history = History(seed=1)
    for recipients, result, eid in (
        ((CTG, ALG), Result.OK, A),
        ((CTG,), Result.OK, B),
        ((ALG,), Result.UNKNOWN, None),
    ):
        op = history.invoke(GYE, recipients)
        op.result, op.id = result, eid
    history.reads.append((CTG, A))
    history.answers.append(Answer(CTG, GYE, 200, ((A, "accepted", ""), (B, "accepted", ""))))
    history.answers.append(Answer(CTG, GYE, 200, ((A, "duplicate", ""),)))
    history.answers.append(Answer(ALG, GYE, 503, ()))
    history.answers.append(Answer(ALG, GYE, 200, ((A, "accepted", ""), (C, "accepted", ""))))
    history.answers.append(Answer(GYE, CTG, 200, ((RECEIPT_ID, "accepted", ""),)))

    def item(eid: str, direction: str, tag: int, *to: str) -> FeedItem:
        return FeedItem(eid, direction, GYE, tuple(sorted(set(to) - {GYE})), tag)

    a_out, b_out, c_out = (
        item(A, "out", 100_000, CTG, ALG),
        item(B, "out", 100_001, CTG),
        item(C, "out", 100_002, ALG),
    )
    nodes = {
        GYE: Holdings(
            GYE,
            [a_out, b_out, c_out],
            Stored(
                integrity="ok",
                foreign_key_problems=0,
                received={RECEIPT_ID: "receipt"},
                sent={A: "notice.seizure", B: "notice.seizure", C: "notice.seizure"},
                notices={A: "out", B: "out", C: "out"},
                notice_rows=3,
                outbox=[
                    (CTG, A, "delivered"),
                    (ALG, A, "delivered"),
                    (CTG, B, "delivered"),
                    (ALG, C, "delivered"),
                ],
                receipts=[(A, CTG, "read")],
            ),
        ),
        CTG: Holdings(
            CTG,
            [replace(a_out, direction="in"), replace(b_out, direction="in")],
            Stored(
                integrity="ok",
                foreign_key_problems=0,
                received={A: "notice.seizure", B: "notice.seizure"},
                sent={RECEIPT_ID: "receipt"},
                notices={A: "in", B: "in"},
                notice_rows=2,
                outbox=[(GYE, RECEIPT_ID, "delivered")],
                receipts=[(A, CTG, "read")],
            ),
        ),
        ALG: Holdings(
            ALG,
            [replace(a_out, direction="in"), replace(c_out, direction="in")],
            Stored(
                integrity="ok",
                foreign_key_problems=0,
                received={A: "notice.seizure", C: "notice.seizure"},
                sent={},
                notices={A: "in", C: "in"},
                notice_rows=2,
                outbox=[],
                receipts=[],
            ),
        ),
    }
    return history, nodes


def test_a_clean_run_has_no_anomalies() -> None:
    history, nodes = clean_run()
    assert check(history, nodes) == []
    assert history.publishes[2].id == C  # the unknown publish resolved: it happened


def _feed(node: Holdings, items: list[FeedItem]) -> Holdings:
    return replace(node, feed=items)


def _stored(node: Holdings, **changes: object) -> Holdings:
    return replace(node, stored=replace(node.stored, **changes))  # type: ignore[arg-type]


Plant = Callable[[History, dict[str, Holdings]], None]


def lose_at_alg(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[ALG] = _feed(nodes[ALG], nodes[ALG].feed[:1])


def twice_at_ctg(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[CTG] = _feed(nodes[CTG], [*nodes[CTG].feed, nodes[CTG].feed[0]])


def b_reaches_alg(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[ALG] = _feed(nodes[ALG], [*nodes[ALG].feed, replace(nodes[CTG].feed[1])])


def accepted_twice(history: History, nodes: dict[str, Holdings]) -> None:
    history.answers.append(Answer(CTG, GYE, 200, ((B, "accepted", ""),)))


def acknowledged_not_stored(history: History, nodes: dict[str, Holdings]) -> None:
    history.answers.append(Answer(CTG, GYE, 200, (("notice-z", "duplicate", ""),)))


def refused(history: History, nodes: dict[str, Holdings]) -> None:
    history.answers.append(Answer(ALG, GYE, 200, ((A, "refused", "bad_signature"),)))


def failed_but_stored(history: History, nodes: dict[str, Holdings]) -> None:
    history.publishes[2].result = Result.FAIL


def acknowledged_but_missing(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[GYE] = _feed(nodes[GYE], nodes[GYE].feed[1:])


def phantom(history: History, nodes: dict[str, Holdings]) -> None:
    extra = FeedItem("notice-p", "out", GYE, (CTG, GYE), 999_999)
    nodes[GYE] = _feed(nodes[GYE], [*nodes[GYE].feed, extra])


def corrupt(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[CTG] = _stored(nodes[CTG], integrity="*** in database main ***\nPage 7 is never used")


def still_pending(history: History, nodes: dict[str, Holdings]) -> None:
    outbox = list(nodes[GYE].stored.outbox)
    outbox[3] = (ALG, C, "pending")
    nodes[GYE] = _stored(nodes[GYE], outbox=outbox)


def extra_row(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[ALG] = _stored(nodes[ALG], notice_rows=3)


def receipt_lost(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[GYE] = _stored(nodes[GYE], receipts=[])


def receipt_for_unread(history: History, nodes: dict[str, Holdings]) -> None:
    nodes[GYE] = _stored(nodes[GYE], receipts=[(A, CTG, "read"), (C, ALG, "read")])


def delivered_but_absent(history: History, nodes: dict[str, Holdings]) -> None:
    received = dict(nodes[CTG].stored.received)
    del received[B]
    nodes[CTG] = _stored(nodes[CTG], received=received)


@pytest.mark.parametrize(
    ("plant", "expected"),
    [
        (lose_at_alg, "notices lost"),
        (twice_at_ctg, "twice in the feed"),
        (b_reaches_alg, "not meant for it"),
        (accepted_twice, "accepted more than once"),
        (acknowledged_not_stored, "never stored"),
        (refused, "refused notice-a"),
        (failed_but_stored, "failed"),
        (acknowledged_but_missing, "acknowledged as notice-a"),
        (phantom, "nobody published"),
        (corrupt, "integrity"),
        (still_pending, "not delivered"),
        (extra_row, "notice rows"),
        (receipt_lost, "receipt rows"),
        (receipt_for_unread, "receipt rows"),
        (delivered_but_absent, "which lacks it"),
    ],
)
def test_each_anomaly_is_reported(plant: Plant, expected: str) -> None:
    history, nodes = clean_run()
    plant(history, nodes)
    anomalies = check(history, nodes)
    assert any(expected in a for a in anomalies), anomalies
