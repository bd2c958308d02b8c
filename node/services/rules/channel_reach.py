"""Which membership versions of a channel an agency may receive: up to the one that removed it.

A channel's member list says who works with whom; a JIT's says who
investigates whom. An agency in the newest version receives the whole chain
(it must check it from version 1). One that was removed learns of its
removal, so it receives the chain up to and including the version that
removed it, and nothing after: not who joined the investigation since, nor
who left. One never listed receives nothing. Gossip (``POST``) and catch-up
(``GET ...?since=``) both ask this rule.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def last_visible(versions: Sequence[int], listing: Collection[int]) -> int:
    """The newest version an agency may receive (0: none).

    ``versions`` are the version numbers held, oldest first; ``listing`` the
    ones whose member list names the agency. In the newest version: the
    newest. Removed: the first version after the last one that listed it.
    """
    if not versions or not listing:
        return 0
    if versions[-1] in listing:
        return versions[-1]
    last_listed = max(listing)
    return min(v for v in versions if v > last_listed)
