"""The channel-reach rule on its own: which versions an agency may receive, without a node."""

from __future__ import annotations

import pytest

from baliza.node.services.rules.channel_reach import last_visible


@pytest.mark.parametrize(
    ("versions", "listing", "expected"),
    [
        ([1, 2, 3], {1, 2, 3}, 3),  # a member: the whole chain
        ([1, 2, 3], {1}, 2),  # removed by version 2: nothing after it
        ([1, 2, 3, 4], {1, 3}, 4),  # re-admitted at 3, removed again by 4
        ([1, 2, 3, 4], {1, 3, 4}, 4),  # re-admitted and still in: everything
        ([1, 2, 3], {3}, 3),  # admitted at 3
        ([1, 2, 3], set(), 0),  # never listed: nothing
        ([], set(), 0),
        ([1, 5, 9], {1}, 5),  # numbers need not be contiguous
    ],
)
def test_a_removed_agency_sees_up_to_its_removal_and_no_further(
    versions: list[int], listing: set[int], expected: int
) -> None:
    assert last_visible(versions, listing) == expected
