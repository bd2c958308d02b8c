"""``baliza conformance --prepare``: found the conformance federation and tell the operator.

The suite cannot make a node trust it: the node's operator must. So the
suite writes, into its keys folder, the founding directory (the target and
the members the suite plays, signed by the suite's own administrator), a
notice and an attachment the target must send to member A (so that pull,
catch-up and attachment fetching have something to test), and the steps,
which it also prints: the exact ``baliza`` commands for a Baliza target,
and what any other implementation must do to the same effect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from baliza.crypto.directory import directory_fingerprint
from baliza.node.conformance.kit import (
    ATTACHMENT_FILE,
    DIRECTORY_FILE,
    NOTICE_FILE,
    ROLES,
    STEPS_FILE,
    Kit,
    TargetCard,
    seizure_json,
)
from baliza.node.core.clock import now_ms
from baliza.protocol.errors import ReasonCode, UsageError

ATTACHMENT_TEXT = (
    "Baliza conformance suite attachment.\n"
    "Seal number ES-0042-7781, found broken at the container's left door.\n"
)


def prepare(card_path: Path, folder: Path, member_url: str) -> str:
    """Write the kit for the node of ``card_path`` into ``folder``; the operator's steps."""
    try:
        card = TargetCard.from_json(json.loads(card_path.read_text()))
    except (OSError, ValueError) as exc:
        raise UsageError(ReasonCode.BAD_CONFIG, f"{card_path}: {exc}") from None
    seeds = {role: os.urandom(32).hex() for role in ROLES}
    kit = Kit.create(folder, card, member_url, seeds)
    signed = kit.sign(kit.founding_directory())
    (folder / DIRECTORY_FILE).write_bytes(signed)
    notice = seizure_json(card.agency, now_ms() - 3_600_000)
    (folder / NOTICE_FILE).write_text(json.dumps(notice, indent=2) + "\n")
    (folder / ATTACHMENT_FILE).write_text(ATTACHMENT_TEXT)
    steps = operator_steps(kit, directory_fingerprint(signed))
    (folder / STEPS_FILE).write_text(steps)
    return steps


def operator_steps(kit: Kit, fingerprint: str) -> str:
    """What the target's operator does before the suite runs, for Baliza and for any node."""
    f = kit.folder.resolve()
    a = ROLES["a"]
    return f"""\
Conformance federation {kit.federation} founded for {kit.target.agency}.
Directory fingerprint: {fingerprint}

The suite plays {", ".join(ROLES[r] for r in ("a", "b", "m", "r"))} (listed in the
directory) and {ROLES["x"]} (not listed). Their private keys are in {f}: use this
federation for conformance only, on a node that belongs to no real federation.

On a Baliza node ({kit.target.agency}):

  1. Trust the suite's directory, pinned by its fingerprint (node running):
       baliza admin directory apply {f / DIRECTORY_FILE} --fingerprint "{fingerprint}" \\
         --url NODE_URL --token ADMIN_TOKEN
     or, node stopped:
       baliza admin directory apply {f / DIRECTORY_FILE} --fingerprint "{fingerprint}" \\
         --offline --data-dir DATA_DIR
  2. Send member A a notice with one attachment (node running):
       baliza publish {f / NOTICE_FILE} --to {a} --attach {f / ATTACHMENT_FILE} \\
         --url NODE_URL --token PUBLISHER_TOKEN
  3. Run the suite against the node's federation URL:
       baliza conformance NODE_URL --as {f}

On any other implementation:

  1. Bootstrap trust from {f / DIRECTORY_FILE} (a SignedDirectory, spec chapter 04 §1):
     accept it as the node's first directory only if its fingerprint is the one above
     (chapter 04 §4, "Bootstrap").
  2. Publish the seizure notice of {f / NOTICE_FILE} (its JSON form, chapter 03 and 08)
     to {a} with {f / ATTACHMENT_FILE} attached (text/plain), so that the node's outbox
     for {a} holds it (chapter 05 §3) and serves the attachment (chapter 10 §3).
     The node will fail to push it to {kit.member_url}/a: that is expected.
  3. Run: baliza conformance NODE_URL --as {f}

The suite changes the node's state as a federation member would: it applies newer
directory versions (and revokes {ROLES["r"]}'s key), founds channels, raises a
channel alarm (a squatted channel id), asks for a subscription and a permission.
"""
