"""An officer turns the week's XLSX targeting list into alerts in a real browser.

Signed in as a person (password and TOTP), the officer uploads twenty
containers and one mistyped row, reads the review (the bad row named by its
row and column, nothing sent yet), picks the partner and publishes: the
partner's board holds twenty open alerts, and each alert's page at home
says who published it. The review page fits a phone's width.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from node_harness import Cluster, TestNode
from people import enrol, sign_in
from sharing_support import wait_for
from test_exchange_imports import targeting_list

GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"


def week_list() -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(targeting_list(20)))
    sheet = book.active
    assert sheet is not None
    sheet.append(["MSCU1234567", "ECGYE", "ESALG", "2026-12-20", "", "", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def open_alerts(node: TestNode) -> int:
    board = await node.api("analyst").get("/api/v1/alerts", {"state": "open", "limit": "1000"})
    return int(board["total"])


async def test_an_xlsx_of_twenty_containers_becomes_reviewed_alerts(
    browser: Any, cluster: Cluster, screenshots: Path
) -> None:
    gye, alg = await cluster((GYE, ALG))
    enrolment = await enrol(
        gye, "mvera", name="Marta Vera", role="publisher", unit="Container control"
    )
    context = await browser.new_context(locale="es", viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await sign_in(page, gye.url, "mvera", enrolment)

    await page.click("nav a[href='/console/import']")
    await page.wait_for_url("**/console/import")
    await page.set_input_files(
        "#file",
        files=[
            {
                "name": "semana49.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": week_list(),
            }
        ],
    )
    await page.click("#import-upload button[type=submit]")
    await page.wait_for_selector("#import-drafts")
    assert await page.locator("#import-drafts tbody tr").count() == 20
    bad = page.locator("#import-errors tbody tr")
    assert await bad.count() == 1
    assert (await bad.first.inner_text()).split()[0] == "24"
    assert "Fila" in await page.inner_text("#import-errors thead")
    assert await open_alerts(alg) == 0  # reviewed, not sent
    await page.screenshot(path=str(screenshots / "import-review-es.png"), full_page=True)

    await page.set_viewport_size({"width": 390, "height": 844})
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the review page is {wide} px wide at 390 px"
    await page.set_viewport_size({"width": 1366, "height": 768})

    await page.check(f"input[name=recipients][value='{ALG}']")
    await page.select_option("#tlp", "green")
    await page.click("#import-send")
    await page.wait_for_selector("#import-published")
    assert await page.locator("#import-published li").count() == 20

    async def twenty() -> bool:
        return await open_alerts(alg) == 20

    await wait_for(twenty)
    first = page.locator("#import-published a").first
    await first.click()
    await page.wait_for_url("**/console/notices/**")
    assert "Marta Vera" in await page.inner_text("main")
    await context.close()
