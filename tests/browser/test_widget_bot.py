"""The bot in the web chat widget, in a real browser (Debian's chromium, Playwright): its
menu shows as quick replies, a press sends the item and gets the answer, and after the
resolve the widget shows "chat ended" with a rating panel whose answer is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from playwright.async_api import Browser, expect

from bots import DEFAULT_SCOPE
from bots.flow import parse_flow
from inbox.domain.channels import ChannelKind
from inbox.domain.conversations import ConversationStatus
from inbox.domain.ids import ConversationId
from inbox.ports import ConversationFilter, Tx
from inbox.usecases import Outcome, add_channel, run, write_bot_resolve
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import make_settings

pytestmark = pytest.mark.browser

FLOW = """
language: en
greeting: "Hello! How can we help?"
faq:
  - title: "Delivery"
    answer: "A courier brings it in 1-2 days."
    keywords: ["delivery"]
  - title: "<b>Returns</b>"
    answer: "Within 14 days."
    keywords: ["return"]
"""


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[Application, TestServer]]:
    application = await create_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
    )
    await add_channel(application[SERVICES].core, ChannelKind("webchat"), "Shop", {})
    await application[SERVICES].bots.settings.save_flow(DEFAULT_SCOPE, parse_flow(FLOW))
    srv = TestServer(application, host="127.0.0.1")
    await srv.start_server()
    try:
        yield application, srv
    finally:
        await srv.close()


async def test_quick_replies_and_the_rating_panel(
    browser: Browser, app: tuple[Application, TestServer]
) -> None:
    application, server = app
    services = application[SERVICES]
    base = str(server.make_url("")).rstrip("/")
    shop = await (await browser.new_context()).new_page()
    await shop.goto(base + "/demo")
    await shop.get_by_test_id("widget-launcher").click()
    await shop.get_by_test_id("widget-input").fill("hi")
    await shop.get_by_test_id("widget-send").click()

    await expect(
        shop.get_by_test_id("widget-message").filter(has_text="Hello! How can we help?")
    ).to_have_count(1, timeout=10_000)
    quick = shop.get_by_test_id("widget-quick-reply")
    await expect(quick).to_have_count(3, timeout=10_000)
    # A title from the flow is text, never markup.
    await expect(quick.nth(1)).to_have_text("<b>Returns</b>")
    await quick.nth(0).click()
    await expect(
        shop.get_by_test_id("widget-message").filter(has_text="A courier brings it")
    ).to_have_count(1, timeout=10_000)

    async def the_conversation(tx: Tx) -> ConversationId:
        (conversation,) = await tx.conversations.list(ConversationFilter())
        assert conversation.status is ConversationStatus.BOT
        return conversation.id

    conversation_id = await services.core.store.read(the_conversation)

    async def resolve(tx: Tx) -> Outcome[None]:
        closed = await write_bot_resolve(tx, conversation_id, services.core.clock.now())
        return Outcome(None, closed.events)

    await run(services.core, resolve)
    panel = shop.get_by_test_id("widget-csat")
    await expect(panel).to_be_visible(timeout=10_000)
    await shop.get_by_test_id("widget-csat-star").nth(3).click()
    await shop.get_by_test_id("widget-csat-comment").fill("quick and kind")
    await shop.get_by_test_id("widget-csat-send").click()
    await expect(shop.get_by_test_id("widget-csat-thanks")).to_be_visible(timeout=10_000)

    csat = None
    for _ in range(100):
        csat = await services.bots.csat(conversation_id)
        if csat is not None:
            break
        await asyncio.sleep(0.05)
    assert csat is not None
    assert csat["rating"] == 4
    assert csat["comment"] == "quick and kind"
