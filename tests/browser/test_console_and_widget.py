"""The console and the widget in a real browser (Debian's chromium, driven by Playwright):
a customer writes on the demo page, the operator answers in the console, the customer sees
the answer; customer text is shown as text, never as HTML."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import PASSWORD, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    app = await create_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
    )
    core = app[SERVICES].core
    await add_operator(
        core,
        Argon2PasswordHasher(fast_for_tests=True),
        login="anna",
        password=PASSWORD,
        display_name="Anna",
    )
    await add_channel(core, ChannelKind("webchat"), "Shop", {})
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield srv
    finally:
        await srv.close()


async def _log_in(page: Page, base: str) -> None:
    await page.goto(base + "/")
    await page.get_by_test_id("login-login").fill("anna")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=10_000
    )
    await page.get_by_test_id("presence-select").select_option("online")


async def test_customer_and_operator_talk_through_the_browser(
    browser: Browser, server: TestServer
) -> None:
    base = str(server.make_url("")).rstrip("/")
    console = await (await browser.new_context()).new_page()
    await _log_in(console, base)

    shop = await (await browser.new_context()).new_page()
    await shop.goto(base + "/demo")
    await shop.get_by_test_id("widget-launcher").click()
    hostile = "<img src=x onerror=alert(1)> lenses?"
    await shop.get_by_test_id("widget-input").fill(hostile)
    await shop.get_by_test_id("widget-send").click()
    await expect(
        shop.get_by_test_id("widget-message").filter(has_text="lenses?")
    ).to_have_attribute("data-status", "received", timeout=10_000)

    # The router assigns it to the only online operator: it shows in "Mine".
    item = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=10_000)
    await item.first.click()
    inbound = console.get_by_test_id("message").filter(has_text="lenses?")
    await expect(inbound).to_contain_text(hostile)  # the markup is literal text
    assert await console.locator("[data-testid=message] img").count() == 0

    await console.get_by_test_id("composer-input").fill("Yes, we have them.")
    await console.get_by_test_id("composer-send").click()
    outbound = console.get_by_test_id("message").filter(has_text="Yes, we have them.")
    await expect(outbound).to_have_attribute("data-status", "delivered", timeout=10_000)

    answer = shop.get_by_test_id("widget-message").filter(has_text="Yes, we have them.")
    await expect(answer).to_have_attribute("data-from", "agent", timeout=10_000)

    # A reload of the shop page keeps the conversation.
    await shop.reload()
    await shop.get_by_test_id("widget-launcher").click()
    await expect(shop.get_by_test_id("widget-message")).to_have_count(2, timeout=10_000)
