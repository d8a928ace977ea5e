# ruff: noqa: RUF001
"""The console and the widget in Russian and English, presence on login, long messages and
the shortcuts, in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import (
    TIMEOUT,
    StartServer,
    customer_writes,
    log_in,
    my_presence,
    wait_presence,
)

pytestmark = pytest.mark.browser


async def test_a_russian_browser_gets_russian_labels_and_english_is_remembered(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    console = await (await browser.new_context(locale="ru-RU")).new_page()
    await console.goto(base + "/")
    await expect(console.get_by_test_id("login-submit")).to_have_text("Войти")
    assert await console.evaluate("document.documentElement.lang") == "ru"
    # Every English key has its Russian message.
    missing = await console.evaluate(
        """() => { const c = window.InboxI18n.catalogues;
                   return Object.keys(c.en).filter((k) => !(k in c.ru)); }"""
    )
    assert missing == []
    await log_in(console, base)
    await expect(console.get_by_test_id("logout")).to_have_text("Выйти")
    await expect(console.get_by_test_id("conn-status")).to_have_text("Подключено")
    await expect(console.get_by_test_id("composer-send")).to_have_text("Отправить")
    await expect(console.locator("#presence-select option[value=online]")).to_have_text("В сети")
    await expect(console.get_by_test_id("lang-select")).to_have_value("ru")

    # The widget of a Russian visitor speaks Russian too.
    shop = await (await browser.new_context(locale="ru-RU")).new_page()
    await shop.goto(base + "/demo")
    launcher = shop.get_by_test_id("widget-launcher")
    await expect(launcher).to_have_attribute("aria-label", "Открыть чат")
    await launcher.click()
    await expect(shop.get_by_test_id("widget-input")).to_have_attribute(
        "placeholder", "Введите сообщение…"
    )
    await expect(shop.get_by_test_id("widget-send")).to_have_text("Отправить")

    # Switching to English reloads the console in English and stays chosen.
    await console.get_by_test_id("lang-select").select_option("en")
    await expect(console.get_by_test_id("logout")).to_have_text("Log out", timeout=TIMEOUT)
    await expect(console.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT
    )
    await console.reload()
    await expect(console.get_by_test_id("logout")).to_have_text("Log out")
    await expect(console.get_by_test_id("lang-select")).to_have_value("en")
    assert await console.evaluate("document.documentElement.lang") == "en"


async def test_an_english_browser_gets_english_by_default(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    console = await (await browser.new_context(locale="en-US")).new_page()
    await console.goto(base + "/")
    await expect(console.get_by_test_id("login-submit")).to_have_text("Sign in")
    shop = await (await browser.new_context(locale="en-US")).new_page()
    await shop.goto(base + "/demo")
    await expect(shop.get_by_test_id("widget-launcher")).to_have_attribute(
        "aria-label", "Open chat"
    )


async def test_signing_in_makes_the_operator_online(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    console = await (await browser.new_context()).new_page()
    await log_in(console, base)
    await wait_presence(console, "online")
    await expect(console.get_by_test_id("presence-select")).to_have_value("online")
    await expect(console.get_by_test_id("away-banner")).to_be_hidden()


async def test_with_online_on_login_off_the_operator_stays_offline_and_sees_the_queue(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server(online_on_login=False)
    console = await (await browser.new_context()).new_page()
    await log_in(console, base)
    # The decision is taken when the socket is up: a later read sees the same presence.
    assert await my_presence(console) == "offline"
    await expect(console.get_by_test_id("presence-select")).to_have_value("offline")
    await expect(console.get_by_test_id("away-banner")).to_be_hidden()  # nothing waits yet

    await customer_writes(browser, base, "Hello, anyone?")
    await expect(
        console.get_by_test_id("list-queue").get_by_test_id("conversation-item")
    ).to_have_count(1, timeout=TIMEOUT)
    banner = console.get_by_test_id("away-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("You are Offline: 1 conversation is waiting")
    assert await my_presence(console) == "offline"

    await console.get_by_test_id("presence-select").select_option("away")
    await expect(banner).to_contain_text("You are Away: 1 conversation is waiting", timeout=TIMEOUT)

    # "Go online" from the banner: the router then hands the conversation over.
    await console.get_by_test_id("away-go-online").click()
    await expect(banner).to_be_hidden(timeout=TIMEOUT)
    await wait_presence(console, "online")
    await expect(
        console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    ).to_have_count(1, timeout=TIMEOUT)


async def test_a_20000_character_message_is_folded_and_the_shortcuts_work(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    console = await context.new_page()
    await log_in(console, base)
    await wait_presence(console, "online")

    long_text = ("Lorem ipsum dolor sit amet " * 800)[:19_992] + " THE END"
    assert len(long_text) == 20_000
    await customer_writes(browser, base, long_text)
    item = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=TIMEOUT)
    # The list preview is one line with an ellipsis.
    preview = item.locator(".conv-item-preview")
    # The list may re-render the item while it is measured (a live update of the same
    # conversation): wait until the preview is shown, then measure it.
    await expect(preview).to_be_visible(timeout=TIMEOUT)
    box = None
    for _ in range(50):
        box = await preview.bounding_box()
        if box is not None:
            break
        await console.wait_for_timeout(50)
    assert box is not None
    assert box["height"] < 24, box
    await item.click()

    message = console.get_by_test_id("message").filter(has_text="Lorem ipsum")
    bubble = message.locator(".msg-bubble")
    await expect(bubble).to_have_attribute("data-collapsed", "true", timeout=TIMEOUT)
    folded = await bubble.bounding_box()
    assert folded is not None
    assert folded["height"] < 800 / 2, folded
    more = message.get_by_test_id("message-more")
    await expect(more).to_have_text("Show more")
    await more.click()
    await expect(bubble).to_have_attribute("data-collapsed", "false")
    await expect(more).to_have_text("Show less")
    unfolded = await bubble.bounding_box()
    assert unfolded is not None
    assert unfolded["height"] > folded["height"] * 3
    await more.click()
    await expect(bubble).to_have_attribute("data-collapsed", "true")

    # The shortcuts are told in a tooltip, and Alt+R resolves.
    await console.get_by_test_id("shortcuts-help").hover()
    tip = console.get_by_test_id("shortcuts-tip")
    await expect(tip).to_be_visible()
    await expect(tip).to_contain_text("Alt")
    await expect(tip).to_contain_text("Enter")
    # Alt+R asks for the close reason first (focusing the picker), then resolves.
    await console.get_by_test_id("composer-input").click()
    await console.keyboard.press("Alt+KeyR")
    picker = console.get_by_test_id("resolve-reason")
    await expect(picker).to_be_focused()
    await picker.select_option("Sold")
    await console.get_by_test_id("composer-input").click()
    await console.keyboard.press("Alt+KeyR")
    await expect(console.get_by_test_id("conv-status")).to_have_attribute(
        "data-status", "resolved", timeout=TIMEOUT
    )


async def test_ctrl_enter_sends_and_alt_arrow_down_moves_to_the_next_conversation(
    browser: Browser, start_server: StartServer
) -> None:
    base = await start_server()
    console = await (await browser.new_context()).new_page()
    await log_in(console, base)
    await wait_presence(console, "online")
    await customer_writes(browser, base, "first customer")
    await customer_writes(browser, base, "second customer")
    items = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(items).to_have_count(2, timeout=TIMEOUT)
    await items.first.click()
    first_id = await items.first.get_attribute("data-id")
    await expect(items.first).to_have_attribute("aria-current", "true")

    await console.get_by_test_id("composer-input").fill("Sent with Ctrl+Enter")
    await console.get_by_test_id("composer-input").press("Control+Enter")
    sent = console.get_by_test_id("message").filter(has_text="Sent with Ctrl+Enter")
    await expect(sent).to_have_count(1, timeout=TIMEOUT)

    await console.keyboard.press("Alt+ArrowDown")
    current = console.locator("[data-testid=conversation-item][aria-current=true]")
    await expect(current).to_have_count(1)
    await expect(current).not_to_have_attribute("data-id", first_id or "", timeout=TIMEOUT)
