"""What this node trusts: the federation directory, its own key sets, local blocks.

The directory (rules in ``baliza.crypto.directory``) says who the members
are, where their nodes listen and which keys they hold when; local decisions
may only narrow that (a blocked agency is refused, a paused one is not
delivered to). Everything the transport asks — which peers exist, which key
verifies this envelope, which key to encrypt to, which of our own keys to
sign with — is answered here, from one snapshot that is replaced whole when
a new directory version is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from baliza.crypto import AgencyKeys, PublicKeys
from baliza.crypto.directory import MemberKey, TrustedDirectory
from baliza.protocol.envelope import Envelope
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, KeyId


@dataclass(frozen=True, slots=True, kw_only=True)
class Peer:
    """A partner agency's node: where it listens and the key set to encrypt to now."""

    agency: AgencyId
    name: str
    url: str
    keys: PublicKeys


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeAddress:
    """Where a member's node listens; enough to send it a signed directory."""

    agency: AgencyId
    url: str


class Keyring:
    """This agency's own key sets, newest last.

    Old sets stay while envelopes encrypted to them may still arrive; the
    set used to sign is the newest one the directory already vouches for, so
    a rotated key is used only once partners can verify it.
    """

    def __init__(self, sets: Iterable[AgencyKeys]) -> None:
        self._sets = sorted(sets, key=lambda k: k.public().valid_from_ms)
        if not self._sets:
            raise TrustError(ReasonCode.UNKNOWN_KEY, "this node has no keys")

    def __iter__(self) -> Iterator[AgencyKeys]:
        return iter(self._sets)

    @property
    def newest(self) -> AgencyKeys:
        """The most recently created key set."""
        return self._sets[-1]

    def for_signing(self, directory: TrustedDirectory | None, now_ms: int) -> AgencyKeys:
        """The newest key set the directory lists as valid now (the newest if none yet)."""
        if directory is None:
            return self.newest
        for keys in reversed(self._sets):
            public = keys.public()
            try:
                directory.check_key(public.agency, public.signing_key_id, now_ms, now_ms=now_ms)
            except BalizaError:
                continue
            return keys
        return self.newest

    def for_envelope(self, envelope: Envelope) -> AgencyKeys:
        """The key set an envelope was encrypted to (the newest when none matches)."""
        kids = {bytes(entry.kid) for entry in envelope.keys}
        for keys in reversed(self._sets):
            if bytes(keys.public().encryption_key_id) in kids:
                return keys
        return self.newest


class TrustView:
    """One consistent snapshot of whom this node trusts, built from a directory."""

    def __init__(self, me: AgencyId, directory: TrustedDirectory | None) -> None:
        self.me = me
        self.directory = directory
        # Key sets parsed from the directory's bytes, once per snapshot:
        # parsing one costs more than checking the request it verifies.
        self._parsed: dict[bytes, PublicKeys] = {}

    @property
    def version(self) -> int:
        """The directory version in force (0 before the first)."""
        return 0 if self.directory is None else self.directory.directory.version

    def _trusted(self) -> TrustedDirectory:
        if self.directory is None:
            raise TrustError(
                ReasonCode.UNKNOWN_SENDER,
                "this node has no federation directory yet: `baliza admin directory apply`",
            )
        return self.directory

    def peers(self, now_ms: int) -> list[Peer]:
        """Every other member with a key valid now, sorted by agency."""
        if self.directory is None:
            return []
        out = []
        for member in self.directory.directory.members:
            if member.agency == self.me:
                continue
            try:
                out.append(self.peer(member.agency, now_ms))
            except BalizaError:
                continue  # no usable key now (expired, revoked): not a peer for now
        return out

    def member_nodes(self) -> list[NodeAddress]:
        """Every other member's node, whatever the state of its keys (for directory gossip).

        A member whose key was just revoked must still hear of the revocation.
        """
        if self.directory is None:
            return []
        return [
            NodeAddress(agency=m.agency, url=m.node_url)
            for m in self.directory.directory.members
            if m.agency != self.me
        ]

    def peer(self, agency: str, now_ms: int) -> Peer:
        """The member ``agency`` as a peer to send to; ``TrustError`` if it is not one."""
        directory = self._trusted()
        member = directory.member(agency, now_ms=now_ms)
        keys = directory.keys_for(agency, now_ms, now_ms=now_ms)
        return Peer(agency=member.agency, name=member.name, url=member.node_url, keys=keys)

    def sender_key(self, agency: str, key_id: KeyId, created_ms: int, now_ms: int) -> MemberKey:
        """The key that may have signed an envelope of ``agency`` created at ``created_ms``."""
        return self._trusted().check_key(agency, key_id, created_ms, now_ms=now_ms)

    def request_keys(self, agency: str, now_ms: int) -> list[PublicKeys]:
        """Every key set of ``agency`` that may sign a request right now (rotation overlap)."""
        directory = self._trusted()
        member = directory.member(agency, now_ms=now_ms)
        keys = []
        for record in member.keys:
            public = self._parsed.get(record.keys.data)
            if public is None:
                public = self._parsed[record.keys.data] = PublicKeys.from_bytes(record.keys.data)
            try:
                keys.append(
                    directory.check_key(agency, public.signing_key_id, now_ms, now_ms=now_ms).keys
                )
            except BalizaError:
                continue
        if not keys:
            raise TrustError(ReasonCode.KEY_REVOKED, f"{agency} has no key valid now")
        return keys
