"""This node's key sets as administrators read them, in the admin API and the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baliza.node.services.context import NodeContext
from baliza.protocol.errors import BalizaError


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyView:
    """One of this node's key sets: whether it signs now, and whether the directory vouches.

    ``refused`` is the reason code the directory gives for not vouching for
    it now, ``None`` when it does.
    """

    fingerprint: str
    signing_key_id: str
    suite: str
    valid_from_ms: int
    valid_until_ms: int
    signing_now: bool
    refused: str | None

    @property
    def vouched(self) -> bool:
        """Whether the directory in force vouches for it now."""
        return self.refused is None

    def to_json(self) -> dict[str, Any]:
        """The admin API's form (``GET /api/v1/admin/keys``)."""
        return {
            "fingerprint": self.fingerprint,
            "signing_key_id": self.signing_key_id,
            "suite": self.suite,
            "valid_from_ms": self.valid_from_ms,
            "valid_until_ms": self.valid_until_ms,
            "signing_now": self.signing_now,
            "status": "vouched for by the directory"
            if self.refused is None
            else f"not usable now: {self.refused}",
        }


def key_views(ctx: NodeContext, now: int) -> list[KeyView]:
    """Every key set in the node's keyring, as the directory in force sees it at ``now``."""
    signing = ctx.signing_keys().public().signing_key_id
    out = []
    for keys in ctx.keyring:
        public = keys.public()
        refused: str | None = None
        try:
            ctx.trust.sender_key(public.agency, public.signing_key_id, now, now)
        except BalizaError as err:
            refused = str(err.reason)
        out.append(
            KeyView(
                fingerprint=public.fingerprint(),
                signing_key_id=bytes(public.signing_key_id).hex(),
                suite=str(public.suite),
                valid_from_ms=public.valid_from_ms,
                valid_until_ms=public.valid_until_ms,
                signing_now=public.signing_key_id == signing,
                refused=refused,
            )
        )
    return out
