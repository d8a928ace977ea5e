"""The REST API's docs page (``/api/docs``, docs/openapi.md) in Debian's chromium: it lists
the document's operations, parameters and schemas, filters them, runs under the strict
Content-Security-Policy (no script error) and shows every text of the document as text."""

from __future__ import annotations

import copy
import json

import pytest
from playwright.async_api import Browser, Page, Route

from operator_ws.openapi import load_document
from tests.browser.helpers import StartServer

pytestmark = pytest.mark.browser

MARKUP = '<img src=x onerror="window.__pwned=1">'


async def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page, errors


async def test_the_page_lists_operations_and_filters_them(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    page, errors = await _open(browser, base)
    await page.goto(f"{base}/api/docs")
    conversations = page.locator("#op-listConversations")
    await conversations.wait_for()
    text = await conversations.inner_text()
    for expected in ("GET", "/api/v1/conversations", "waiting_over", "operator+", "400"):
        assert expected in text, expected
    assert await page.locator("#schema-Conversation").count() == 1
    operations = sum(
        1 for item in load_document()["paths"].values() for key in item if key != "parameters"
    )
    assert await page.locator("article.op[id^='op-']").count() == operations

    await page.fill("#filter", "canned")
    await page.locator("#op-listConversations").wait_for(state="hidden")
    assert await page.locator("#op-createCannedReply").is_visible()
    assert errors == []
    await page.close()


async def test_texts_of_the_document_are_shown_as_text(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    forged = copy.deepcopy(load_document())
    forged["info"]["title"] = MARKUP
    forged["paths"]["/api/v1/me"]["get"]["summary"] = MARKUP
    forged["components"]["schemas"]["Operator"]["properties"]["login"]["description"] = MARKUP

    async def answer(route: Route) -> None:
        await route.fulfill(content_type="application/json", body=json.dumps(forged))

    page, _ = await _open(browser, base)
    await page.route("**/api/openapi.json", answer)
    await page.goto(f"{base}/api/docs")
    await page.locator("#op-me").wait_for()
    assert MARKUP in await page.locator("#op-me h3").inner_text()
    assert await page.locator("#title").inner_text() == MARKUP
    assert MARKUP in await page.locator("#schema-Operator").inner_text()
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.__pwned === undefined")
    await page.close()
