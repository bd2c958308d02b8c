"""Subscriptions as the publication's facts read them."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from baliza.node.storage.models import SubscriptionRow, table_of

_subscriptions = table_of(SubscriptionRow)
_ADMITTED = (
    select(_subscriptions.c.subscriber, _subscriptions.c.filter_json)
    .where(
        _subscriptions.c.publisher == bindparam("publisher"),
        _subscriptions.c.state == "admitted",
    )
    .order_by(_subscriptions.c.subscriber)
)


def admitted_filters(connection: Connection, publisher: str) -> list[tuple[str, str]]:
    """(subscriber, filter JSON) of every admitted subscription to ``publisher``'s notices."""
    return [(s, f) for s, f in connection.execute(_ADMITTED, {"publisher": publisher})]
