"""The audit log on the wire: its entries, its signed tree heads and an auditor's bundle.

Byte layout (canonical MessagePack; docs/spec/11-audit-log.md)::

    entry       = {"at_ms": int, "digest": bin32, "kind": str, ["peer": agency],
                   "subject": str, "v": 1}
    tree_head   = {"at_ms": int, "log": agency, "root": bin32, "size": int, "v": 1}
    signed_head = {"key_id": bin16, "sigs": {alg: bin}, "signed": bin, "v": 1}
    bundle      = {"entry": bin, "head": bin, "index": int, "keys": bin,
                   "proof": [bin32, ...], "v": 1, ["content": bin]}
    consistency = {"first": int, ["proof": [bin32, ...]], "second": int, "v": 1}

Rules of this file:

* An entry holds hashes and identifiers, never content: ``digest`` is the
  SHA-256 of the exact bytes the entry is about (an envelope as sealed or
  received, a receipt, a trust event), so the log proves *what* without
  revealing it, and whoever holds the bytes can show they are the ones
  logged. The leaf of the Merkle tree is the entry's canonical bytes
  (``baliza.protocol.merkle.leaf_hash``).
* A tree head names its log (the agency that keeps it), so a head signed by
  one node can never be shown as another's. It travels as the exact bytes
  signed (``signed``), like a channel membership.
* Shape only: signing and verifying heads and bundles is
  ``baliza.crypto.audit``; the tree is ``baliza.protocol.merkle``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from hashlib import sha256
from typing import Final

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.fields import FieldReader, as_map, check_bytes, check_signature_map, check_str
from baliza.protocol.ids import AgencyId, KeyId, agency_id, key_id
from baliza.protocol.merkle import HASH_SIZE, MAX_PROOF, MAX_SIZE

AUDIT_VERSION: Final = 1
# Detached-signature context of tree heads: a head signature can never be
# replayed as a directory, a membership, a request or an envelope.
TREE_HEAD_CONTEXT: Final = "baliza-tree-head-v1"
MAX_SUBJECT: Final = 200
MAX_TIME_MS: Final = 2**53 - 1
MAX_SIGNATURE: Final = 8192
MAX_ENTRY: Final = 1024
MAX_HEAD: Final = 512
MAX_KEYS: Final = 16 * 1024
MAX_CONTENT: Final = 32 * 1024 * 1024

ENTRY_LIMITS: Final = Limits(max_size=MAX_ENTRY, max_depth=1, max_items=8, max_str=MAX_SUBJECT)
HEAD_LIMITS: Final = Limits(max_size=MAX_HEAD, max_depth=1, max_items=8, max_str=100)
SIGNED_HEAD_LIMITS: Final = Limits(
    max_size=MAX_HEAD + 4 * MAX_SIGNATURE, max_depth=2, max_items=8, max_bin=MAX_SIGNATURE
)
BUNDLE_LIMITS: Final = Limits(
    max_size=MAX_CONTENT + 64 * 1024, max_depth=2, max_items=MAX_PROOF, max_bin=MAX_CONTENT
)


class EntryKind(StrEnum):
    """What a leaf records; the spec lists ``subject``, ``peer`` and ``digest`` of each."""

    ENVELOPE_SENT = "envelope.sent"  # an envelope this node sealed: subject its id
    ENVELOPE_RECEIVED = "envelope.received"  # peer its sender, subject its id
    RECEIPT_RECEIVED = "receipt.received"  # peer the recipient, subject the envelope it names
    READ = "read"  # a person here read a notice; peer its sender, subject its envelope id
    TRUST = "trust"  # a trust change (directory, key, channel, block, token); subject the action
    EXPORT = "export"  # notices left in a file: subject the notice's id, or the format and count


def content_digest(data: bytes) -> bytes:
    """SHA-256 of the exact bytes an entry is about (an envelope's raw bytes, ...)."""
    return sha256(data).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One leaf of a node's audit log."""

    v: int = AUDIT_VERSION
    kind: EntryKind
    at_ms: int
    subject: str
    peer: AgencyId | None = None
    digest: bytes

    def __post_init__(self) -> None:
        if self.v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"entry version {self.v}", path="v")
        if not isinstance(self.kind, EntryKind):
            raise InputError(ReasonCode.BAD_ENUM, "not an entry kind", path="kind")
        if not isinstance(self.at_ms, int) or not 0 <= self.at_ms <= MAX_TIME_MS:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a plausible time", path="at_ms")
        check_str(self.subject, "subject", min_len=1, max_len=MAX_SUBJECT)
        if self.peer is not None:
            agency_id(self.peer, "peer")
        check_bytes(self.digest, "digest", min_len=HASH_SIZE, max_len=HASH_SIZE)

    def to_bytes(self) -> bytes:
        """Canonical bytes: the leaf the tree hashes."""
        out: dict[str, Value] = {
            "v": self.v,
            "kind": self.kind.value,
            "at_ms": self.at_ms,
            "subject": self.subject,
            "digest": self.digest,
        }
        if self.peer is not None:
            out["peer"] = self.peer
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditEntry:
        """Parse canonical bytes; ``InputError``/``VersionError`` name the field at fault."""
        reader = FieldReader(decode(data, ENTRY_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"entry version {v}", path="v")
        kind = reader.choice("kind", EntryKind)
        at_ms = reader.integer("at_ms", lo=0, hi=MAX_TIME_MS)
        subject = reader.text("subject", max_len=MAX_SUBJECT)
        peer = reader.opt_text("peer", max_len=100)
        digest = reader.blob("digest", min_len=HASH_SIZE, max_len=HASH_SIZE)
        reader.finish()
        return cls(
            kind=kind,
            at_ms=at_ms,
            subject=subject,
            peer=None if peer is None else agency_id(peer, "peer"),
            digest=digest,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeHead:
    """What a node signs about its log: at ``at_ms`` it held ``size`` leaves under ``root``."""

    v: int = AUDIT_VERSION
    log: AgencyId
    size: int
    root: bytes
    at_ms: int

    def __post_init__(self) -> None:
        if self.v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"head version {self.v}", path="v")
        agency_id(self.log, "log")
        if not isinstance(self.size, int) or not 0 <= self.size <= MAX_SIZE:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a tree size", path="size")
        check_bytes(self.root, "root", min_len=HASH_SIZE, max_len=HASH_SIZE)
        if not isinstance(self.at_ms, int) or not 0 <= self.at_ms <= MAX_TIME_MS:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a plausible time", path="at_ms")

    def to_bytes(self) -> bytes:
        """Canonical bytes: what the node signs."""
        return encode(
            {
                "v": self.v,
                "log": self.log,
                "size": self.size,
                "root": self.root,
                "at_ms": self.at_ms,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> TreeHead:
        """Parse canonical bytes; ``InputError``/``VersionError`` name the field at fault."""
        reader = FieldReader(decode(data, HEAD_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"head version {v}", path="v")
        log = agency_id(reader.text("log", max_len=100), "log")
        size = reader.integer("size", lo=0, hi=MAX_SIZE)
        root = reader.blob("root", min_len=HASH_SIZE, max_len=HASH_SIZE)
        at_ms = reader.integer("at_ms", lo=0, hi=MAX_TIME_MS)
        reader.finish()
        return cls(log=log, size=size, root=root, at_ms=at_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedTreeHead:
    """A tree head as it travels and is kept: the signed bytes, the key and its signature map.

    The signature map holds one signature per algorithm of the signer's
    suite (Ed25519 and ML-DSA-65 for ``hybrid-v1``), all required, as for an
    envelope: a head is evidence kept for years.
    """

    v: int = AUDIT_VERSION
    signed: bytes
    key_id: KeyId
    sigs: Mapping[str, bytes] = field(hash=False)
    head: TreeHead = field(init=False)

    def __post_init__(self) -> None:
        if self.v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"head version {self.v}", path="v")
        check_bytes(self.signed, "signed", min_len=1, max_len=MAX_HEAD)
        key_id(self.key_id, "key_id")
        frozen = check_signature_map(self.sigs, max_sig=MAX_SIGNATURE)
        object.__setattr__(self, "sigs", frozen)
        try:
            head = TreeHead.from_bytes(self.signed)
        except InputError as err:
            raise err.at("signed") from None
        object.__setattr__(self, "head", head)

    def to_bytes(self) -> bytes:
        """Canonical bytes: what nodes keep, exchange and export."""
        return encode(
            {
                "v": self.v,
                "signed": self.signed,
                "key_id": bytes(self.key_id),
                "sigs": dict(self.sigs),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedTreeHead:
        """Parse; raise ``InputError`` (or ``VersionError``) naming the field at fault."""
        reader = FieldReader(decode(data, SIGNED_HEAD_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"head version {v}", path="v")
        signed = reader.blob("signed", min_len=1, max_len=MAX_HEAD)
        kid = key_id(reader.blob("key_id", max_len=64), "key_id")
        raw = reader.nested("sigs", as_map)
        sigs = {n: check_bytes(s, f"sigs.{n}", max_len=MAX_SIGNATURE) for n, s in raw.items()}
        reader.finish()
        return cls(signed=signed, key_id=kid, sigs=sigs)


def _hash(value: Value, path: str) -> bytes:
    return check_bytes(value, path, min_len=HASH_SIZE, max_len=HASH_SIZE)


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusionBundle:
    """What an auditor needs to check one entry offline, and nothing else.

    A signed head, the entry, its index and inclusion proof, the public keys
    of the log's agency (from the directory in force, which the auditor
    compares by fingerprint) and, optionally, the bytes the entry's digest
    is about (the envelope itself).
    """

    v: int = AUDIT_VERSION
    head: bytes
    entry: bytes
    index: int
    proof: tuple[bytes, ...]
    keys: bytes
    content: bytes | None = None

    def __post_init__(self) -> None:
        if self.v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"bundle version {self.v}", path="v")
        if not isinstance(self.index, int) or not 0 <= self.index < MAX_SIZE:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a leaf index", path="index")
        if len(self.proof) > MAX_PROOF:
            raise InputError(ReasonCode.BAD_LENGTH, "too many hashes", path="proof")
        for i, h in enumerate(self.proof):
            _hash(h, f"proof[{i}]")

    def to_bytes(self) -> bytes:
        """Canonical bytes: the file ``baliza audit export`` writes."""
        out: dict[str, Value] = {
            "v": self.v,
            "head": self.head,
            "entry": self.entry,
            "index": self.index,
            "keys": self.keys,
        }
        if self.proof:
            out["proof"] = list(self.proof)
        if self.content is not None:
            out["content"] = self.content
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> InclusionBundle:
        """Parse; raise ``InputError`` (or ``VersionError``) naming the field at fault."""
        reader = FieldReader(decode(data, BUNDLE_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"bundle version {v}", path="v")
        head = reader.blob("head", min_len=1, max_len=MAX_HEAD + 4 * MAX_SIGNATURE)
        entry = reader.blob("entry", min_len=1, max_len=MAX_ENTRY)
        index = reader.integer("index", lo=0, hi=MAX_SIZE)
        keys = reader.blob("keys", min_len=1, max_len=MAX_KEYS)
        proof = reader.array("proof", _hash, max_len=MAX_PROOF)
        content = reader.opt_blob("content", max_len=MAX_CONTENT)
        reader.finish()
        return cls(head=head, entry=entry, index=index, proof=proof, keys=keys, content=content)


CONSISTENCY_LIMITS: Final = Limits(
    max_size=64 + MAX_PROOF * (HASH_SIZE + 3), max_depth=2, max_items=MAX_PROOF, max_bin=HASH_SIZE
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyProof:
    """A node's answer to ``GET /fed/v1/audit/consistency``: PROOF(first, D[second]) of its log.

    It names both sizes so that an answer can never be taken for a proof
    between other heads; the roots it leads to are in the signed heads the
    asker holds, never in the answer.
    """

    v: int = AUDIT_VERSION
    first: int
    second: int
    proof: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"proof version {self.v}", path="v")
        if not isinstance(self.first, int) or not 0 <= self.first <= MAX_SIZE:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a tree size", path="first")
        if not isinstance(self.second, int) or not self.first <= self.second <= MAX_SIZE:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a size >= first", path="second")
        if len(self.proof) > MAX_PROOF:
            raise InputError(ReasonCode.BAD_LENGTH, "too many hashes", path="proof")
        for i, h in enumerate(self.proof):
            _hash(h, f"proof[{i}]")

    def to_bytes(self) -> bytes:
        """Canonical bytes, as the answer's body; ``proof`` omitted when empty."""
        out: dict[str, Value] = {"v": self.v, "first": self.first, "second": self.second}
        if self.proof:
            out["proof"] = list(self.proof)
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> ConsistencyProof:
        """Parse; raise ``InputError`` (or ``VersionError``) naming the field at fault."""
        reader = FieldReader(decode(data, CONSISTENCY_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"proof version {v}", path="v")
        first = reader.integer("first", lo=0, hi=MAX_SIZE)
        second = reader.integer("second", lo=0, hi=MAX_SIZE)
        proof = reader.array("proof", _hash, max_len=MAX_PROOF)
        reader.finish()
        return cls(first=first, second=second, proof=proof)


# A federation has at most a few hundred members: a gossip answer carries at
# most one head of each (a hybrid signed head is about 4 KB).
MAX_GOSSIP: Final = 256
GOSSIP_LIMITS: Final = Limits(
    max_size=4 * 1024 * 1024,
    max_depth=2,
    max_items=MAX_GOSSIP,
    max_bin=MAX_HEAD + 4 * MAX_SIGNATURE,
)


def _signed_head_bytes(value: Value, path: str) -> bytes:
    if not isinstance(value, bytes) or not 0 < len(value) <= MAX_HEAD + 4 * MAX_SIGNATURE:
        raise InputError(ReasonCode.WRONG_TYPE, "a signed head's bytes", path=path)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldHeads:
    """A node's answer to ``GET /fed/v1/audit/heads``: the newest head it holds of each other log.

    Each head is passed on as its signer signed it (``SignedTreeHead`` bytes):
    whoever receives one checks its signature against the signer's key in
    its own directory, never trusting the node that passed it on.
    """

    v: int = AUDIT_VERSION
    heads: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"gossip version {self.v}", path="v")
        if len(self.heads) > MAX_GOSSIP:
            raise InputError(ReasonCode.BAD_LENGTH, "too many heads", path="heads")
        for i, h in enumerate(self.heads):
            _signed_head_bytes(h, f"heads[{i}]")

    def to_bytes(self) -> bytes:
        """Canonical bytes, as the answer's body; ``heads`` omitted when empty."""
        out: dict[str, Value] = {"v": self.v}
        if self.heads:
            out["heads"] = list(self.heads)
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> HeldHeads:
        """Parse; raise ``InputError`` (or ``VersionError``) naming the field at fault."""
        reader = FieldReader(decode(data, GOSSIP_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != AUDIT_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"gossip version {v}", path="v")
        heads = reader.array("heads", _signed_head_bytes, max_len=MAX_GOSSIP)
        reader.finish()
        return cls(heads=heads)
