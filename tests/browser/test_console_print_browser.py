"""A notice printed (or saved as PDF) for the case file: the handling banner and the
delivery record on paper, no menu, no buttons.

Chromium renders the page with the print stylesheet, as the person's "Print"
or "Save as PDF" does; the test reads what is shown under print media and
prints it to a real PDF.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from node_harness import Cluster
from notice_json import publish_body
from sharing_support import wait_for
from test_console_browser import sign_in

GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"


async def test_a_notice_prints_with_its_handling_and_delivery_record(
    browser: Any, cluster: Cluster, screenshots: Path
) -> None:
    gye, alg = await cluster((GYE, ALG))
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "amber", "codes": ["h1"]}
    eid = str((await gye.api().post("/api/v1/notices", body))["id"])

    async def delivered() -> bool:
        found = await alg.api("analyst").get("/api/v1/notices", {"direction": "in"})
        return any(item["id"] == eid for item in found["items"])

    await wait_for(delivered)
    page = await sign_in(browser, gye, "analyst", "fr")
    await page.goto(gye.url + f"/console/notices/{eid}")
    await page.emulate_media(media="print")

    async def shown(selector: str) -> bool:
        return bool(await page.locator(selector).first.is_visible())

    assert await shown(".banner")
    assert "TLP:AMBER" in await page.inner_text(".banner")
    assert await shown("#governs li[data-code='h1']")
    assert await shown("table.delivery")
    assert ALG in await page.inner_text("table.delivery") or "Algeciras" in await page.inner_text(
        "table.delivery"
    )
    for hidden in ("header.top", "details.export", "form.signout", ".skip"):
        assert not await shown(hidden), f"{hidden} is printed"

    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3, f"the notice prints on {pages} pages"
    (screenshots / "notice-print-fr.pdf").write_bytes(pdf)
    await page.context.close()
