"""Helpers of the console's browser tests: a server with one operator and a web chat channel,
signing in, the operator's presence as the server holds it, a customer writing in the widget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import PASSWORD, make_settings

__all__ = [
    "TIMEOUT",
    "StartServer",
    "customer_writes",
    "log_in",
    "my_presence",
    "serve",
    "wait_presence",
]

TIMEOUT = 10_000

StartServer = Callable[..., Awaitable[str]]


async def serve(tmp_path: Path) -> AsyncIterator[StartServer]:
    """A server with one operator (anna) and one web chat channel; returns its base URL."""
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


async def log_in(page: Page, base: str) -> None:
    await page.goto(base + "/")
    await page.get_by_test_id("login-login").fill("anna")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT
    )


async def my_presence(page: Page) -> str:
    """The presence the server holds for the signed-in operator (GET /api/v1/me)."""
    return str(
        await page.evaluate(
            """async () => {
                const r = await fetch('/api/v1/me', {
                    headers: { Authorization: 'Bearer ' + localStorage.getItem('inbox.token') } });
                return (await r.json()).operator.presence;
            }"""
        )
    )


async def wait_presence(page: Page, expected: str) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT / 1000
    while (seen := await my_presence(page)) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"presence stayed {seen}"
        await asyncio.sleep(0.05)


async def customer_writes(browser: Browser, base: str, text: str, locale: str = "en-US") -> Page:
    shop = await (await browser.new_context(locale=locale)).new_page()
    await shop.goto(base + "/demo")
    await shop.get_by_test_id("widget-launcher").click()
    await shop.get_by_test_id("widget-input").fill(text)
    await shop.get_by_test_id("widget-send").click()
    await expect(shop.get_by_test_id("widget-message").first).to_have_attribute(
        "data-status", "received", timeout=TIMEOUT
    )
    return shop
