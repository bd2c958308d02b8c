"""Read models: what the API's JSON, the console's pages and the CLI all show.

One implementation, every face: the alert board, a notice with its delivery
per recipient (with outcomes), peer health and the attachments a notice
lists. Each model is a frozen dataclass with the API's JSON form beside it;
the console renders the same objects, so the two cannot disagree on what
they show. Each function reads in one read-only transaction and never writes.

The stored-notice types the models carry are re-exported here, so the layers
above services name them without importing storage.
"""

from __future__ import annotations

from baliza.node.services.views.board import (
    BOARD_PAGE,
    MAX_BOARD_PAGE,
    AlertBoard,
    AlertOutcome,
    AlertRow,
    AlertState,
    alert_board,
    board_state,
)
from baliza.node.services.views.notice import (
    AttachmentHeld,
    NoticeDetail,
    RecipientDelivery,
    delivery,
    notice_detail,
)
from baliza.node.services.views.peers import PeerHealth, peer_health
from baliza.node.storage.notices import Direction, Hit, NoticeFilter, StoredNotice

__all__ = [
    "BOARD_PAGE",
    "MAX_BOARD_PAGE",
    "AlertBoard",
    "AlertOutcome",
    "AlertRow",
    "AlertState",
    "AttachmentHeld",
    "Direction",
    "Hit",
    "NoticeDetail",
    "NoticeFilter",
    "PeerHealth",
    "RecipientDelivery",
    "StoredNotice",
    "alert_board",
    "board_state",
    "delivery",
    "notice_detail",
    "peer_health",
]
