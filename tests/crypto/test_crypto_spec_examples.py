"""Examples printed in the spec hold: a reader who copies one gets what the text says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from crypto_support import keys

from baliza.crypto import PublicKeys, Suite

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"


def test_the_member_card_example_of_chapter_06_is_consistent() -> None:
    text = (SPEC / "08-cards-and-api-json.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
    assert block is not None
    card = json.loads(block.group(1))
    pub = PublicKeys.from_bytes(bytes.fromhex(card["keys"]))
    assert pub == keys("alice", Suite.CLASSIC).public()
    assert pub.agency == card["agency"]
    assert pub.fingerprint() == card["fingerprint"]
    assert set(card) == {"agency", "name", "url", "keys", "fingerprint"}
