"""A payment link on Viber end to end: the real server with the Viber adapter, the fake
Viber API, signed callbacks, a real operator WebSocket and the sandbox provider's pay
page. Runs on SQLite and PostgreSQL.

The link is a keyboard ``open-url`` button (Viber's OpenUrl action); paying tells the
customer once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel
from server.app import SERVICES
from tests.channels.viber.helpers import TOKEN
from tests.channels.viber.test_viber_e2e import CUSTOMER, Viber, start_app
from tests.e2e.conftest import Live
from tests.e2e.test_payments_e2e import EN_BUTTON, EN_LINK, EN_PAID, sandbox_checkout
from tests.fakes.viber_api import FakeViberApi


@pytest.fixture
async def viber(database_url: str, tmp_path: Path) -> AsyncIterator[Viber]:
    """As in test_viber_e2e.py: the app, its Viber channel, the fake Viber API."""
    async with FakeViberApi(token=TOKEN) as fake:
        app, server = await start_app(database_url, tmp_path)
        channel = await add_channel(
            app[SERVICES].core,
            ChannelKind("viber"),
            "Shoe Shop",
            {"token": TOKEN, "api_base": fake.api_base},
        )
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, channel.id, http)
            try:
                yield Viber(live, fake, channel)
            finally:
                for ws in live._sockets:
                    await ws.close()
                await server.close()


async def test_the_link_is_an_open_url_button_and_the_payment_is_confirmed_once(
    viber: Viber,
) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    token = await viber.live.token("anna")
    conversation = await viber.conversation_with(anna, "Do you have size 42?")

    def sent() -> list[dict[str, Any]]:
        return list(viber.fake.sent)

    done = await sandbox_checkout(viber.live, anna, token, conversation["id"], sent)
    assert done.link["receiver"] == CUSTOMER
    assert done.link["type"] == "text"
    assert done.link["text"] == EN_LINK
    (button,) = done.link["keyboard"]["Buttons"]
    assert button["ActionType"] == "open-url"
    assert button["ActionBody"] == done.order["payment"]["url"]
    assert button["Text"] == EN_BUTTON
    assert done.paid["receiver"] == CUSTOMER
    assert done.paid["text"] == EN_PAID
    assert "keyboard" not in done.paid
    assert [m.get("text") for m in sent()].count(EN_PAID) == 1
