"""The demo's X-ray image: a real PNG that Algeciras attaches to its seizure notice.

Drawn here (a grey scan with the dense block where the bricks were) so the
demo needs no image file; ``check_photos`` then proves each recipient's node
fetched it from Algeciras, sealed, and holds exactly the bytes attached.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

from baliza.node.cli.demo_agency import Agency
from baliza.node.cli.demo_scenario import Step
from baliza.protocol.errors import BalizaError

WIDTH, HEIGHT = 240, 160


def xray_png() -> bytes:
    """A greyscale PNG of a container scan: cargo in light grey, the hidden load dark."""
    rows = []
    for y in range(HEIGHT):
        row = bytearray([0])  # filter: none
        for x in range(WIDTH):
            value = 200 - (x * 7 + y * 3) % 40  # cartons
            if 150 <= x <= 210 and 40 <= y <= 120:
                value = 40 + (x + y) % 12  # dense block
            row.append(value)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            chunk(b"IEND", b""),
        )
    )


async def attach_photo(sender: Agency, step: Step, body: dict[str, Any]) -> None:
    """Upload the step's image at its sender's node and list it in the notice."""
    path = sender.data_dir / step.attach
    path.write_bytes(xray_png())
    stored = await sender.api().post_file("/api/v1/attachments", path, "image/png")
    body["notice"]["attachments"] = [{**stored, "filename": step.attach}]


async def check_photos(agencies: list[Agency], steps: list[Step]) -> list[str]:
    """Each recipient's node holds the attached image, byte for byte; print what it fetched."""
    problems: list[str] = []
    by_id = {a.agency: a for a in agencies}
    image = xray_png()
    sha = hashlib.sha256(image).hexdigest()
    for step in steps:
        if not step.attach:
            continue
        eid = by_id[step.sender].published[step.key]
        for recipient in step.recipients:
            path = f"/api/v1/notices/{eid}/attachments/{sha}"
            try:
                got = await by_id[recipient].api().get_bytes(path)
            except BalizaError as err:
                problems.append(f"{step.key}: {recipient} has no {step.attach}: {err}")
                continue
            if got != image:
                problems.append(f"{step.key}: {recipient} holds other bytes as {step.attach}")
                continue
            print(
                f"  {recipient:16} fetched {step.attach} ({len(got):,} B) from {step.sender}: "
                "sealed in transit, SHA-256 as signed"
            )
    return problems
