"""The console's layout from a phone to a desktop: no control of the header, the conversation
header or the composer is cut off (element boxes inside the viewport, no sideways scroll);
at 360 px one column with a back button. A screenshot of each width lands in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.helpers import TIMEOUT, StartServer, customer_writes, log_in, wait_presence

pytestmark = pytest.mark.browser

#: Every visible control of the top bar, the conversation header and the composer.
_CONTROLS = """(selector) => Array.from(document.querySelectorAll(selector))
    .filter((n) => n.getClientRects().length && getComputedStyle(n).visibility !== 'hidden')
    .map((n) => { const r = n.getBoundingClientRect();
                  return { id: n.id || n.dataset.testid || n.tagName, left: r.left, right: r.right,
                           top: r.top, bottom: r.bottom, width: r.width }; })"""

_SELECTOR = ", ".join(
    f"{area} {control}"
    for area in (".topbar", ".conv-header", "#composer")
    for control in ("button", "select", "input:not(.visually-hidden)", "textarea", "label.tool-btn")
)


async def _cut_off(page: Page, width: int) -> list[dict[str, Any]]:
    boxes: list[dict[str, Any]] = await page.evaluate(_CONTROLS, _SELECTOR)
    height = await page.evaluate("window.innerHeight")
    return [
        b
        for b in boxes
        if b["left"] < -0.5
        or b["right"] > width + 0.5
        or b["top"] < -0.5
        or b["bottom"] > height + 0.5
    ]


async def _no_sideways_scroll(page: Page, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide at {width}px"


async def _console_with_a_conversation(
    browser: Browser, start_server: StartServer, width: int, height: int
) -> Page:
    base = await start_server()
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    await log_in(page, base)
    await wait_presence(page, "online")
    await customer_writes(browser, base, "Do you ship to Kazan? " * 30)
    item = page.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=TIMEOUT)
    return page


async def test_at_360_px_one_column_with_a_back_button_and_nothing_cut_off(
    browser: Browser, start_server: StartServer, tmp_path: Path
) -> None:
    page = await _console_with_a_conversation(browser, start_server, 360, 740)
    await _no_sideways_scroll(page, 360)
    assert await _cut_off(page, 360) == []
    await expect(page.get_by_test_id("conversation-view")).to_be_hidden()

    await page.get_by_test_id("list-mine").get_by_test_id("conversation-item").click()
    await expect(page.get_by_test_id("composer-input")).to_be_visible()
    await expect(page.locator(".sidebar")).to_be_hidden()
    back = page.get_by_test_id("btn-back")
    await expect(back).to_be_visible()
    for testid in ("btn-resolve", "composer-send", "logout", "presence-select", "lang-select"):
        await expect(page.get_by_test_id(testid)).to_be_visible()
    await page.screenshot(path=str(tmp_path / "console-360.png"))
    await _no_sideways_scroll(page, 360)
    assert await _cut_off(page, 360) == []

    await back.click()
    await expect(page.locator(".sidebar")).to_be_visible()
    await expect(page.get_by_test_id("conversation-view")).to_be_hidden()


async def test_at_800_px_the_header_holds_resolve_and_log_out(
    browser: Browser, start_server: StartServer, tmp_path: Path
) -> None:
    page = await _console_with_a_conversation(browser, start_server, 800, 700)
    await page.get_by_test_id("list-mine").get_by_test_id("conversation-item").click()
    await expect(page.get_by_test_id("composer-input")).to_be_visible()
    await expect(page.locator(".sidebar")).to_be_visible()  # two columns still
    await expect(page.get_by_test_id("btn-back")).to_be_hidden()
    for testid in ("btn-resolve", "logout", "composer-send", "btn-orders"):
        await expect(page.get_by_test_id(testid)).to_be_visible()
    await page.screenshot(path=str(tmp_path / "console-800.png"))
    await _no_sideways_scroll(page, 800)
    assert await _cut_off(page, 800) == []


async def test_at_1920_px_nothing_is_cut_off(browser: Browser, start_server: StartServer) -> None:
    page = await _console_with_a_conversation(browser, start_server, 1920, 1080)
    await page.get_by_test_id("list-mine").get_by_test_id("conversation-item").click()
    await expect(page.get_by_test_id("composer-input")).to_be_visible()
    await _no_sideways_scroll(page, 1920)
    assert await _cut_off(page, 1920) == []
