"""Trust in the federation directory: which version to believe, and which keys it vouches for.

Rules of this file, after python-tuf's ``TrustedMetadataSet``:

* ``TrustedDirectory`` holds the one directory version a node trusts. It is
  created from a root of trust the operator pinned by fingerprint
  (``bootstrap``) or from the node's own store (``restore``), and it changes
  only through ``update``, which checks a new version in a fixed order and
  keeps the old one unless every check passes:

  1. shape: the document parses (``InputError``);
  2. the threshold of the *current* administrators signed it
     (``not_an_administrator`` when no signature is theirs at all, else
     ``directory_threshold``);
  3. keys: every key set parses, no key material is listed twice and a
     member lists only its own keys (``InputError``: ``bad_key``,
     ``duplicate_key``, ``inconsistent``...);
  4. when the administrators or the threshold change, the threshold of the
     *new* administrators signed it too, so nobody is made an administrator
     without knowing it and the new set can really sign the next version;
  5. same federation, version strictly higher (``directory_rollback``; the
     same version with other content is a fork: ``directory_mismatch``);
  6. revocations are never withdrawn (``revocation_withdrawn``);
  7. not expired (``directory_expired``).

  Signatures come before anything the document says is believed.
* Thresholds count distinct public key material (``verify_threshold``), never
  key ids or signature entries.
* An expired trusted directory still accepts updates (that is how a node
  leaves a freeze) but answers no key question: ``member``, ``keys_for`` and
  ``check_key`` raise ``directory_expired`` once ``now_ms`` passes its expiry.
* Time is always an argument; nothing here reads a clock or a file.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from baliza.crypto import _primitives as prim
from baliza.crypto._domain import pae
from baliza.crypto.directory_review import diff
from baliza.crypto.keys import AgencyKeys, PublicKeys
from baliza.crypto.signing import sign_detached, verify_threshold
from baliza.protocol.directory import (
    DIRECTORY_CONTEXT,
    Directory,
    DirectorySignature,
    Member,
    RevocationReason,
    SignedDirectory,
)
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, KeyId

__all__ = [
    "MemberKey",
    "TrustedDirectory",
    "diff",
    "directory_fingerprint",
    "propose",
    "sign_proposal",
    "signers",
]

TAG_DIRECTORY_FINGERPRINT: Final = "baliza/v1 directory-fingerprint"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberKey:
    """A member's key set as the trusted directory vouches for it.

    ``keys`` carries the directory's validity period (not the one its holder
    declared), so ``keys.check_valid_at`` answers with the federation's word.
    ``since_revoked`` is true when the key has been revoked after the time it
    was checked for: the signature stands, but people should be told.
    """

    keys: PublicKeys
    revoked_ms: int | None = None
    revocation_reason: RevocationReason | None = None

    @property
    def agency(self) -> AgencyId:
        """The member the key belongs to."""
        return self.keys.agency

    @property
    def since_revoked(self) -> bool:
        """Whether the key has a revocation (later than the time it was checked for)."""
        return self.revoked_ms is not None


@dataclass(frozen=True, slots=True)
class _Vouched:
    """A signed directory whose keys all parsed and passed the consistency rules."""

    signed: SignedDirectory
    administrators: tuple[PublicKeys, ...]
    members: Mapping[AgencyId, tuple[MemberKey, ...]]

    @property
    def directory(self) -> Directory:
        return self.signed.directory


class TrustedDirectory:
    """The federation directory this node trusts; see the module docstring for the rules.

    Build one with ``bootstrap`` (first contact, fingerprint checked out of
    band) or ``restore`` (what this node accepted earlier); never directly.
    """

    __slots__ = ("_current",)

    def __init__(self, vouched: _Vouched) -> None:
        self._current = vouched

    @classmethod
    def bootstrap(cls, signed: bytes, now_ms: int, *, fingerprint: str) -> TrustedDirectory:
        """Trust a founding (or first-seen) directory that an operator pinned by fingerprint.

        ``fingerprint`` is what the operator compared with an administrator
        over the phone (``directory_fingerprint``); spaces and case do not
        matter. The document must carry the threshold of its own
        administrators and not be expired. Raises ``TrustError`` with
        ``directory_mismatch``, ``not_an_administrator``,
        ``directory_threshold`` or ``directory_expired``, ``InputError`` for
        a malformed document.
        """
        document = _parse(signed)
        if _squeeze(fingerprint) != _squeeze(directory_fingerprint(signed)):
            raise TrustError(
                ReasonCode.DIRECTORY_MISMATCH, "the directory does not have the pinned fingerprint"
            )
        vouched = _vouch(document)
        _check_signed_by(vouched.administrators, document.directory.threshold, document, "its own")
        _check_not_expired(document.directory, now_ms)
        return cls(vouched)

    @classmethod
    def restore(cls, signed: bytes) -> TrustedDirectory:
        """Trust again a directory this node accepted earlier and stored itself.

        Only its own administrators' threshold is checked, to catch a damaged
        store; expiry is not, because a node restarted after its directory
        expired must still be able to accept the next version (and refuses
        every key question until then).
        """
        document = _parse(signed)
        vouched = _vouch(document)
        _check_signed_by(vouched.administrators, document.directory.threshold, document, "its own")
        return cls(vouched)

    @property
    def directory(self) -> Directory:
        """The trusted directory version (which may have expired: see ``check_fresh``)."""
        return self._current.directory

    @property
    def signed_bytes(self) -> bytes:
        """The trusted version exactly as signed: to store, serve and pass on to peers."""
        return self._current.signed.to_bytes()

    def administrators(self) -> tuple[PublicKeys, ...]:
        """The current administrators' keys (for display with their fingerprints)."""
        return self._current.administrators

    def update(self, signed: bytes, now_ms: int) -> Directory:
        """Admit a newer directory version and return it; on any refusal keep the current one.

        Raises ``InputError`` for a malformed document and ``TrustError``
        with ``not_an_administrator``, ``directory_threshold``,
        ``directory_mismatch``, ``directory_rollback``,
        ``revocation_withdrawn`` or ``directory_expired`` (module docstring).
        """
        admitted = _admit(self._current, _parse(signed), now_ms, final=True)
        self._current = admitted
        return admitted.directory

    def update_chain(self, chain: Sequence[bytes], now_ms: int) -> Directory:
        """Admit consecutive versions in order, all or nothing; return the last.

        For a node that comes back after an administrator change: each
        version must be signed as ``update`` requires by the one before it,
        but only the last must be unexpired (an intermediate version may have
        expired while the node was away, as in TUF's root rotation). Errors
        carry the index of the refused version in their path (``[2]``).
        """
        if not chain:
            raise InputError(ReasonCode.BAD_LENGTH, "no directory to apply")
        current = self._current
        for index, data in enumerate(chain):
            try:
                current = _admit(current, _parse(data), now_ms, final=index == len(chain) - 1)
            except (InputError, TrustError) as err:
                raise err.at(f"[{index}]") from None
        self._current = current
        return current.directory

    def check_fresh(self, now_ms: int) -> None:
        """Refuse to answer from an expired directory (``directory_expired``): a freeze attack.

        Someone who withholds new versions can keep a node on an old one only
        until it expires; from then on the node trusts no key at all, loudly.
        """
        _check_not_expired(self.directory, now_ms)

    def member(self, agency: str, *, now_ms: int) -> Member:
        """The member ``agency``; ``not_a_member`` if the directory does not list it."""
        self.check_fresh(now_ms)
        found = self.directory.member(agency)
        if found is None:
            raise TrustError(ReasonCode.NOT_A_MEMBER, f"{agency} is not in the directory")
        return found

    def keys_for(self, agency: str, at_ms: int, *, now_ms: int) -> PublicKeys:
        """The key set to use for ``agency`` at ``at_ms``: the newest valid and unrevoked one.

        During a rotation both keys are valid; the newer one is chosen, so
        senders move to it as soon as it starts while the old one still
        verifies what was signed before its end. Raises ``directory_expired``,
        ``not_a_member``, or, when no key fits, ``key_revoked``,
        ``key_not_yet_valid`` or ``key_expired``.
        """
        self.check_fresh(now_ms)
        records = self._records(agency, ReasonCode.NOT_A_MEMBER)
        usable = [r for r in records if _valid_at(r, at_ms) and not _revoked_at(r, at_ms)]
        if usable:
            return max(usable, key=lambda r: r.keys.valid_from_ms).keys
        if any(_valid_at(r, at_ms) for r in records):
            raise TrustError(ReasonCode.KEY_REVOKED, f"every key of {agency} valid then is revoked")
        if all(at_ms < r.keys.valid_from_ms for r in records):
            raise TrustError(ReasonCode.KEY_NOT_YET_VALID, f"no key of {agency} is valid yet")
        raise TrustError(ReasonCode.KEY_EXPIRED, f"every key of {agency} has expired")

    def check_key(self, agency: str, key_id: KeyId, created_ms: int, *, now_ms: int) -> MemberKey:
        """Whether ``agency``'s signing key ``key_id`` may have signed something at ``created_ms``.

        Returns the key with ``since_revoked`` set when it was revoked after
        ``created_ms``. Raises ``directory_expired``, ``unknown_sender``,
        ``unknown_key``, ``key_not_yet_valid``, ``key_expired`` (outside the
        period the directory vouches for; the end is exclusive) or
        ``key_revoked`` (created at or after the revocation time).
        """
        self.check_fresh(now_ms)
        records = self._records(agency, ReasonCode.UNKNOWN_SENDER)
        record = next((r for r in records if r.keys.signing_key_id == key_id), None)
        if record is None:
            raise TrustError(ReasonCode.UNKNOWN_KEY, f"{agency} has no key {bytes(key_id).hex()}")
        if _revoked_at(record, created_ms):
            raise TrustError(
                ReasonCode.KEY_REVOKED,
                f"key {bytes(key_id).hex()} of {agency} is revoked from {record.revoked_ms}",
            )
        record.keys.check_valid_at(created_ms)
        return record

    def _records(self, agency: str, unknown: ReasonCode) -> tuple[MemberKey, ...]:
        records = self._current.members.get(AgencyId(agency))
        if records is None:
            raise TrustError(unknown, f"{agency} is not in the directory")
        return records


def directory_fingerprint(signed: bytes) -> str:
    """A short string to pin a directory by: 160 bits over the signed content, base32 in groups.

    Signatures are not covered, so the fingerprint stays the same while a
    proposal collects them and administrators can read it to each other
    before anyone has signed.
    """
    document = _parse(signed)
    digest = prim.sha256(pae(TAG_DIRECTORY_FINGERPRINT, document.signed))[:20]
    text = base64.b32encode(digest).decode("ascii")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def propose(directory: Directory) -> bytes:
    """An unsigned proposal of ``directory``: a file for administrators to sign in turn.

    Refuses (``InputError``) a directory whose keys nodes would refuse, so
    nobody collects signatures for a document that can never be applied.
    """
    document = SignedDirectory(signed=directory.to_bytes())
    _vouch(document)
    return document.to_bytes()


def sign_proposal(proposal: bytes, admin_keys: AgencyKeys) -> bytes:
    """Add ``admin_keys``'s signature to a proposal and return the new file's bytes.

    Works on bytes alone, so it can run on an offline machine that holds the
    administrator key. Signing again replaces the signer's earlier entry.
    The content is checked as ``propose`` does before anything is signed.
    Whether the signer counts is decided by each node against its trusted
    directory (a departing administrator may have to sign its own removal).
    """
    document = _parse(proposal)
    _vouch(document)
    entry = DirectorySignature(
        key_id=admin_keys.public().signing_key_id,
        sigs=sign_detached(admin_keys, DIRECTORY_CONTEXT, document.signed),
    )
    return document.with_signature(entry).to_bytes()


def signers(signed: bytes, administrators: Sequence[PublicKeys]) -> tuple[PublicKeys, ...]:
    """The administrators whose signature on ``signed`` verifies (distinct keys), for display."""
    document = _parse(signed)
    found: list[PublicKeys] = []
    sigs = {s.key_id: s.sigs for s in document.signatures}
    for admin in administrators:
        try:
            found.extend(
                verify_threshold([admin], DIRECTORY_CONTEXT, document.signed, sigs, threshold=1)
            )
        except TrustError:
            continue
    return tuple(found)


def _parse(data: bytes) -> SignedDirectory:
    if not isinstance(data, bytes):
        raise InputError(ReasonCode.WRONG_TYPE, "expected the bytes of a signed directory")
    return SignedDirectory.from_bytes(data)


def _vouch(document: SignedDirectory) -> _Vouched:
    """Parse every key set and apply the rules that need key material.

    No key material may appear twice: two administrator entries of one
    holder would let one person meet a threshold of two in the eyes of
    whoever reads the list, and one key under two members would make the
    sender of an envelope ambiguous.
    """
    directory = document.directory
    administrators: list[PublicKeys] = []
    admin_material: set[bytes] = set()
    for i, wire in enumerate(directory.administrators):
        path = f"signed.administrators[{i}]"
        admin = PublicKeys.from_wire(wire.to_wire(), path)
        material = set(admin.signing.values())
        if material & admin_material:
            raise InputError(
                ReasonCode.DUPLICATE_KEY, "an administrator key is listed twice", path=path
            )
        admin_material |= material
        administrators.append(admin)
    members: dict[AgencyId, tuple[MemberKey, ...]] = {}
    member_material: set[bytes] = set()
    for i, member in enumerate(directory.members):
        records: list[MemberKey] = []
        for j, record in enumerate(member.keys):
            path = f"signed.members[{i}].keys[{j}]"
            declared = PublicKeys.from_wire(record.keys.to_wire(), f"{path}.keys")
            if declared.agency != member.agency:
                raise InputError(
                    ReasonCode.INCONSISTENT,
                    f"key of {declared.agency} listed for {member.agency}",
                    path=f"{path}.keys.agency",
                )
            if not (
                declared.valid_from_ms <= record.valid_from_ms
                and record.valid_until_ms <= declared.valid_until_ms
            ):
                raise InputError(
                    ReasonCode.INCONSISTENT,
                    "the directory may shorten a key's validity, never extend it",
                    path=f"{path}.valid_until_ms",
                )
            material = {*declared.signing.values(), *declared.encryption.values()}
            if material & member_material:
                raise InputError(
                    ReasonCode.DUPLICATE_KEY, "key material listed twice", path=f"{path}.keys"
                )
            member_material |= material
            vouched = dataclasses.replace(
                declared, valid_from_ms=record.valid_from_ms, valid_until_ms=record.valid_until_ms
            )
            records.append(
                MemberKey(
                    keys=vouched,
                    revoked_ms=record.revoked_ms,
                    revocation_reason=record.revocation_reason,
                )
            )
        members[member.agency] = tuple(records)
    return _Vouched(document, tuple(administrators), members)


def _admit(current: _Vouched, document: SignedDirectory, now_ms: int, *, final: bool) -> _Vouched:
    """Apply the update rules of the module docstring to one candidate version."""
    old_dir, new_dir = current.directory, document.directory
    # Signatures first: until the current administrators vouch for the bytes,
    # a sender gets no more work out of a node than parsing their shape.
    _check_signed_by(current.administrators, old_dir.threshold, document, "the current")
    new = _vouch(document)
    changed = (new_dir.administrators, new_dir.threshold) != (
        old_dir.administrators,
        old_dir.threshold,
    )
    if changed:
        _check_signed_by(new.administrators, new_dir.threshold, document, "the new")
    if new_dir.federation != old_dir.federation:
        raise TrustError(
            ReasonCode.DIRECTORY_MISMATCH,
            f"a directory of federation {new_dir.federation}, not {old_dir.federation}",
            path="signed.federation",
        )
    if new_dir.version == old_dir.version and document.signed != current.signed.signed:
        raise TrustError(
            ReasonCode.DIRECTORY_MISMATCH,
            f"another document with the trusted version {old_dir.version}: a fork",
            path="signed.version",
        )
    if new_dir.version <= old_dir.version:
        raise TrustError(
            ReasonCode.DIRECTORY_ROLLBACK,
            f"version {new_dir.version} is not newer than the trusted {old_dir.version}",
            path="signed.version",
        )
    _check_revocations_kept(current, new)
    if final:
        _check_not_expired(new_dir, now_ms)
    return new


def _check_signed_by(
    administrators: Sequence[PublicKeys], threshold: int, document: SignedDirectory, whose: str
) -> None:
    """Require ``threshold`` distinct administrators' valid signatures over the signed bytes.

    The administrators' own validity periods do not limit them (as for TUF
    root keys): an administrator is trusted while the directory lists it,
    and a node catching up must be able to check signatures made years ago.
    """
    sigs = {s.key_id: s.sigs for s in document.signatures}
    try:
        verify_threshold(administrators, DIRECTORY_CONTEXT, document.signed, sigs, threshold)
    except TrustError as err:
        if sigs and not {a.signing_key_id for a in administrators} & set(sigs):
            raise TrustError(
                ReasonCode.NOT_AN_ADMINISTRATOR,
                f"no signature is by {whose} administrators",
                path="signatures",
            ) from None
        raise TrustError(
            ReasonCode.DIRECTORY_THRESHOLD,
            f"{whose} administrators: {err.detail}",
            path="signatures",
        ) from None


def _check_revocations_kept(current: _Vouched, new: _Vouched) -> None:
    """A key revoked in the trusted version stays revoked, from the same time or earlier.

    Otherwise one signed mistake could make envelopes of a compromised key
    acceptable again. Dropping the key altogether is allowed (it then
    verifies nothing); re-admitting it is an administrators' procedure
    matter (docs/operations.md), since a node does not keep all history here.
    """
    revoked = {
        key.keys.signing_key_id: key
        for keys in current.members.values()
        for key in keys
        if key.revoked_ms is not None
    }
    for agency, keys in new.members.items():
        for key in keys:
            before = revoked.get(key.keys.signing_key_id)
            if before is None or before.revoked_ms is None:
                continue
            if key.revoked_ms is None or key.revoked_ms > before.revoked_ms:
                raise TrustError(
                    ReasonCode.REVOCATION_WITHDRAWN,
                    f"the revocation of a key of {agency} from {before.revoked_ms} is withdrawn",
                    path=f"signed.members.{agency}",
                )


def _check_not_expired(directory: Directory, now_ms: int) -> None:
    if now_ms >= directory.expires_ms:
        raise TrustError(
            ReasonCode.DIRECTORY_EXPIRED,
            f"directory version {directory.version} expired at {directory.expires_ms}",
            path="signed.expires_ms",
        )


def _valid_at(key: MemberKey, time_ms: int) -> bool:
    return key.keys.valid_from_ms <= time_ms < key.keys.valid_until_ms


def _revoked_at(key: MemberKey, time_ms: int) -> bool:
    return key.revoked_ms is not None and time_ms >= key.revoked_ms


def _squeeze(fingerprint: str) -> str:
    return "".join(fingerprint.split()).upper()
