"""Back-pressure in the real widget (Debian's chromium, Playwright): a message the server
refuses with ``slow_down`` stays "sending…" -- no failure, no retry button -- and the
widget resends it by itself after ``retry_after_ms``; it is stored exactly once
(docs/webchat-protocol.md, docs/reliability.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from playwright.async_api import Browser, WebSocket, expect

from inbox.domain.channels import ChannelKind
from inbox.domain.content import plain_text
from inbox.domain.ids import MessageId
from inbox.domain.messages import Direction
from inbox.ports import Tx
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[Application, TestServer]]:
    application = await create_app(
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
            tmp_path,
            ingest_max_pending=1,
            ingest_retry_after_seconds=0.3,
        ),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
    )
    await add_channel(application[SERVICES].core, ChannelKind("webchat"), "Shop", {})
    srv = TestServer(application, host="127.0.0.1")
    await srv.start_server()
    try:
        yield application, srv
    finally:
        await srv.close()


async def test_a_refused_message_is_resent_after_the_delay_and_stored_once(
    browser: Browser, app: tuple[Application, TestServer]
) -> None:
    application, server = app
    core = application[SERVICES].core
    base = str(server.make_url("")).rstrip("/")
    shop = await (await browser.new_context()).new_page()
    frames: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    shop.on("websocket", watch)
    await shop.goto(base + "/demo")
    # The bound (1) is taken by an ingest in flight: the next message is refused.
    held = core.admission.enter()
    await shop.get_by_test_id("widget-launcher").click()
    await shop.get_by_test_id("widget-input").fill("is anyone there?")
    await shop.get_by_test_id("widget-send").click()

    message = shop.get_by_test_id("widget-message").filter(has_text="is anyone there?")
    await expect(message).to_have_count(1)
    for _ in range(100):
        if any(f.get("code") == "slow_down" for f in frames):
            break
        await shop.wait_for_timeout(50)
    refused = [f for f in frames if f.get("code") == "slow_down"]
    assert refused, frames
    assert refused[0]["client_id"] == await message.get_attribute("data-client-id")
    # Nothing alarming: still "sending", no retry button.
    await expect(message).to_have_attribute("data-status", "sending")
    await expect(shop.locator(".retry")).to_have_count(0)

    core.admission.leave(held)
    # Resent by the widget itself (as many times as it is refused), then acknowledged.
    await expect(message).not_to_have_attribute("data-status", "sending", timeout=10_000)
    await expect(message).not_to_have_attribute("data-status", "failed")
    acks = [f for f in frames if f.get("type") == "ack"]
    assert len(acks) == 1

    async def texts(tx: Tx) -> list[str]:
        stored = await tx.messages.get(MessageId(acks[0]["message"]["id"]))
        assert stored is not None
        messages = await tx.messages.list(stored.conversation_id)
        return [plain_text(m.parts) for m in messages if m.direction is Direction.INBOUND]

    assert await core.store.read(texts) == ["is anyone there?"]
