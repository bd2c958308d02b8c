"""The one exception a check raises: the target did not do what the spec says."""

from __future__ import annotations


class Failed(Exception):  # noqa: N818  (a check failed: not an error of the suite)
    """The target did not do what the spec says; the message says what it did instead."""
