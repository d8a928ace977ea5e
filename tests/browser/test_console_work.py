"""The console's everyday tools in a real browser: search and filters over the conversation
list, a close reason on resolve, canned replies called up with "/shortcut", and the customer
card (edit, duplicates, merge) — Debian's chromium through Playwright."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Role
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.browser.helpers import TIMEOUT, StartServer, customer_writes, log_in, wait_presence
from tests.e2e.conftest import PASSWORD, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def start_supervised(tmp_path: Path) -> AsyncIterator[StartServer]:
    """As ``start_server`` (tests/browser/helpers.py), with anna a supervisor: merging
    contacts is theirs."""
    servers: list[TestServer] = []

    async def start(**overrides: Any) -> str:
        app = await create_app(
            make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path, **overrides),
            hasher=Argon2PasswordHasher(fast_for_tests=True),
        )
        core = app[SERVICES].core
        await add_operator(
            core,
            Argon2PasswordHasher(fast_for_tests=True),
            login="anna",
            password=PASSWORD,
            display_name="Anna",
            role=Role.SUPERVISOR,
        )
        await add_channel(core, ChannelKind("webchat"), "Shop", {})
        srv = TestServer(app, host="127.0.0.1")
        await srv.start_server()
        servers.append(srv)
        return str(srv.make_url("")).rstrip("/")

    try:
        yield start
    finally:
        for srv in servers:
            await srv.close()


async def call(page: Page, method: str, path: str, body: object = None) -> Any:
    """The REST API with the console's token."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            const headers = { Authorization: 'Bearer ' + localStorage.getItem('inbox.token') };
            if (body !== null) headers['Content-Type'] = 'application/json';
            const r = await fetch(path, { method, headers,
                body: body === null ? undefined : JSON.stringify(body) });
            return await r.json();
        }""",
        [method, path, body],
    )


async def until(page: Page, method: str, path: str, check: Any) -> Any:
    deadline = asyncio.get_running_loop().time() + TIMEOUT / 1000
    while not check(seen := await call(page, method, path)):
        assert asyncio.get_running_loop().time() < deadline, seen
        await asyncio.sleep(0.05)
    return seen


async def two_customers(browser: Browser, base: str, console: Page) -> tuple[str, str]:
    """Two web chat visitors write; answers the ids of their conversations (order, other)."""
    await customer_writes(browser, base, "Где мой заказ? Номер 12345", locale="ru-RU")
    await customer_writes(browser, base, "Hello, a question about delivery")
    items = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(items).to_have_count(2, timeout=TIMEOUT)
    listed = (await call(console, "GET", "/api/v1/conversations"))["conversations"]
    by_preview = {c["preview"]: c["id"] for c in listed}
    order = next(i for p, i in by_preview.items() if "заказ" in p)
    other = next(i for p, i in by_preview.items() if "delivery" in p)
    return order, other


async def test_search_finds_an_inflected_russian_word_and_filters_narrow_the_list(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    console = await (await browser.new_context(locale="en-US")).new_page()
    await log_in(console, base)
    await wait_presence(console, "online")
    order, other = await two_customers(browser, base, console)

    results = console.get_by_test_id("search-results").get_by_test_id("search-result")
    await console.get_by_test_id("search-q").fill("заказа")
    await expect(console.get_by_test_id("search-section")).to_be_visible()
    await expect(console.get_by_test_id("list-mine")).to_be_hidden()
    await expect(results).to_have_count(1, timeout=TIMEOUT)
    await expect(results).to_have_attribute("data-id", order)
    await expect(results).to_contain_text("заказ")

    await console.get_by_test_id("search-q").fill("")
    await console.get_by_test_id("search-status").select_option("open")
    await expect(results).to_have_count(2, timeout=TIMEOUT)
    await console.get_by_test_id("search-status").select_option("resolved")
    await expect(results).to_have_count(0, timeout=TIMEOUT)
    await expect(console.get_by_test_id("search-results")).to_contain_text("Nothing found")

    # Read one of them: "unread" keeps the other only.
    await console.get_by_test_id("search-status").select_option("")
    await console.get_by_test_id("search-assignee").select_option("me")
    await expect(results).to_have_count(2, timeout=TIMEOUT)
    channel = console.get_by_test_id("search-channel")
    await expect(channel.locator("option")).to_have_count(2)  # any, and the web chat "Shop"
    await channel.select_option(index=1)
    await expect(console.get_by_test_id("search-state")).to_be_hidden(timeout=TIMEOUT)
    await expect(results).to_have_count(2)
    await console.get_by_test_id("search-tag").fill("vip")  # nobody is tagged yet
    await expect(results).to_have_count(0, timeout=TIMEOUT)
    await console.get_by_test_id("search-tag").fill("")
    await expect(results).to_have_count(2, timeout=TIMEOUT)
    await results.filter(has_text="delivery").click()
    await until(
        console,
        "GET",
        f"/api/v1/conversations/{other}",
        lambda v: v["conversation"]["unread_count"] == 0,
    )
    await console.get_by_test_id("search-unread").check()
    await expect(results).to_have_count(1, timeout=TIMEOUT)
    await expect(results).to_have_attribute("data-id", order)

    # Clearing brings the usual lists back.
    await console.get_by_test_id("search-clear").click()
    await expect(console.get_by_test_id("search-section")).to_be_hidden()
    await expect(
        console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    ).to_have_count(2)


async def test_resolve_with_a_close_reason_stores_it_and_the_header_shows_it(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    console = await (await browser.new_context(locale="en-US")).new_page()
    await log_in(console, base)
    await wait_presence(console, "online")
    await customer_writes(browser, base, "I want to buy it")
    item = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=TIMEOUT)
    await item.click()
    conversation_id = await item.get_attribute("data-id")

    picker = console.get_by_test_id("resolve-reason")
    await expect(picker.locator("option[value=Sold]")).to_have_count(1, timeout=TIMEOUT)
    await expect(console.get_by_test_id("conv-close-reason")).to_be_hidden()
    # Resolving asks for a reason: without one nothing is sent and the picker is marked.
    await console.get_by_test_id("btn-resolve").click()
    await expect(console.get_by_test_id("composer-error")).to_have_attribute(
        "data-code", "close_reason_required"
    )
    await expect(picker).to_have_attribute("aria-invalid", "true")
    await expect(picker).to_be_focused()
    seen = await call(console, "GET", f"/api/v1/conversations/{conversation_id}")
    assert seen["conversation"]["status"] == "assigned"
    await picker.select_option("Sold")
    await expect(console.get_by_test_id("composer-error")).to_be_hidden()
    await expect(picker).not_to_have_attribute("aria-invalid", "true")
    await console.get_by_test_id("btn-resolve").click()
    await expect(console.get_by_test_id("conv-status")).to_have_attribute(
        "data-status", "resolved", timeout=TIMEOUT
    )
    await expect(console.get_by_test_id("conv-close-reason")).to_have_text(
        "Closed: Sold", timeout=TIMEOUT
    )
    await expect(picker).to_be_hidden()
    seen = await call(console, "GET", f"/api/v1/conversations/{conversation_id}")
    assert seen["conversation"]["close_reason"] == "Sold"

    # The resolved one is found with the "resolved" filter.
    await console.get_by_test_id("search-status").select_option("resolved")
    await expect(
        console.get_by_test_id("search-results").get_by_test_id("search-result")
    ).to_have_count(1, timeout=TIMEOUT)


async def test_the_customer_card_merges_a_duplicate_and_a_canned_reply_names_the_customer(
    browser: Browser, start_supervised: StartServer
) -> None:
    base = await start_supervised()
    console = await (await browser.new_context(locale="ru-RU")).new_page()
    await log_in(console, base)
    await wait_presence(console, "online")
    order, other = await two_customers(browser, base, console)
    # Both visitors left the same phone: one customer, twice.
    order_contact = (await call(console, "GET", f"/api/v1/conversations/{order}"))["conversation"][
        "contact_id"
    ]
    other_contact = (await call(console, "GET", f"/api/v1/conversations/{other}"))["conversation"][
        "contact_id"
    ]
    assert order_contact != other_contact
    for contact in (order_contact, other_contact):
        await call(console, "PATCH", f"/api/v1/contacts/{contact}", {"phones": ["+79161234567"]})

    await console.locator(f"[data-testid=conversation-item][data-id='{order}']").click()
    await expect(console.get_by_test_id("btn-customer")).to_have_text("Клиент")
    await console.get_by_test_id("btn-customer").click()
    panel = console.get_by_test_id("customer-panel")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_test_id("customer-conversation")).to_have_count(1, timeout=TIMEOUT)
    duplicate = panel.get_by_test_id("customer-duplicate")
    await expect(duplicate).to_have_count(1, timeout=TIMEOUT)
    await expect(duplicate).to_contain_text("+79161234567")
    await duplicate.get_by_test_id("customer-merge").click()
    await expect(panel.get_by_test_id("customer-conversation")).to_have_count(2, timeout=TIMEOUT)
    await expect(panel.get_by_test_id("customer-duplicate")).to_have_count(0)

    # Edit the card: name, notes and tags are saved.
    await panel.get_by_test_id("customer-name").fill("Мария")
    await panel.get_by_test_id("customer-notes").fill("Предпочитает звонки")
    await panel.get_by_test_id("customer-tags").fill("vip")
    await panel.get_by_test_id("customer-save").click()
    await expect(panel.get_by_test_id("customer-saved")).to_have_text("Сохранено")
    card = await until(
        console,
        "GET",
        f"/api/v1/contacts/{order_contact}",
        lambda v: v["contact"]["name"] == "Мария",
    )
    assert card["contact"]["notes"] == "Предпочитает звонки"
    assert card["contact"]["tags"] == ["vip"]
    assert card["contact"]["conversation_count"] == 2
    await console.keyboard.press("Escape")
    await expect(panel).to_be_hidden()

    # A canned reply with {customer.name}, added in the manager, called up with "/privet".
    await console.get_by_test_id("canned-manage").click()
    dialog = console.get_by_test_id("canned-dialog")
    await dialog.get_by_test_id("canned-shortcut").fill("/privet")
    await dialog.get_by_test_id("canned-text").fill("Здравствуйте, {customer.name}!")
    await dialog.get_by_test_id("canned-add").click()
    await expect(dialog.get_by_test_id("canned-row")).to_have_count(1, timeout=TIMEOUT)
    await console.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    composer = console.get_by_test_id("composer-input")
    await composer.click()
    await composer.press_sequentially("/pri")
    option = console.get_by_test_id("canned-option")
    await expect(option).to_have_count(1, timeout=TIMEOUT)
    await expect(option).to_have_attribute("data-shortcut", "/privet")
    await option.click()
    await expect(composer).to_have_value("Здравствуйте, Мария!", timeout=TIMEOUT)
    await expect(console.get_by_test_id("canned-suggest")).to_be_hidden()
    await composer.press("Enter")
    await expect(
        console.get_by_test_id("message").filter(has_text="Здравствуйте, Мария!")
    ).to_have_count(1, timeout=TIMEOUT)

    # Deleting it from the manager: "/" offers nothing.
    await console.get_by_test_id("canned-manage").click()
    await dialog.get_by_test_id("canned-delete").click()
    await expect(dialog.get_by_test_id("canned-row")).to_have_count(0, timeout=TIMEOUT)
    await console.keyboard.press("Escape")
    await composer.click()
    await composer.press_sequentially("/pri")
    await expect(console.get_by_test_id("canned-suggest")).to_be_hidden()
