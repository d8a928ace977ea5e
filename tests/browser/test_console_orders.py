# ruff: noqa: RUF001
"""The orders panel of the console in a real browser (Debian's chromium, Playwright): the
operator writes an order's lines beside the chat and sees the exact total as the browser's
locale writes it, a bad line gets the server's own sentence and creates nothing, the link
reaches the customer's widget as a button, the sandbox pay page pays, and the panel turns
"Paid" live while the customer reads the confirmation; then shipped and delivered."""

# The panel writes a line as "2 <multiplication sign> name".
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import PASSWORD, make_settings

pytestmark = pytest.mark.browser

WAIT = 10_000


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    app = await create_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
    )
    services = app[SERVICES]
    await add_operator(
        services.core,
        Argon2PasswordHasher(fast_for_tests=True),
        login="anna",
        password=PASSWORD,
        display_name="Anna",
    )
    await add_channel(services.core, ChannelKind("webchat"), "Shop", {})
    await services.payments.add_provider("sandbox", "Sandbox", {})
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
        "data-state", "up", timeout=WAIT
    )
    await page.get_by_test_id("presence-select").select_option("online")


async def _orders(console: Page, base: str, conversation_id: str) -> list[dict[str, Any]]:
    """GET /api/v1/orders with the console's own token."""
    token = await console.evaluate("localStorage.getItem('inbox.token')")
    resp = await console.request.get(
        f"{base}/api/v1/orders?conversation_id={conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status == 200
    orders: list[dict[str, Any]] = (await resp.json())["orders"]
    return orders


async def test_an_order_from_the_panel_is_paid_on_the_sandbox_page(
    browser: Browser, server: TestServer
) -> None:
    base = str(server.make_url("")).rstrip("/")
    # A Russian browser: the console speaks Russian and formats money the Russian way.
    console = await (await browser.new_context(locale="ru-RU")).new_page()
    await _log_in(console, base)

    shop = await (await browser.new_context(locale="en-US")).new_page()
    await shop.goto(base + "/demo")
    await shop.get_by_test_id("widget-launcher").click()
    await shop.get_by_test_id("widget-input").fill("Two boxes of lenses, please")
    await shop.get_by_test_id("widget-send").click()

    item = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=WAIT)
    conversation_id = await item.first.get_attribute("data-id")
    assert conversation_id
    await item.first.click()
    panel = console.get_by_test_id("orders-panel")
    await expect(panel.get_by_test_id("orders-empty")).to_be_visible(timeout=WAIT)

    # The lines editor: the total is live and exact (minor units, never floats).
    await panel.get_by_test_id("orders-new").click()
    form = panel.get_by_test_id("order-form")
    lines = form.get_by_test_id("order-line")
    await expect(lines).to_have_count(1)
    first = lines.nth(0)
    await first.get_by_test_id("order-line-name").fill("Acuvue Oasys")
    await first.get_by_test_id("order-line-sku").fill("AO-6")
    await first.get_by_test_id("order-line-quantity").fill("2")
    await first.get_by_test_id("order-line-price").fill("1725.00")
    await expect(form.get_by_test_id("order-form-total")).to_have_text("3 450,00 ₽")
    await form.get_by_test_id("order-add-line").click()
    await expect(lines).to_have_count(2)
    second = lines.nth(1)
    await second.get_by_test_id("order-line-name").fill("<b>Solution</b>")
    await second.get_by_test_id("order-line-price").fill("0,10")  # a Russian decimal comma
    await expect(second.get_by_test_id("order-line-total")).to_have_text("0,10 ₽")
    # 2 x 1725.00 + 0.10, summed in kopecks.
    await expect(form.get_by_test_id("order-form-total")).to_have_text("3 450,10 ₽")

    # A negative quantity: the server's sentence beside the form, the typed values kept,
    # and no order.
    await first.get_by_test_id("order-line-quantity").fill("-2")
    await expect(form.get_by_test_id("order-form-total")).to_have_text("—")
    await form.get_by_test_id("order-save").click()
    await expect(form.get_by_test_id("order-form-error")).to_have_text(
        "lines[0].quantity must be 1..100000", timeout=WAIT
    )
    await expect(first.get_by_test_id("order-line-quantity")).to_have_value("-2")
    await expect(first.get_by_test_id("order-line-name")).to_have_value("Acuvue Oasys")
    await expect(second.get_by_test_id("order-line-price")).to_have_value("0,10")
    assert await _orders(console, base, conversation_id) == []
    await expect(panel.get_by_test_id("order-item")).to_have_count(0)

    await first.get_by_test_id("order-line-quantity").fill("2")
    await form.get_by_test_id("order-save").click()
    await expect(form).to_be_hidden(timeout=WAIT)
    order = panel.get_by_test_id("order-item")
    await expect(order).to_have_count(1)
    await expect(order.get_by_test_id("order-status")).to_have_text("Черновик")
    await expect(order.get_by_test_id("order-total")).to_have_text("3 450,10 ₽")
    # A line name is text, never markup.
    await expect(order.get_by_test_id("order-item-line").nth(1)).to_contain_text(
        "1 × <b>Solution</b>"
    )
    assert await panel.locator("b").count() == 0

    # The payment link: the provider select holds the sandbox; the customer gets a button.
    await expect(order.get_by_test_id("order-provider")).to_have_text("Sandbox")
    await order.get_by_test_id("order-send-link").click()
    await expect(order.get_by_test_id("order-status")).to_have_text("Ждёт оплаты", timeout=WAIT)
    await expect(order.get_by_test_id("order-payment-url")).to_contain_text("/pay/")
    pay_button = shop.get_by_role("link", name=re.compile(r"^Pay "))
    await expect(pay_button).to_be_visible(timeout=WAIT)
    assert "/pay/" in (await pay_button.get_attribute("href") or "")

    # The customer pays on the sandbox page (the link from GET /api/v1/orders; the provider
    # was added before the test server had its port, so the path is taken onto its base).
    (listed,) = await _orders(console, base, conversation_id)
    assert listed["total"] == "3450.10"
    pay_url = base + urlsplit(listed["payment"]["url"]).path
    sandbox = await (await browser.new_context()).new_page()
    await sandbox.goto(pay_url)
    await sandbox.get_by_test_id("sandbox-pay").click()
    await expect(sandbox.get_by_test_id("sandbox-result")).to_have_text("Paid", timeout=WAIT)

    # Live: the panel turns paid, the customer reads the confirmation.
    await expect(order.get_by_test_id("order-status")).to_have_text("Оплачен", timeout=WAIT)
    await expect(order).to_have_attribute("data-status", "paid")
    await expect(order.get_by_test_id("order-payment-status")).to_contain_text("оплачено")
    await expect(
        shop.get_by_test_id("widget-message").filter(has_text="Payment received")
    ).to_have_count(1, timeout=WAIT)

    # Shipped with a tracking number, then delivered; the customer is told each time.
    await order.get_by_test_id("order-tracking").fill("RU123456789")
    await order.get_by_test_id("order-ship").click()
    await expect(order.get_by_test_id("order-status")).to_have_text("Отправлен", timeout=WAIT)
    await expect(order.get_by_test_id("order-tracking-number")).to_have_text(
        "Трек-номер: RU123456789"
    )
    await expect(
        shop.get_by_test_id("widget-message").filter(has_text="Tracking number: RU123456789")
    ).to_have_count(1, timeout=WAIT)
    await order.get_by_test_id("order-deliver").click()
    await expect(order.get_by_test_id("order-status")).to_have_text("Доставлен", timeout=WAIT)
    await expect(order.get_by_test_id("order-deliver")).to_have_count(0)


async def test_a_draft_is_edited_and_cancelled_and_orders_made_elsewhere_show_live(
    browser: Browser, server: TestServer
) -> None:
    base = str(server.make_url("")).rstrip("/")
    console = await (await browser.new_context(locale="en-US")).new_page()
    await _log_in(console, base)
    shop = await (await browser.new_context(locale="en-US")).new_page()
    await shop.goto(base + "/demo")
    await shop.get_by_test_id("widget-launcher").click()
    await shop.get_by_test_id("widget-input").fill("A pair of frames")
    await shop.get_by_test_id("widget-send").click()
    item = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=WAIT)
    conversation_id = await item.first.get_attribute("data-id")
    assert conversation_id
    await item.first.click()
    panel = console.get_by_test_id("orders-panel")
    await expect(panel.get_by_test_id("orders-empty")).to_be_visible(timeout=WAIT)

    # Made by another client (a shop system, another tab): it shows up live.
    token = await console.evaluate("localStorage.getItem('inbox.token')")
    resp = await console.request.post(
        f"{base}/api/v1/orders",
        headers={"Authorization": f"Bearer {token}"},
        data={
            "conversation_id": conversation_id,
            "currency": "USD",
            "lines": [{"name": "Aviator Classic", "quantity": 1, "unit_price": "129.00"}],
        },
    )
    assert resp.status == 201
    order = panel.get_by_test_id("order-item")
    await expect(order).to_have_count(1, timeout=WAIT)
    await expect(order.get_by_test_id("order-total")).to_have_text("$129.00")

    # Edit the draft: the form opens with its lines; Save patches them.
    await order.get_by_test_id("order-edit").click()
    form = panel.get_by_test_id("order-form")
    await expect(form.get_by_test_id("order-currency")).to_have_value("USD")
    line = form.get_by_test_id("order-line")
    await expect(line).to_have_count(1)
    await expect(line.get_by_test_id("order-line-price")).to_have_value("129.00")
    await line.get_by_test_id("order-line-quantity").fill("3")
    await expect(form.get_by_test_id("order-form-total")).to_have_text("$387.00")
    await form.get_by_test_id("order-currency").select_option("EUR")
    await expect(form.get_by_test_id("order-form-total")).to_have_text("€387.00")
    await form.get_by_test_id("order-save").click()
    await expect(form).to_be_hidden(timeout=WAIT)
    await expect(order.get_by_test_id("order-total")).to_have_text("€387.00")
    (listed,) = await _orders(console, base, conversation_id)
    assert (listed["currency"], listed["total"], listed["status"]) == ("EUR", "387.00", "draft")

    # Cancelled: no more actions, and the customer is told.
    await order.get_by_test_id("order-cancel").click()
    await expect(order.get_by_test_id("order-status")).to_have_text("Cancelled", timeout=WAIT)
    await expect(order.get_by_test_id("order-edit")).to_have_count(0)
    await expect(order.get_by_test_id("order-send-link")).to_have_count(0)
    await expect(
        shop.get_by_test_id("widget-message").filter(has_text="has been cancelled")
    ).to_have_count(1, timeout=WAIT)
