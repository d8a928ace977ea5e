"""A supervisor's console shows the alert of a webhook the server disabled (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Role
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.browser.helpers import TIMEOUT, customer_writes
from tests.e2e.conftest import PASSWORD, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    """A server that disables a webhook at its first failure, a supervisor, a web chat and
    a webhook to a port nobody listens on."""
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        tmp_path,
        webhook_disable_failures=1,
        webhook_disable_hours=0.0,
    )
    app = await create_app(settings, hasher=Argon2PasswordHasher(fast_for_tests=True))
    services = app[SERVICES]
    await add_operator(
        services.core,
        Argon2PasswordHasher(fast_for_tests=True),
        login="sam",
        password=PASSWORD,
        display_name="Sam",
        role=Role.SUPERVISOR,
    )
    await add_channel(services.core, ChannelKind("webchat"), "Shop", {})
    await services.webhook_admin.create("http://127.0.0.1:9/hook?key=t0ken", ["message.created"])
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_the_supervisor_sees_a_disabled_webhook(browser: Browser, base: str) -> None:
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.goto(base + "/")
    await page.get_by_test_id("login-login").fill("sam")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT
    )
    await customer_writes(browser, base, "Is the shop open?")
    alert = page.locator("[data-testid=routing-alert][data-kind=webhook_disabled]")
    await expect(alert).to_have_count(1, timeout=TIMEOUT)
    await expect(alert).to_contain_text("Webhook disabled: 127.0.0.1")
    await expect(alert).to_contain_text("failed attempts in a row: 1")
    await expect(alert).not_to_contain_text("t0ken")
    await alert.get_by_test_id("alert-dismiss").click()
    await expect(page.get_by_test_id("routing-alerts")).to_be_hidden()
