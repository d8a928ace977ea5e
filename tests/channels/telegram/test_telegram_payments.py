"""A payment link on Telegram end to end: the real server with the real Telegram adapter,
the fake Bot API, webhooks posted with the channel's secret, a real operator WebSocket
and the sandbox provider's pay page. Runs on SQLite and PostgreSQL.

The link is an inline keyboard URL button; paying tells the customer once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from inbox.domain.clock import FixedClock
from tests.channels.telegram.support import load
from tests.channels.telegram.test_telegram_e2e import (
    CUSTOMER_CHAT,
    Telegram,
    add_telegram_channel,
    start_app,
)
from tests.e2e.conftest import Live
from tests.e2e.test_payments_e2e import DEADLINE, EN_BUTTON, EN_LINK, EN_PAID, sandbox_checkout
from tests.fakes.telegram_api import TelegramApiFake

# PTB's RetryAfter warns about its own int property while being constructed (22.2+).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def tg(database_url: str, tmp_path: Path) -> AsyncIterator[Telegram]:
    """As in test_telegram_e2e.py: the app, its Telegram channel, the fake Bot API."""
    clock = FixedClock()
    async with TelegramApiFake() as fake:
        app, server = await start_app(database_url, tmp_path, clock)
        channel = await add_telegram_channel(app, fake)
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, channel.id, http)
            try:
                yield Telegram(live, fake, channel, clock)
            finally:
                for ws in live._sockets:
                    await ws.close()
                await server.close()


async def test_the_link_is_an_inline_url_button_and_the_payment_is_confirmed_once(
    tg: Telegram,
) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    token = await tg.live.token("anna")
    assert await tg.deliver(load("telegram_update_text.json")) == (200, {"ok": True})
    assigned = await anna.expect("conversation.assigned", timeout=DEADLINE)

    def sent() -> list[dict[str, Any]]:
        return [call.params for call in tg.fake.calls("sendMessage", ok=True)]

    done = await sandbox_checkout(tg.live, anna, token, assigned["conversation"]["id"], sent)
    assert done.link["chat_id"] == CUSTOMER_CHAT
    assert done.link["text"] == EN_LINK
    assert done.link["reply_markup"] == {
        "inline_keyboard": [[{"text": EN_BUTTON, "url": done.order["payment"]["url"]}]]
    }
    assert done.paid["chat_id"] == CUSTOMER_CHAT
    assert done.paid["text"] == EN_PAID
    assert "reply_markup" not in done.paid
    assert [m["text"] for m in sent()].count(EN_PAID) == 1
