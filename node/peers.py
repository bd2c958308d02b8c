"""Who this node trusts: partner agencies, their node URLs and public keys.

For now the list comes from ``peers.json`` in the data folder, assembled from
the ``public.json`` files that agencies exchange out of band (each one written
by ``baliza init``). The federation directory replaces the file later; the
node only ever asks a ``PeerBook``, so the source can change without touching
the transport.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from baliza.crypto import PublicKeys
from baliza.node.config import PEERS_FILE
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError, UsageError
from baliza.protocol.ids import AgencyId, agency_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Peer:
    """A partner agency as this node knows it."""

    agency: AgencyId
    name: str
    url: str
    keys: PublicKeys

    def to_json(self) -> dict[str, str]:
        """The form written to ``public.json`` and ``peers.json``."""
        return {
            "agency": self.agency,
            "name": self.name,
            "url": self.url,
            "keys": self.keys.to_bytes().hex(),
            "fingerprint": self.keys.fingerprint(),
        }

    @classmethod
    def from_json(cls, obj: object, where: str) -> Peer:
        """Parse one entry; the fingerprint, if present, must match the keys."""
        if not isinstance(obj, dict):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{where}: must be an object")
        try:
            agency = agency_id(obj.get("agency"), f"{where}.agency")
            keys = PublicKeys.from_bytes(bytes.fromhex(str(obj.get("keys", ""))))
        except ValueError:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{where}.keys: not hex") from None
        except BalizaError as err:
            raise UsageError(err.reason, f"{where}: {err}") from None
        if keys.agency != agency:
            raise UsageError(ReasonCode.INCONSISTENT, f"{where}: keys belong to {keys.agency}")
        stated = obj.get("fingerprint")
        if stated is not None and stated != keys.fingerprint():
            raise UsageError(ReasonCode.KEY_ID_MISMATCH, f"{where}: fingerprint does not match")
        url = obj.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{where}.url: must be an http(s) URL")
        return cls(agency=agency, name=str(obj.get("name", agency)), url=url.rstrip("/"), keys=keys)


class PeerBook:
    """The agencies this node will talk to, by id."""

    def __init__(self, peers: Iterable[Peer]) -> None:
        self._peers = {p.agency: p for p in peers}

    def __iter__(self) -> Iterator[Peer]:
        return iter(sorted(self._peers.values(), key=lambda p: p.agency))

    def __contains__(self, agency: object) -> bool:
        return agency in self._peers

    def get(self, agency: str) -> Peer:
        """The peer ``agency``; raise ``TrustError`` if it is not one."""
        peer = self._peers.get(AgencyId(agency))
        if peer is None:
            raise TrustError(ReasonCode.UNKNOWN_SENDER, f"{agency} is not a known partner agency")
        return peer

    def add(self, peer: Peer) -> None:
        """Add or replace a peer."""
        self._peers[peer.agency] = peer

    def save(self, data_dir: Path) -> None:
        """Write ``peers.json``."""
        entries = [p.to_json() for p in self]
        (data_dir / PEERS_FILE).write_text(json.dumps(entries, indent=2) + "\n")

    @classmethod
    def load(cls, data_dir: Path) -> PeerBook:
        """Read ``peers.json`` (an empty book if it does not exist yet)."""
        path = data_dir / PEERS_FILE
        try:
            entries = json.loads(path.read_text())
        except FileNotFoundError:
            return cls([])
        except (OSError, ValueError) as exc:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: {exc}") from None
        if not isinstance(entries, list):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: must hold a JSON array")
        return cls(Peer.from_json(e, f"{path}[{i}]") for i, e in enumerate(entries))
